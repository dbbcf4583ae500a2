"""The ONNX export and the ONNX Runtime engine: equal to Theano, self-sufficient, sealed."""
import json
import re
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from processes import PREDICT_LISTING_THE_2015_STACK

import soundtrack_cnn
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.inference.model import NumpyEnsemble, load_model
from soundtrack_cnn.inference.onnx_engine import OnnxEnsemble, load_onnx
from soundtrack_cnn.inference.onnx_export import build_onnx, export_onnx
from soundtrack_cnn.training.loading import load_run, model_params

SHAPES = {"conv1": (32, 1, 5, 5), "conv2": (64, 32, 4, 4), "conv3": (128, 64, 2, 2),
          "conv4": (256, 128, 2, 2), "hidden5": (1024, 50), "hidden6": (50, 50)}


def random_model(kind="ensemble", genres=("Low", "High"), seed=0):
    """Metadata and weights of a model with the study's shapes and random weights."""
    rng = np.random.RandomState(seed)
    outputs = 1 if kind == "ensemble" else len(genres)

    def net():
        shapes = dict(SHAPES, output=(50, outputs))
        return {name: [(rng.randn(*shape) * .1).astype(np.float32), (rng.randn(
            shape[0] if name.startswith("conv") else shape[1]) * .1).astype(np.float32)]
            for name, shape in shapes.items()}

    names = list(genres) if kind == "ensemble" else ["multilabel"]
    metadata = {"kind": kind, "genres": list(genres),
                "feature_settings": soundtrack_cnn.FeatureSettings().to_dict(),
                "normalizer": {"mean": rng.randn(40).tolist(), "std": (rng.rand(40) + .5).tolist()},
                "hyperparameters": dict(c1=32, c2=64, c3=128, c4=256, h5=50, h6=50),
                "summaries": {}}
    return metadata, {name: net() for name in names}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    metadata, params = random_model()
    path = str(tmp_path_factory.mktemp("onnx") / "model.onnx")
    export_onnx(metadata, params, path)
    return path, metadata, params


@pytest.mark.parametrize("kind", ["ensemble", "multilabel"])
def test_graph_scores_as_the_numpy_engine(kind):
    metadata, params = random_model(kind)
    X = np.random.RandomState(1).randn(23, 1, 40, 100).astype(np.float32)
    expected = NumpyEnsemble(metadata, params).predict_tiles(X)
    got = OnnxEnsemble.from_weights(metadata, params).predict_tiles(X)
    assert got.shape == (23, 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_scores_are_bit_identical_for_a_given_thread_count(exported):
    path = exported[0]
    X = np.random.RandomState(2).randn(40, 1, 40, 100).astype(np.float32)
    for n_jobs in (1, 2):
        first = load_onnx(path, n_jobs=n_jobs).predict_tiles(X)
        assert np.array_equal(first, load_onnx(path, n_jobs=n_jobs).predict_tiles(X))
        assert np.array_equal(first, load_onnx(path, n_jobs=n_jobs).predict_tiles(X))


def test_the_file_alone_describes_its_input_output_and_features(exported):
    import onnx
    path, metadata, _ = exported
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    io = json.loads(props["soundtrack_cnn.io"])
    assert io["input"]["name"] == model.graph.input[0].name == "tiles"
    assert io["input"]["shape"] == ["n", 1, 40, 100]
    assert io["output"]["columns"] == ["Low", "High"] and io["output"]["name"] == "scores"
    described = json.loads(props["soundtrack_cnn.model"])
    assert described["feature_settings"] == metadata["feature_settings"]
    assert described["normalizer"] == metadata["normalizer"]
    assert len(props["soundtrack_cnn.sha256"]) == 64
    loaded = load_onnx(path)
    assert loaded.genres_ == ["Low", "High"] and loaded.settings_.to_dict() == \
        metadata["feature_settings"]


def _cli(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else \
        [sys.executable, "-m", "soundtrack_cnn", *args]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.parametrize("damage", ["truncated", "altered", "not onnx"])
def test_a_damaged_onnx_is_refused_in_one_line_naming_it(exported, tmp_path, damage):
    data = open(exported[0], "rb").read()
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "altered":
        position = len(data) // 2  # inside a weight
        data = data[:position] + bytes([data[position] ^ 1]) + data[position + 1:]
    else:
        data = b"\x08\x08" + b"nothing like a model" * 50
    bad = tmp_path / "damaged model.onnx"
    bad.write_bytes(data)
    with pytest.raises(InputError, match="damaged model.onnx"):
        load_model(str(bad))
    result = _cli("predict", str(bad), "song.wav")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "damaged model.onnx" in result.stderr, result.stderr


_WITHOUT_ONNXRUNTIME = """
import sys
sys.modules["onnxruntime"] = None  # how Python blocks an import: as if it were not installed
from soundtrack_cnn.cli import main
main(sys.argv[1:])
"""


def test_without_onnxruntime_an_onnx_model_is_refused_in_one_line(exported):
    result = _cli("predict", exported[0], "song.wav", code=_WITHOUT_ONNXRUNTIME)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "onnxruntime is not installed" in result.stderr
    assert exported[0] in result.stderr


_WITHOUT_ONNX = """
import sys
sys.modules["onnx"] = None  # onnxruntime alone: runs an exported .onnx, cannot build a graph
from soundtrack_cnn.inference.model import default_engine, load_model
print(default_engine(), load_model(sys.argv[1]).engine)
load_model(sys.argv[2], engine="onnx")
"""


def test_with_onnxruntime_alone_an_export_runs_and_a_graph_cannot_be_built(exported, tmp_path):
    from soundtrack_cnn.files import write_bytes
    from soundtrack_cnn.training.modelfiles import pack_weights
    _, metadata, params = exported
    weights = str(tmp_path / "weights.npz")
    write_bytes(weights, pack_weights(metadata, params))
    result = _cli(exported[0], weights, code=_WITHOUT_ONNX)
    assert result.stdout.split() == ["numpy", "onnx"]
    assert result.returncode == 1 and "weights.npz: the onnx engine builds its graph with the " \
        "onnx package, which is not installed" in result.stderr


def test_a_model_needs_the_onnx_file_name(tmp_path):
    metadata, params = random_model()
    with pytest.raises(InputError, match="ends in .onnx"):
        export_onnx(metadata, params, str(tmp_path / "model.bin"))


def test_dropout_free_graph_is_valid_onnx():
    import onnx
    metadata, params = random_model("multilabel", genres=("a", "b", "c"))
    model = build_onnx(metadata, params)
    onnx.checker.check_model(model, full_check=True)
    operators = [node.op_type for node in model.graph.node]
    assert operators.count("Conv") == 4 and operators.count("Gemm") == 3
    assert "Dropout" not in operators


# -- against Theano, on the trained two-tag run --------------------------------------------

def _real_tiles(store_dir, n):
    store = FeatureStore(store_dir)
    tiles = store.tiles[np.arange(len(store.tiles))]
    return tiles[np.arange(n) % len(tiles)]


@pytest.mark.parametrize("kind", ["ensemble", "multilabel"])
def test_onnx_equals_theano_at_batch_1_7_1200(two_tag_run, two_tag_store, kind):
    theano_model = load_run(two_tag_run, kind)
    from soundtrack_cnn.training.checkpoint import ModelFolder
    metadata = ModelFolder(two_tag_run, kind).read()
    onnx_model = OnnxEnsemble.from_weights(metadata, model_params(theano_model))
    X = _real_tiles(two_tag_store, 1200)
    for batch in (1, 7, 1200):
        expected = theano_model.predict_tiles(X[:batch])
        got = onnx_model.predict_tiles(X[:batch])
        scale = max(float(np.abs(expected).max()), 1e-12)
        assert float(np.abs(got - expected).max()) <= 1e-5 * scale, (kind, batch)


def test_three_engines_rank_the_held_out_tracks_identically(two_tag_run, two_tag_corpus):
    folder = os.path.dirname(two_tag_corpus)
    paths = [os.path.join(folder, "track{:02d}.wav".format(i)) for i in range(24, 36)]
    tops = {engine: [p.top for p in load_model(two_tag_run, engine=engine).predict_tracks(paths)]
            for engine in ("numpy", "onnx", "theano")}
    ranked = {engine: [[g for g, _ in top] for top in found] for engine, found in tops.items()}
    assert ranked["onnx"] == ranked["theano"] == ranked["numpy"]
    np.testing.assert_allclose([[s for _, s in top] for top in tops["onnx"]],
                               [[s for _, s in top] for top in tops["theano"]], atol=1e-5)




def test_an_exported_onnx_tags_a_file_in_a_fresh_process_without_theano_or_sklearn(
        two_tag_run, two_tag_corpus, tmp_path):
    exported = str(tmp_path / "elsewhere" / "two tags.onnx")
    result = _cli("export", two_tag_run, exported)
    assert result.returncode == 0, result.stderr
    shutil.copy(os.path.join(os.path.dirname(two_tag_corpus), "track31.wav"),
                str(tmp_path / "elsewhere" / "song.wav"))
    result = _cli(exported, str(tmp_path / "elsewhere" / "song.wav"),
                  code=PREDICT_LISTING_THE_2015_STACK)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["top"][0][0] == "High"
    lines = result.stderr.strip().splitlines()
    assert "ONNX Runtime engine" in lines[0]
    assert json.loads(lines[-1]) == []


def _forged(path, metadata, params, declared=None, extra=None):
    """A sealed .onnx whose graph is built from ``metadata`` but which declares ``declared``."""
    from onnx import helper

    from soundtrack_cnn.files import write_bytes
    from soundtrack_cnn.inference.onnx_export import IO_KEY, MODEL_KEY, seal_onnx
    model = build_onnx(metadata, params, check=False)
    props = {p.key: p.value for p in model.metadata_props}
    props[MODEL_KEY] = json.dumps(declared or metadata)
    del model.metadata_props[:]
    helper.set_model_props(model, dict(props, **(extra or {})))
    assert IO_KEY in props
    write_bytes(str(path), seal_onnx(model.SerializeToString()))
    return str(path)


def _two_genres(metadata):
    return dict(metadata, genres=["Low", "High"])


@pytest.mark.parametrize("case, message", [
    # N5: a graph of three specialists under two genres, and of one under two (which
    # was broadcast to "Low 0.50 High 0.50", rc 0).
    ("three outputs", r"the graph does not match its metadata: its output must be float "
                      r"scores 'scores' \(n, 2\) for its 2 genres"),
    ("one output", r"its output must be float scores 'scores' \(n, 2\)"),
    ("tiles of 41 coefficients", "ONNX Runtime cannot load this model|its input must be"),
])
def test_an_onnx_whose_graph_does_not_match_its_metadata_is_refused(tmp_path, case, message):
    if case == "three outputs":
        metadata, params = random_model(genres=("Low", "High", "Mid"))
        declared = _two_genres(metadata)
    elif case == "one output":
        metadata, params = random_model(genres=("Low",))
        declared = _two_genres(metadata)
    else:
        metadata, params = random_model()
        declared = dict(metadata, feature_settings=dict(metadata["feature_settings"], n_mfcc=41,
                                                        nfilt=41),
                        normalizer={"mean": [0.0] * 41, "std": [1.0] * 41})
    path = _forged(tmp_path / "forged.onnx", metadata, params, declared)
    with pytest.raises(InputError, match="forged.onnx: .*(" + message + ")"):
        load_onnx(path)


def test_scores_that_are_not_finite_are_an_error_never_a_score(tmp_path):
    # N5: a graph dividing by a zero deviation gave NaN scores, rc 0 and bare NaN in --json.
    metadata, params = random_model()
    broken = dict(metadata, normalizer=dict(metadata["normalizer"], std=[0.0] * 40))
    path = _forged(tmp_path / "nan.onnx", broken, params, declared=metadata)
    model = load_onnx(path)
    X = np.random.RandomState(0).randn(3, 1, 40, 100).astype(np.float32)
    with pytest.raises(InputError, match="nan.onnx: the model gave 6 score"):
        model.predict_tiles(X)
    import soundfile
    song = str(tmp_path / "song.wav")
    t = np.arange(22050 * 12) / 22050.0
    soundfile.write(song, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050)
    result = _cli("predict", path, song, "--json")
    assert result.returncode == 2 and "NaN" not in result.stdout
    assert json.loads(result.stdout)[0]["error"].endswith("not a working model")


@pytest.mark.parametrize("case, message", [
    ("nfft", "nfft must be in [64, 16384] samples"),
    ("genres", "metadata field 'genres'"),
    ("huge string", "a metadata string of 2049 bytes, more than 2048"),
])
def test_an_onnx_with_metadata_out_of_bounds_is_refused_before_it_is_opened(
        tmp_path, monkeypatch, case, message):
    # N6, N21: settings that would allocate hundreds of GB, a metadata string of 300 MB.
    from soundtrack_cnn.inference import onnx_engine
    metadata, params = random_model()
    declared, extra = metadata, None
    if case == "nfft":
        declared = dict(metadata, feature_settings=dict(metadata["feature_settings"],
                                                        nfft=2 ** 28))
    elif case == "genres":
        declared = dict(metadata, genres=["Low", "Low"])
    else:
        monkeypatch.setattr(onnx_engine, "MAX_METADATA_CHARS", 2048)
        extra = {"padding": "x" * 2049}
    path = _forged(tmp_path / "bounds.onnx", metadata, params, declared, extra)
    opened = []
    monkeypatch.setattr(onnx_engine, "_session", lambda *args: opened.append(args))
    with pytest.raises(InputError, match=re.escape(message)):
        load_onnx(path)
    assert not opened
