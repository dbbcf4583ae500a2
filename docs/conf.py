"""Sphinx configuration of the soundtrack_cnn documentation (``make docs``).

Three kinds of page are generated here when the build starts, from the code itself,
so that they cannot disagree with it:

* ``reference/api/*.rst``: one page per module, its docstring and members
  (a subpackage's page is its ``__init__`` docstring, the table of contents);
* ``reference/cli.rst``: ``soundtrack-cnn CMD --help`` of every command, from argparse;
* ``tutorial/reproduce.ipynb``: the reproduction notebook, copied with its outputs.
"""
import argparse
import contextlib
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from docutils import nodes  # noqa: E402
from docutils.parsers.rst import Directive  # noqa: E402

import soundtrack_cnn  # noqa: E402  (the compatibility shims before autodoc imports Theano)

project = "soundtrack_cnn"
author = "soundtrack_cnn authors"
copyright = "2026, " + author
release = version = soundtrack_cnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# The module pages are written below; autosummary only renders the tables of
# contents of the subpackages' docstrings (their entries link to those pages).
autosummary_generate = False
autodoc_member_order = "bysource"
# Each object is documented once, by the module that defines it, not by every
# module that imports it (``ignore-module-all``: defined here, public, documented).
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
# Methods that override Theano's or scikit-learn's are documented by those
# libraries; their docstrings use those sites' own roles and sections.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# The notebook is shown with the outputs it was saved with (docs/execute_notebook.py
# runs it; the slow tests execute it too): the docs build trains nothing.
nb_execution_mode = "off"
nb_merge_streams = True
# Markdown the notebook displays (the study-vs-run table) is rendered as MyST, tables included.
nb_render_markdown_format = "myst"

# Docstrings' literal blocks are layouts and command lines, not Python.
highlight_language = "none"

html_theme = "alabaster"
html_title = "soundtrack_cnn {}".format(release)
html_static_path = []
html_theme_options = {"description": "Film genres from soundtracks", "fixed_sidebar": True,
                      "show_relbars": True, "page_width": "1180px", "sidebar_width": "230px"}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}

#: Every command whose help the CLI page shows (``store`` has commands of its own).
CLI_COLUMNS = 88


def _modules():
    """Dotted names of the package's modules, in the order of ``soundtrack_cnn.LAYERS``."""
    names = []
    for group in soundtrack_cnn.LAYERS:
        path = os.path.join(ROOT, "soundtrack_cnn", group)
        if os.path.isdir(path):
            names.append("soundtrack_cnn." + group)
            names += sorted("soundtrack_cnn.{}.{}".format(group, name[:-3]) for name in os.listdir(path)
                            if name.endswith(".py") and name != "__init__.py")
        else:
            names.append("soundtrack_cnn." + group)
    return names


def _write(path, text):
    """Write only when the text changed, so that an unchanged page is not rebuilt."""
    if os.path.exists(path) and open(path).read() == text:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        stream.write(text)


def write_api_pages(out):
    modules = _modules()
    if os.path.isdir(out):
        # Pages of modules that moved or went away would be built, and linked from nowhere.
        for name in os.listdir(out):
            if name.endswith(".rst") and name[:-4] not in modules:
                os.remove(os.path.join(out, name))
    for name in modules:
        children = [m for m in modules if m.rsplit(".", 1)[0] == name]
        title = "``{}``".format(name)
        lines = [title, "=" * len(title), "", ".. automodule:: " + name, ""]
        if children:
            # A subpackage's page is its table of contents; what it re-exports is
            # documented once, on the page of the module that defines it.
            lines[-1:-1] = ["   :no-members:"]
            lines += [".. toctree::", "   :hidden:", ""] + ["   " + child for child in children] + [""]
        _write(os.path.join(out, name + ".rst"), "\n".join(lines))
    top = [m for m in modules if m.count(".") == 1]
    lines = ["API", "===", "", ".. automodule:: soundtrack_cnn", "   :no-members:", "",
             "The public names above are imported from the modules that define them:", "",
             ".. autosummary::", ""]
    lines += ["   " + name for name in soundtrack_cnn.__all__]
    lines += ["", ".. toctree::", "   :maxdepth: 1", "   :caption: Subpackages and modules", ""]
    lines += ["   api/" + name for name in top]
    _write(os.path.join(os.path.dirname(out), "api.rst"), "\n".join(lines) + "\n")


@contextlib.contextmanager
def _columns(width):
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def cli_helps():
    """``[(command words, help text)]``: what ``soundtrack-cnn CMD --help`` prints, for every command."""
    from soundtrack_cnn.cli import COMMANDS, build_parser

    def subparsers(parser):
        return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})

    found = []
    with _columns(CLI_COLUMNS):
        parser = build_parser()
        found.append(([], parser.format_help()))
        for command in COMMANDS:
            sub = subparsers(build_parser(command))[command]
            found.append(([command], sub.format_help()))
            for name, inner in subparsers(sub).items():
                found.append(([command, name], inner.format_help()))
    return found


def write_cli_page(path):
    lines = ["Command line", "============", "",
             ".. This page is generated by docs/conf.py from argparse: edit the parsers, not this file.",
             "",
             "Every command of ``soundtrack-cnn`` (also ``python -m soundtrack_cnn``), as its",
             "``--help`` prints it. Bad input ends with one line naming the file and exit status 2;",
             "Ctrl-C ends with status 130 and SIGTERM with 143, both with a note that rerunning",
             "resumes. ``--jobs N`` means what scikit-learn's ``n_jobs`` means: -1 every core,",
             "1 this process.", ""]
    for words, text in cli_helps():
        title = "soundtrack-cnn " + " ".join(words) if words else "soundtrack-cnn"
        anchor = "-".join(["cli"] + words)
        lines += [".. _{}:".format(anchor), "", title, "-" * len(title), "", ".. code-block:: text", ""]
        lines += ["    " + line if line else "" for line in text.rstrip("\n").split("\n")]
        lines += [""]
    _write(path, "\n".join(lines))


def copy_notebook(path):
    source = os.path.join(ROOT, "notebooks", "reproduce.ipynb")
    if not os.path.exists(path) or open(source, "rb").read() != open(path, "rb").read():
        shutil.copyfile(source, path)


def generate(app):
    write_api_pages(os.path.join(HERE, "reference", "api"))
    write_cli_page(os.path.join(HERE, "reference", "cli.rst"))
    copy_notebook(os.path.join(HERE, "tutorial", "reproduce.ipynb"))


class FieldsDirective(Directive):
    """``.. record-fields:: module NAME [NAME...]``: a table of a module's field dictionaries.

    The formats page lists a record's fields from the dictionary that checks them,
    so the page cannot disagree with the check.
    """
    required_arguments = 2
    optional_arguments = 5

    def run(self):
        import importlib
        module = importlib.import_module(self.arguments[0])
        rows = []
        for name in self.arguments[1:]:
            for field, kind in getattr(module, name).items():
                if isinstance(kind, tuple) and len(kind) == 2 and callable(kind[1]):
                    kind = kind[0]      # (description, test)
                elif isinstance(kind, tuple):
                    kind = " or ".join(k.__name__ for k in kind)
                elif isinstance(kind, type):
                    kind = kind.__name__
                rows.append((field, str(kind)))
        table = nodes.table()
        group = nodes.tgroup(cols=2)
        table += group
        group += [nodes.colspec(colwidth=1), nodes.colspec(colwidth=3)]
        body = nodes.tbody()
        for field, kind in rows:
            row = nodes.row()
            for text in ("``{}``".format(field), kind):
                entry = nodes.entry()
                entry += nodes.paragraph(text=text.strip("`"))
                row += entry
            body += row
        group += body
        return [table]


def skip_member(app, what, name, obj, skip, options):
    """Leave out what scikit-learn adds to every estimator (``set_fit_request``...)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-skip-member", skip_member)
    app.add_directive("record-fields", FieldsDirective)
