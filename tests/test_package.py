"""The package as a whole: imports go one way, the light modules stay light, exports resolve."""
import ast
import json
import os
import re
import subprocess
import sys

import pytest

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


#: Run in a fresh process by the test below: every write, rename and removal
#: Python makes is recorded (an audit hook sees them all); the environment is
#: compared whole (numpy itself sets and restores OPENBLAS_MAIN_FREE on import).
_WATCHED = r"""
import collections, json, os, sys
events = []
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def hook(event, args):
    if event == "open" and (
            (isinstance(args[1], str) and set(args[1]) & set("wax+"))
            or (isinstance(args[2], int) and args[2] & WRITES)):
        events.append("open for writing " + str(args[0]))
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir",
                   "os.symlink", "os.link", "os.chmod", "os.truncate", "shutil.copyfile",
                   "shutil.move"):
        events.append("{} {}".format(event, args[0] if args else ""))
sys.addaudithook(hook)
environment, finders = dict(os.environ), len(sys.meta_path)
import soundtrack_cnn
from soundtrack_cnn.inference.model import load_model
from soundtrack_cnn.scoring.prediction import predict_file
model = load_model(sys.argv[1], engine="onnx")
prediction = predict_file(model, sys.argv[2], k=2)
assert prediction.error is None and len(prediction.top) == 2, prediction.error
print(json.dumps({"events": events, "environ_unchanged": dict(os.environ) == environment,
                  "stack": sorted(m for m in ("theano", "lasagne", "nolearn", "sklearn")
                                  if m in sys.modules),
                  "iterable": hasattr(collections, "Iterable"),
                  "finders_added": len(sys.meta_path) - finders}))
"""


def test_importing_the_package_and_predicting_with_onnx_leaves_the_process_as_it_was(tmp_path):
    import numpy as np

    from soundtrack_cnn.audio.io import write_audio
    from soundtrack_cnn.inference.onnx_export import export_onnx
    from soundtrack_cnn.training.modelfiles import PARAM_LAYERS
    pytest.importorskip("onnxruntime")
    rng = np.random.RandomState(0)
    shapes = {"conv1": (4, 1, 5, 5), "conv2": (4, 4, 4, 4), "conv3": (4, 4, 2, 2),
              "conv4": (4, 4, 2, 2), "hidden5": (16, 4), "hidden6": (4, 4), "output": (4, 1)}
    assert [name for name, _ in PARAM_LAYERS] == list(shapes)
    params = {genre: {name: [rng.randn(*shape).astype(np.float32) * .1,
                             np.zeros(shape[0] if name.startswith("conv") else shape[1],
                                      np.float32)] for name, shape in shapes.items()}
              for genre in ("Low", "High")}
    metadata = {"kind": "ensemble", "genres": ["Low", "High"],
                "feature_settings": soundtrack_cnn.FeatureSettings().to_dict(),
                "normalizer": {"mean": [0.0] * 40, "std": [1.0] * 40},
                "hyperparameters": dict(c1=4, c2=4, c3=4, c4=4, h5=4, h6=4), "summaries": {}}
    model, audio = str(tmp_path / "model.onnx"), str(tmp_path / "a.wav")
    export_onnx(metadata, params, model)
    write_audio(audio, 0.1 * np.sin(np.arange(22050 * 6) * 0.05), 22050)
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)  # read-only for anyone but root, and checked below for root
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SOUNDTRACK_CNN", "THEANO", "XDG_"))}
    env["HOME"] = str(home)
    result = subprocess.run([sys.executable, "-c", _WATCHED, model, audio], cwd=str(home),
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["events"] == [] and found["environ_unchanged"], found
    assert found["stack"] == [] and not found["iterable"], found
    # The one thing import does: the hook that waits for Theano, Lasagne or nolearn.
    assert found["finders_added"] == 1
    assert os.listdir(str(home)) == []


def test_a_notebook_can_import_lasagne_and_nolearn_right_after_the_package(tmp_path):
    code = ("import collections, os, soundtrack_cnn\n"
            "assert 'THEANORC' not in os.environ and not hasattr(collections, 'Iterable')\n"
            "import lasagne, nolearn.lasagne, theano.compile\n"
            "from soundtrack_cnn.stack import compat, ops\n"
            "assert collections.Iterable is collections.abc.Iterable\n"
            "assert os.environ['THEANORC'].startswith(os.path.join(compat.cache_dir(), "
            "'theanorc'))\n"
            "assert nolearn.lasagne.NeuralNet._soundtrack_cnn_clonable\n"
            "assert ops.OPTIMIZATION_NAME in theano.compile.optdb['specialize']._names\n"
            "from sklearn.cross_validation import KFold\n"
            "print('ok')\n")
    # As a fresh notebook's: without what this process's own import of Theano set.
    env = {key: value for key, value in os.environ.items() if not key.startswith(
        ("THEANO", "SOUNDTRACK_CNN_USER"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
