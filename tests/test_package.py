"""The package as a whole: imports go one way, the light modules stay light, exports resolve."""
import ast
import fnmatch
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

import soundtrack_cnn

PACKAGE = os.path.dirname(soundtrack_cnn.__file__)


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


# --- the package as built: a wheel holds every data file and runs without the source tree ---

ROOT = os.path.dirname(PACKAGE)


def _data_files():
    """Every file of the source tree's package that is not Python source (setup.py's rule)."""
    found = set()
    for folder, folders, names in os.walk(PACKAGE):
        folders[:] = [name for name in folders if name != "__pycache__"]
        found |= {os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, "/")
                  for name in names if not name.endswith((".py", ".pyc"))}
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the tracked files (as from a clean clone), offline."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if tracked.returncode:
        pytest.skip("not a git checkout: the wheel is built from the tracked files")
    source = tmp_path_factory.mktemp("clone")
    for name in tracked.stdout.decode().split("\0"):
        if name and os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(os.path.join(source, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), os.path.join(source, name))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
                   check=True, capture_output=True)
    (found,) = [os.path.join(out, name) for name in os.listdir(out) if name.endswith(".whl")]
    return found


def test_the_wheel_holds_every_data_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "soundtrack_cnn"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert _data_files() >= {name for name in tracked if not name.endswith(".py")}
    assert _data_files() <= names, sorted(_data_files() - names)
    assert "soundtrack_cnn/film/templates/film.html" in names


def test_the_version_has_one_source(wheel):
    assert os.path.basename(wheel).startswith("soundtrack_cnn-{}-".format(soundtrack_cnn.__version__))
    changes = open(os.path.join(ROOT, "CHANGES.md")).read()
    assert re.search(r"^## {}\b".format(re.escape(soundtrack_cnn.__version__)), changes, re.M)


def test_stores_and_runs_record_the_package_version(tmp_path):
    import json
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.collection.store import create_store
    from soundtrack_cnn.training.checkpoint import _versions
    create_store(str(tmp_path / "store"), FeatureSettings())
    header = json.loads((tmp_path / "store" / "store.json").read_text())
    assert header["soundtrack_cnn"] == soundtrack_cnn.__version__
    assert _versions()["soundtrack_cnn"] == soundtrack_cnn.__version__


@pytest.mark.slow
def test_an_installed_wheel_runs_predict_and_film(wheel, two_tag_run, two_tag_corpus, tmp_path):
    """Installed without -e into a fresh venv that borrows this one's dependencies (no download)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dependencies = sysconfig.get_path("purelib")
    # A plain path line: this venv's .pth files (the editable install's among them) are not run.
    with open(os.path.join(site, "dependencies.pth"), "w") as pth:
        pth.write(dependencies + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                    "--no-deps", "--no-index", wheel], check=True, capture_output=True)
    cwd = str(tmp_path)   # not the source tree, which would shadow the installed package
    where = subprocess.run([python, "-c", "import soundtrack_cnn; print(soundtrack_cnn.__file__)"],
                           cwd=cwd, capture_output=True, text=True, check=True).stdout
    assert where.startswith(site), where
    command = str(venv / "bin" / "soundtrack-cnn")
    track = os.path.join(os.path.dirname(two_tag_corpus), "track30.wav")
    result = subprocess.run([command, "predict", two_tag_run, track, "--top", "1"], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Low" in result.stdout
    result = subprocess.run([command, "film", two_tag_run, track, "--out", str(tmp_path / "film"),
                             "--min-cue", "5", "--bootstrap", "20"], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "<html" in (tmp_path / "film" / "film.html").read_text().lower()


# --- the scripts beside the package: benchmarks (bench/) and tuning studies (studies/) ---

SCRIPTS = sorted(os.path.join(folder, name) for folder in ("bench", "studies")
                 for name in os.listdir(os.path.join(ROOT, folder)) if name.endswith(".py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_compiles_and_imports_what_exists(script):
    """A module moved or renamed in the package breaks no script silently."""
    path = os.path.join(ROOT, script)
    source = open(path).read()
    tree = ast.parse(compile(source, path, "exec", ast.PyCF_ONLY_AST))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "soundtrack_cnn":
                module = importlib.import_module(node.module)
                missing = [a.name for a in node.names if not hasattr(module, a.name)
                           and importlib.util.find_spec(node.module + "." + a.name) is None]
                assert not missing, "{} imports {} from {}".format(script, missing, node.module)
            elif any(os.path.exists(os.path.join(ROOT, folder, node.module + ".py"))
                     for folder in ("bench", "studies")):
                # A helper beside the scripts: run as scripts, they see only their own folder.
                assert os.path.exists(os.path.join(ROOT, os.path.dirname(script), node.module + ".py")), \
                    "{} imports {}, which is not in its folder".format(script, node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "soundtrack_cnn":
                    importlib.import_module(alias.name)


def test_bench_holds_benchmarks_and_studies_say_which_table_they_make():
    assert all(name.startswith(("bench_", "run", "timing")) for name in
               os.listdir(os.path.join(ROOT, "bench")) if name.endswith(".py"))
    readme = open(os.path.join(ROOT, "studies", "README.md")).read()
    named = re.findall(r"`([\w*]+\.py)`", readme)
    for script in SCRIPTS:
        if script.startswith("studies"):
            assert any(fnmatch.fnmatch(os.path.basename(script), name) for name in named), \
                "studies/README.md does not say which table {} makes".format(script)


# --- compatibility paths: one table (docs/reference/compatibility.md), each path warns ---

COMPATIBILITY = os.path.join(ROOT, "docs", "reference", "compatibility.md")
_PATH_MESSAGE = re.compile(r"compatibility path `([\w-]+)`, removed in ([\d.]+)")


def _warned_paths():
    """``{path id: removal version}`` of every DeprecationWarning the package raises."""
    found = {}
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "warn" and \
                    any(getattr(arg, "id", None) == "DeprecationWarning" for arg in node.args):
                text = "".join(c.value for c in ast.walk(node.args[0])
                               if isinstance(c, ast.Constant) and isinstance(c.value, str))
                match = _PATH_MESSAGE.search(text)
                assert match, "{}: a DeprecationWarning that names no compatibility path".format(module)
                found[match.group(1)] = match.group(2)
    return found


def test_every_compatibility_path_is_in_the_table_and_warns():
    table = dict(re.findall(r"^\| `([\w-]+)` \|.*\| ([\d.]+) \|$", open(COMPATIBILITY).read(), re.M))
    assert _warned_paths() == table
    current = tuple(int(part) for part in soundtrack_cnn.__version__.split("."))
    assert all(tuple(int(p) for p in version.split(".")) > current for version in table.values())


def _record(**fields):
    from soundtrack_cnn.audio.features import FeatureSettings
    return dict({"kind": "ensemble", "genres": ["Drama"], "seed": 0, "training": {}, "versions": {},
                 "feature_settings": FeatureSettings().to_dict(), "hyperparameters": {},
                 "normalizer": {"mean": [0.0], "std": [1.0]}, "models": {}}, **fields)


def test_each_compatibility_path_warns_when_it_is_used(tmp_path):
    """Every row of the table, used: each warns with its name."""
    import io
    import json
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.collection.store import damaged_tracks
    from soundtrack_cnn.experiment.report import _history_row
    from soundtrack_cnn.experiment.tracksets import read_experiment_json
    from soundtrack_cnn.inference.batch import KEY_COLUMNS, csv_header, read_tags
    from soundtrack_cnn.training.checkpoint import unpickle
    from soundtrack_cnn.training.modelfiles import check_model_json, check_seal, seal

    def warns(path_id):
        return pytest.warns(DeprecationWarning, match="`{}`".format(path_id))

    with warns("moved-modules"):
        assert unpickle(io.BytesIO(b"csoundtrack_cnn.labels\nlabel_statistics\n.")).__module__ == \
            "soundtrack_cnn.collection.labels"
    with warns("unsealed-json"):
        check_seal({"kind": "ensemble"}, "RUN/ensemble.json", ValueError)
    with warns("unhashed-pickle-names"):
        check_model_json(seal(_record(models={"Drama": {"file": "specialist-Drama.pkl",
                                                        "sha256": "0" * 64}})),
                         "RUN/ensemble.json", "ensemble")
    run = tmp_path / "run"
    run.mkdir()
    (run / "experiment.json").write_text(json.dumps({
        "profile": {"name": "demo", "net_params": {}}, "store": "STORE", "manifest": None,
        "seed": 0, "genres": ["A", "B"], "label_statistics": {}, "splits": {"t1": "train"}}))
    with warns("unsealed-experiment-json"):
        read_experiment_json(str(run))
    store = tmp_path / "store"
    (store / "chunks").mkdir(parents=True)
    settings = FeatureSettings()
    (store / "chunks" / "000000.f32").write_bytes(b"\0" * 4 * 40 * 100)
    with warns("unchecked-tracks"):
        assert damaged_tracks(str(store), {"t1": {"status": "ok", "n_tiles": 1, "chunk": 0, "row": 0}},
                              settings) == {}
    with warns("history-pairs"):
        assert _history_row(3, [0.5, 0.4])["valid_loss"] == 0.4
    tags = tmp_path / "tags.csv"
    tags.write_text(",".join(csv_header(2)[:-len(KEY_COLUMNS)]) + "\n")
    with warns("unkeyed-tags-csv"):
        assert read_tags(str(tags), 2) == {}
