"""The model record: distinct pickle names, schema and checksum checked on every load."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.files import write_bytes
from soundtrack_cnn.training.ensemble import SpecialistEnsemble
from soundtrack_cnn.training.loading import load_run
from soundtrack_cnn.training.modelfiles import (
    PARAM_LAYERS,
    check_model_json,
    model_file,
    net_names,
    pack_weights,
    read_weights,
    seal,
)

TINY = {"epochs": 1, "batch": 50, "c1": 4, "c2": 4, "c3": 4, "c4": 4, "h5": 4, "h6": 4}
#: Names that a plain sanitiser maps to one file name.
COLLIDING = ["Sci Fi", "Sci/Fi"]


@pytest.fixture(scope="module")
def colliding_run(random_tiles, tmp_path_factory):
    """A tiny ensemble whose two genre names sanitise to one file name."""
    X, y = random_tiles
    Y = np.hstack([y, 1 - y])
    run_dir = str(tmp_path_factory.mktemp("colliding"))
    SpecialistEnsemble(COLLIDING, net_params=TINY, run_dir=run_dir).fit(X, Y)
    return run_dir, X


@pytest.mark.parametrize("names", [("Sci Fi", "Sci/Fi"), ("日本", "中国"), ("Rock", "rock"),
                                   ("a" * 60 + "x", "a" * 60 + "y")])
def test_names_that_sanitise_alike_get_distinct_files(names):
    files = [model_file("ensemble", name).lower() for name in names]
    assert files[0] != files[1] and all(len(f) < 80 for f in files)


@pytest.mark.slow
def test_colliding_genre_names_train_distinct_specialists_that_all_load(colliding_run):
    run_dir, X = colliding_run
    files = [model_file("ensemble", genre) for genre in COLLIDING]
    assert len(set(files)) == 2 and all(os.path.exists(os.path.join(run_dir, f)) for f in files)
    ensemble = load_run(run_dir)
    scores = ensemble.predict_tiles(X[:20])
    assert scores.shape == (20, 2)
    # Trained on opposite targets, "Sci Fi" and "Sci/Fi" must be different nets.
    assert not np.allclose(scores[:, 0], scores[:, 1])


def _predict(run_dir, audio):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn", "predict", run_dir, audio],
                          capture_output=True, text=True, timeout=120)


def _edited_copy(run_dir, tmp_path, edit):
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    path = os.path.join(copy, "ensemble.json")
    with open(path) as stream:
        record = json.load(stream)
    with open(path, "w") as stream:
        stream.write(edit(record))
    return copy


def _normalizer_mean_changed(record):
    record["normalizer"]["mean"][3] += 0.001
    return json.dumps(record)


def _genre_renamed(record):
    record["genres"][0] = "Sci-Fi"
    record["models"]["Sci-Fi"] = record["models"].pop("Sci Fi")
    return json.dumps(record)


@pytest.mark.slow
@pytest.mark.parametrize("edit, message", [
    (_normalizer_mean_changed, "does not match its checksum"),
    (_genre_renamed, "does not match its checksum"),
    (lambda record: json.dumps(record)[:len(json.dumps(record)) // 2], "not valid JSON"),
])
def test_an_edited_or_truncated_record_is_refused_not_used(colliding_run, tmp_path, edit,
                                                           message):
    copy = _edited_copy(colliding_run[0], tmp_path, edit)
    with pytest.raises(InputError, match=message):
        load_run(copy)
    result = _predict(copy, os.path.join(copy, "nothing.wav"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "resume" not in result.stderr


@pytest.mark.parametrize("content, message", [
    ("", "not valid JSON"),
    ("{}", "field 'kind' is missing"),
    ("[]", "holds a list instead of an object"),
    ('{"kind": "ensemble"}', "field 'genres' is missing"),
    ('"ensemble"', "holds a string"),
])
def test_empty_and_wrong_typed_records_give_one_line(tmp_path, content, message):
    (tmp_path / "ensemble.json").write_text(content)
    result = _predict(str(tmp_path), str(tmp_path / "a.wav"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, \
        result.stderr


def _record():
    return {"kind": "ensemble", "genres": ["Drama"], "feature_settings": {},
            "normalizer": {"mean": [0.0, 1.0], "std": [1.0, 2.0]}, "hyperparameters": {},
            "seed": 0, "training": {}, "versions": {},
            "models": {"Drama": {"file": model_file("ensemble", "Drama"), "sha256": "0" * 64}}}


@pytest.mark.parametrize("field, value, message", [
    ("seed", "0", "field 'seed' must be an integer or null, not a string"),
    ("seed", True, "field 'seed' must be an integer or null"),
    ("genres", [], "field 'genres' must be a list of distinct"),
    ("genres", ["Drama", "Drama"], "field 'genres' must be a list of distinct"),
    ("normalizer", {"mean": "0", "std": [1.0]}, "normalizer.mean"),
    ("models", {"Comedy": {}}, "'Comedy', which is not one of its nets"),
    ("models", {"Drama": {"file": 3, "sha256": "0"}}, "models.Drama.file"),
    ("models", {"Drama": {"file": "../../etc/x.pkl", "sha256": "0"}}, "not a model file"),
    ("kind", "multilabel", "expected 'ensemble'"),
    ("feature_settings", {"nfft": 2 ** 28}, "field 'feature_settings': invalid FeatureSettings: "
                                            "nfft must be in [64, 16384]"),
])
def test_every_field_is_checked(field, value, message):
    record = seal(_record())
    check_model_json(record, "ensemble.json", "ensemble")
    with pytest.raises(InputError, match="ensemble.json is damaged"):
        check_model_json(dict(record, **{field: value}), "ensemble.json", "ensemble")
    with pytest.raises(InputError, match=re.escape(message)):
        check_model_json(seal(dict(record, **{field: value})), "ensemble.json", "ensemble")


def test_a_record_without_checksum_loads_with_a_warning():
    with pytest.warns(DeprecationWarning, match="RUN/ensemble.json has no checksum .*edits to it "
                                                "cannot be detected") as caught:
        check_model_json(_record(), "RUN/ensemble.json", "ensemble")
    assert len(caught) == 1  # said once, not printed besides


# -- the weights file ----------------------------------------------------------------------

def _weights(kind="ensemble", genres=("Low", "High")):
    """Metadata and random weights with the study's shapes (small tiles: 40 x 100)."""
    rng = np.random.RandomState(0)
    shapes = {"conv1": (4, 1, 5, 5), "conv2": (4, 4, 4, 4), "conv3": (4, 4, 2, 2),
              "conv4": (4, 4, 2, 2), "hidden5": (4 * 1 * 4, 3), "hidden6": (3, 3),
              "output": (3, 1 if kind == "ensemble" else len(genres))}
    params = {name: {layer: [rng.randn(*shape).astype(np.float32),
                             rng.randn(shape[0] if layer.startswith("conv") else shape[1])
                             .astype(np.float32)] for layer, shape in shapes.items()}
              for name in net_names(kind, genres)}
    from soundtrack_cnn.audio.features import FeatureSettings
    metadata = {"kind": kind, "genres": list(genres), "feature_settings":
                FeatureSettings().to_dict(), "normalizer": {"mean": [0.0] * 40, "std": [1.0] * 40},
                "hyperparameters": dict(c1=4, c2=4, c3=4, c4=4, h5=3, h6=3), "summaries": {}}
    return metadata, params


def test_net_names_of_both_kinds():
    assert net_names("ensemble", ["A", "B"]) == ["A", "B"]
    assert net_names("multilabel", ["A", "B"]) == ["multilabel"]


def test_param_layers_are_the_listing_s_layers_with_weights():
    from lasagne import layers

    from soundtrack_cnn.training.network import LAYERS
    weighted = [(name, 4 if cls is layers.Conv2DLayer else 2) for name, cls in LAYERS
                if cls in (layers.Conv2DLayer, layers.DenseLayer)]
    assert weighted == list(PARAM_LAYERS)


@pytest.mark.parametrize("kind", ["ensemble", "multilabel"])
def test_weights_file_round_trips(tmp_path, kind):
    metadata, params = _weights(kind)
    path = str(tmp_path / "w.npz")
    write_bytes(path, pack_weights(metadata, params))
    read_metadata, read_params = read_weights(path)
    assert read_metadata == metadata and list(read_params) == list(params)
    for name in params:
        for layer, (W, b) in params[name].items():
            assert np.array_equal(read_params[name][layer][0], W)
            assert np.array_equal(read_params[name][layer][1], b)


def _damaged(edit):
    metadata, params = _weights()
    edit(metadata, params)
    return metadata, params


@pytest.mark.parametrize("edit, message", [
    (lambda m, p: p["Low"]["conv2"][0].__setitem__((0, 0, 0, 0), np.nan), "conv2: W is not all finite"),
    (lambda m, p: p["High"].__setitem__("conv3", [np.zeros((4, 4, 2)), np.zeros(4)]),
     "'High/conv3/0' is float64 (4, 4, 2), not the (4, 4, 2, 2) floats"),
    (lambda m, p: p["High"].__setitem__("output", [np.zeros((3, 2)), np.zeros(2)]),
     "'High/output/0' is float64 (3, 2), not the (3, 1)"),
    (lambda m, p: p["Low"].__setitem__("hidden5", [np.zeros((17, 3)), np.zeros(3)]), "hidden5"),
    (lambda m, p: p["Low"].pop("hidden6"), "hidden6: its W is missing"),
    (lambda m, p: p.pop("High"), "'High' layer conv1: its W is missing"),
    (lambda m, p: p.__setitem__("Drama", p["Low"]), "'Drama/conv1/0' is not a parameter"),
    (lambda m, p: m.__setitem__("kind", "forest"), "'kind'"),
    (lambda m, p: m.pop("genres"), "'genres'"),
    (lambda m, p: m["normalizer"].__setitem__("std", [0.0] * 40), "normalizer.std"),
    (lambda m, p: m["normalizer"].__setitem__("mean", [0.0] * 3), "normalizer.mean"),
    (lambda m, p: m["feature_settings"].__setitem__("colour", 1), "feature_settings"),
])
def test_a_malformed_weights_file_is_refused_naming_it(tmp_path, edit, message):
    path = str(tmp_path / "damaged.npz")
    write_bytes(path, pack_weights(*_damaged(edit)))
    with pytest.raises(InputError, match="damaged.npz is damaged: .*" + re.escape(message)):
        read_weights(path)


def test_a_truncated_weights_file_is_refused_naming_it(tmp_path):
    data = pack_weights(*_weights())
    path = tmp_path / "cut.npz"
    for size in (len(data) // 3, len(data) - 30, 10):
        path.write_bytes(data[:size])
        with pytest.raises(InputError, match="cut.npz"):
            read_weights(str(path))


def test_a_record_with_an_infinite_loss_matches_its_checksum_once_written(tmp_path):
    # write_json writes inf as null: the checksum must be taken over what is written.
    from soundtrack_cnn.files import write_json
    sealed = seal({"kind": "ensemble", "models": {"Action": {"best_valid_loss": float("inf")}}})
    write_json(str(tmp_path / "ensemble.json"), sealed)
    read = json.load(open(str(tmp_path / "ensemble.json")))
    assert read["models"]["Action"]["best_valid_loss"] is None
    assert seal(read)["checksum"] == sealed["checksum"]


def test_a_weight_of_another_shape_than_its_network_is_refused(tmp_path):
    # N7: a conv1 filter one row short still chains (the ragged edge absorbs it) and flips
    # the top genre; only the network the metadata describes says it is wrong.
    metadata, params = _weights()
    params["Low"]["conv1"][0] = params["Low"]["conv1"][0][:, :, :-1]
    path = str(tmp_path / "short.npz")
    write_bytes(path, pack_weights(metadata, params))
    with pytest.raises(InputError, match=re.escape("'Low/conv1/0' is float32 (4, 1, 4, 5), "
                                                   "not the (4, 1, 5, 5) floats")):
        read_weights(path)


@pytest.mark.parametrize("width, value", [("c1", 10 ** 6), ("h5", 0), ("h6", 2.5), ("c2", None)])
def test_widths_out_of_bounds_are_refused_before_any_array_is_read(tmp_path, width, value):
    metadata, params = _weights()
    metadata["hyperparameters"][width] = value
    path = str(tmp_path / "wide.npz")
    write_bytes(path, pack_weights(metadata, params))
    with pytest.raises(InputError, match="hyperparameters.{}' must be an integer".format(width)):
        read_weights(path)


def test_a_zip_bomb_member_is_refused_from_the_directory_before_decompressing(tmp_path):
    # N11: 64 MB of zeros deflate to a small file; its declared size gives it away.
    import tracemalloc
    import zipfile
    metadata, params = _weights()
    params["Low"]["conv1"] = params["Low"]["conv1"][:1]  # its b comes next, as the bomb
    path = str(tmp_path / "bomb.npz")
    write_bytes(path, pack_weights(metadata, params))
    bomb = np.zeros(16 * 2 ** 20, np.float32)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("Low/conv1/1.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array(stream, bomb)
    del bomb
    assert os.path.getsize(path) < 2 ** 20
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"'Low/conv1/1' declares \d+ bytes, more than"):
            read_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2 ** 20


def test_the_shapes_read_are_the_shapes_network_py_builds():
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.training.network import build_net
    from soundtrack_cnn.training.modelfiles import param_shapes
    for widths, settings in ((dict(c1=32, c2=64, c3=128, c4=256, h5=50, h6=50), FeatureSettings()),
                             (dict(c1=4, c2=5, c3=6, c4=7, h5=8, h6=9),
                              FeatureSettings(n_frames=60, hop=60, n_mfcc=38))):
        metadata = {"kind": "multilabel", "genres": ["A", "B", "C"], "hyperparameters": widths,
                    "feature_settings": settings.to_dict(),
                    "normalizer": {"mean": [0.0] * settings.n_mfcc,
                                   "std": [1.0] * settings.n_mfcc}}
        net = build_net(n_outputs=3, input_shape=(None,) + settings.tile_shape, **widths)
        net.initialize_layers()
        built = {"multilabel/{}/{}".format(name, index): tuple(param.get_value().shape)
                 for name, layer in net.layers_.items()
                 for index, param in enumerate(layer.get_params())}
        assert param_shapes(metadata) == built
