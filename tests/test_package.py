"""The package as a whole: imports go one way, the light modules stay light, exports resolve."""
import ast
import os
import subprocess
import sys

import soundtrack_cnn

PACKAGE = os.path.dirname(soundtrack_cnn.__file__)


def _imports():
    """``{module: set of package modules it imports}``, function-level imports included."""
    graph = {}
    for name in os.listdir(PACKAGE):
        if not name.endswith(".py"):
            continue
        module = name[:-3]
        tree = ast.parse(open(os.path.join(PACKAGE, name)).read())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        graph[module] = found - {module}
    return graph


def test_no_import_cycles():
    graph = _imports()
    done, path = set(), []

    def visit(module):
        assert module not in path, "import cycle: " + " -> ".join(path + [module])
        if module in done:
            return
        path.append(module)
        for target in graph.get(module, ()):
            visit(target)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_low_level_modules_import_nothing_of_the_package_but_errors():
    graph = _imports()
    assert graph["errors"] == set()
    assert graph["files"] == {"errors"}


def test_reading_a_manifest_does_not_import_the_2015_stack():
    code = ("import sys, soundtrack_cnn.manifest, soundtrack_cnn.labels, soundtrack_cnn.splits; "
            "print(sorted(m for m in ('theano', 'lasagne', 'nolearn', 'sklearn', 'matplotlib') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_export_resolves():
    for name in soundtrack_cnn.__all__:
        assert getattr(soundtrack_cnn, name).__name__ == name


def test_readme_layout_lists_every_module_in_import_order():
    import re
    readme = open(os.path.join(PACKAGE, os.pardir, "README.md")).read()
    block = readme[readme.index("soundtrack_cnn/\n"):]
    order = re.findall(r"^  (\w+)\.py", block[:block.index("```")], re.M)
    graph = _imports()
    assert sorted(order) == sorted(m for m in graph if m not in ("__init__", "__main__"))
    position = {module: i for i, module in enumerate(order)}
    for module in order:
        later = [target for target in graph[module] if position.get(target, -1) > position[module]]
        assert not later, "{} imports {}, listed below it".format(module, later)
