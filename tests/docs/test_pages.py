"""The pages' examples against the code: every ``soundtrack-cnn`` line parses with the real
parser, every Python example compiles and imports names that exist, and the README keeps to
what a clone has."""
import ast
import importlib
import os
import re
import shlex

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
DOCS = os.path.join(ROOT, "docs")


def _pages():
    pages = [os.path.join(ROOT, "README.md")]
    for folder, folders, names in os.walk(DOCS):
        folders[:] = [f for f in folders if not f.startswith(("_", "."))]
        pages += [os.path.join(folder, n) for n in names if n.endswith(".md")]
    return sorted(pages)


def _blocks(path):
    """``[(language, code)]`` of the fenced code blocks of a Markdown page."""
    return re.findall(r"^```(\w*)[^\n]*\n(.*?)^```", open(path, encoding="utf-8").read(), re.M | re.S)


def _command_lines(code):
    """The ``soundtrack-cnn ...`` command lines of a shell block, continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", code)
    for line in joined.splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("soundtrack-cnn "):
            yield line


PAGES = _pages()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_command_line_of_a_page_parses(page):
    from soundtrack_cnn.cli import build_parser
    for language, code in _blocks(page):
        if language not in ("sh", "bash", "shell"):
            continue
        for line in _command_lines(code):
            argv = shlex.split(line)[1:]
            try:
                build_parser(argv[0]).parse_args(argv)
            except SystemExit:
                pytest.fail("{}: `{}` does not parse".format(os.path.relpath(page, ROOT), line))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_python_example_compiles_and_imports_what_exists(page):
    for language, code in _blocks(page):
        if language != "python":
            continue
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("soundtrack_cnn"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), "{}: {} has no {}".format(
                        os.path.relpath(page, ROOT), node.module, alias.name)


def test_the_readme_is_short_and_names_only_what_a_clone_has():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert len(readme.splitlines()) <= 200
    assert "/tmp" not in readme and "../shared" not in readme and "$HOME/.cache" not in readme
    assert "make train" in readme and "make test" in readme
    for path in re.findall(r"\]\(((?!https?:)[^)#\s]+)", readme):
        assert os.path.exists(os.path.join(ROOT, path)), "README links to {}, not in a clone".format(path)


def test_pages_name_only_scripts_and_folders_that_exist():
    named = set()
    for page in PAGES:
        named |= set(re.findall(r"\b((?:bench|studies|notebooks)/[\w.]+\.(?:py|ipynb))", open(page).read()))
    missing = sorted(p for p in named if not os.path.exists(os.path.join(ROOT, p)))
    assert not missing, missing
