"""The package as a whole: imports go one way, the light modules stay light, exports resolve."""
import ast
import os
import re
import subprocess
import sys

import soundtrack_cnn

PACKAGE = os.path.dirname(soundtrack_cnn.__file__)
README = os.path.join(PACKAGE, os.pardir, "README.md")


def _modules():
    """Dotted names (relative to the package) of every module, with their file."""
    found = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                relative = os.path.relpath(os.path.join(folder, name), PACKAGE)[:-3]
                found[relative.replace(os.sep, ".")] = os.path.join(folder, name)
    return found


def _imports():
    """``{module: set of package modules it imports}``, function-level imports included."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        package = module.split(".")[:-1]
        if module.endswith("__init__"):
            package = module.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                candidates = ([".".join(target + [alias.name]) for alias in node.names]
                              if not node.module else [".".join(target)])
                for candidate in candidates:
                    if candidate in modules:
                        found.add(candidate)
                    elif candidate + ".__init__" in modules:
                        found.add(candidate + ".__init__")
        graph[module] = found - {module}
    return graph


def _group(module):
    return module.split(".")[0]


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


def test_imports_go_down_the_layers():
    rank = {group: i for i, group in enumerate(soundtrack_cnn.LAYERS)}
    for module, targets in _imports().items():
        if module in ("__init__", "__main__"):
            continue
        assert _group(module) in rank, "{} belongs to no layer of soundtrack_cnn.LAYERS".format(module)
        upward = [t for t in targets if t != "__init__" and rank[_group(t)] > rank[_group(module)]]
        assert not upward, "{} imports {}, a later layer".format(module, upward)


def test_every_subpackage_has_a_table_of_contents():
    for module, path in _modules().items():
        if module.endswith(".__init__"):
            doc = ast.get_docstring(ast.parse(open(path).read()))
            folder = os.path.dirname(path)
            listed = set(re.findall(r"^    (\w+)  ", doc, re.M))
            present = {name[:-3] for name in os.listdir(folder)
                       if name.endswith(".py") and name != "__init__.py"}
            assert listed == present, "{}: table of contents {} vs modules {}".format(
                module, sorted(listed), sorted(present))
            assert len(present) <= 9, "{} has grown to {} modules".format(module, len(present))


def test_low_level_modules_import_nothing_of_the_package_but_errors():
    graph = _imports()
    assert graph["errors"] == set()
    assert graph["files"] == {"errors"}


def test_reading_a_manifest_does_not_import_the_2015_stack():
    code = ("import sys, soundtrack_cnn.collection.manifest, soundtrack_cnn.collection.labels, "
            "soundtrack_cnn.collection.splits; "
            "print(sorted(m for m in ('theano', 'lasagne', 'nolearn', 'sklearn', 'matplotlib') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_export_resolves():
    for name in soundtrack_cnn.__all__:
        assert getattr(soundtrack_cnn, name).__name__ == name


def test_readme_layout_names_every_subpackage_in_layer_order():
    readme = open(README).read()
    block = readme[readme.index("soundtrack_cnn/\n"):]
    block = block[:block.index("```")]
    listed = re.findall(r"^  (\w+)(?:/|\.py)", block, re.M)
    groups = [g for g in listed if g in soundtrack_cnn.LAYERS]
    assert groups == list(soundtrack_cnn.LAYERS)
