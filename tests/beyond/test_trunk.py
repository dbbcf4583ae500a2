"""Trunk files: written and read back exactly, refused when damaged, loaded into a net."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.audio.features import FeatureSettings
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.trunk import (CONV_LAYERS, SHIPPED, TRUNK_LAYERS, Trunk,
                                              embed_tiles, read_trunk, trunk_shapes, write_trunk)

TINY = dict(c1=2, c2=3, c3=2, c4=2, h5=4, h6=3)


def tiny_trunk(seed=0, provenance=None):
    rng = np.random.RandomState(seed)
    params = {layer: [rng.randn(*w).astype(np.float32) * .1, rng.randn(*b).astype(np.float32)]
              for layer, (w, b) in trunk_shapes(TINY, FeatureSettings()).items()}
    return Trunk(params, FeatureSettings(), TINY, provenance or {"command": "test"})


def test_a_written_trunk_reads_back_exactly_with_its_provenance(tmp_path):
    path = str(tmp_path / "t.npz")
    trunk = tiny_trunk()
    sha = write_trunk(path, trunk)
    again = read_trunk(path)
    assert again.sha256 == sha and again.architecture == TINY
    assert again.provenance["command"] == "test" and again.provenance["sha256"] == sha
    assert again.provenance["n_params"] == trunk.n_params
    for layer in TRUNK_LAYERS:
        for a, b in zip(trunk.params[layer], again.params[layer]):
            np.testing.assert_array_equal(a, b)


def test_the_study_trunk_has_the_listing_parameters_but_the_output_layer():
    shapes = trunk_shapes(dict(c1=32, c2=64, c3=128, c4=256, h5=50, h6=50), FeatureSettings())
    assert sum(int(np.prod(w)) + int(np.prod(b)) for w, b in shapes.values()) == 251739 - 51


def _rewrite(path, change):
    """Rewrite the arrays of an .npz through ``change(dict)``."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with open(path, "wb") as stream:
        stream.write(buffer.getvalue())


@pytest.mark.parametrize("damage, message", [
    (lambda a: a.__setitem__("conv1/0", a["conv1/0"] + 1), "records another sha256"),
    (lambda a: a.pop("hidden6/1"), "arrays"),
    (lambda a: a.__setitem__("conv2/0", a["conv2/0"][:1]), "layer conv2"),
    (lambda a: a.__setitem__("hidden5/1", a["hidden5/1"] * np.nan), "finite"),
    (lambda a: a.__setitem__("conv1/0", np.array([object()], dtype=object)), "trunk"),
])
def test_a_damaged_trunk_is_refused_in_one_line_naming_it(tmp_path, damage, message):
    path = str(tmp_path / "t.npz")
    write_trunk(path, tiny_trunk())
    _rewrite(path, damage)
    with pytest.raises(InputError, match=message) as error:
        read_trunk(path)
    assert path in str(error.value) and "\n" not in str(error.value)


def test_a_trunk_without_provenance_or_not_an_npz_is_refused(tmp_path):
    path = str(tmp_path / "t.npz")
    write_trunk(path, tiny_trunk())
    os.unlink(str(tmp_path / "t.json"))
    with pytest.raises(InputError, match="provenance"):
        read_trunk(path)
    (tmp_path / "x.npz").write_bytes(b"#!/bin/sh\necho code\n")
    with pytest.raises(InputError, match="not an .npz"):
        read_trunk(str(tmp_path / "x.npz"))
    with pytest.raises(InputError, match="no such trunk"):
        read_trunk(str(tmp_path / "missing.npz"))


def test_pretrained_names_the_shipped_trunk_which_never_heard_a_test_track():
    assert SHIPPED.endswith(os.path.join("soundtrack_cnn", "trunks", "pretrained.npz"))
    shipped = read_trunk("pretrained")  # its sha256 is the one its provenance records
    assert shipped.path == SHIPPED and shipped.n_params == 251739 - 51
    provenance = shipped.provenance
    assert provenance["data"]["excluded_splits"] == ["test"]
    assert provenance["command"].startswith("make pretrain-trunk")
    epochs = provenance["parameters"]["epochs"]
    assert len(provenance["loss_curve"]) == provenance["epochs"] == epochs


def test_load_trunk_copies_the_weights_and_freezes_only_the_conv_blocks():
    from soundtrack_cnn.training.network import build_net
    net = build_net(**TINY)
    net.initialize_layers()
    trunk = tiny_trunk(seed=3)
    trunk.load_into(net.layers_, freeze_conv=True)
    for layer in TRUNK_LAYERS:
        np.testing.assert_array_equal(net.layers_[layer].W.get_value(), trunk.params[layer][0])
        trainable = net.layers_[layer].get_params(trainable=True)
        assert (trainable == []) == (layer in CONV_LAYERS)
    assert net.layers_["output"].get_params(trainable=True)


def test_a_trunk_of_other_sizes_does_not_fit(tmp_path):
    with pytest.raises(InputError, match="asks for"):
        tiny_trunk().check_fits(FeatureSettings(), dict(TINY, h6=50), where="this model")


@pytest.mark.slow
def test_embed_tiles_gives_hidden6_without_dropout():
    trunk = tiny_trunk()
    X = np.random.RandomState(0).randn(7, 1, 40, 100).astype(np.float32)
    first, second = embed_tiles(trunk, X, batch=3), embed_tiles(trunk, X)
    assert first.shape == (7, 3) and (first >= 0).all()
    np.testing.assert_allclose(first, second, rtol=1e-5)
