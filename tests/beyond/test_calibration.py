import json
import re

import numpy as np
import pytest
from sklearn_checks import PARAMETER_CHECKS, run_check

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.calibration import Calibration, calibration_path


def _known_probabilities(n, rng, distort):
    """Tracks with a true probability per genre, a miscalibrated raw score and drawn labels."""
    truth = rng.uniform(0.02, 0.98, size=(n, 2))
    return distort(truth), (rng.uniform(size=truth.shape) < truth).astype(int), truth


def _platt_family(p):
    # genre 0 scores too high, genre 1 too low and too flat: both inside Platt's family.
    z = np.log(p / (1 - p))
    return 1 / (1 + np.exp(-np.column_stack([2 * z[:, 0] + 1.5, 0.5 * z[:, 1] - 1])))


@pytest.mark.parametrize("method,distort", [("platt", _platt_family),
                                            ("isotonic", _platt_family),
                                            ("isotonic", lambda p: p ** 3)])
def test_calibrated_scores_match_observed_frequencies(method, distort):
    rng = np.random.RandomState(0)
    raw, labels, _ = _known_probabilities(4000, rng, distort)
    calibration = Calibration(method).fit(raw, labels, ["A", "B"])
    raw, labels, truth = _known_probabilities(4000, rng, distort)
    calibrated = calibration.predict(raw)
    # Reliability: in each decile of calibrated score, the mean score is the observed frequency.
    for j in range(2):
        edges = np.quantile(calibrated[:, j], np.linspace(0, 1, 11))
        bins = np.clip(np.searchsorted(edges, calibrated[:, j], side="right") - 1, 0, 9)
        for b in range(10):
            inside = bins == b
            assert abs(calibrated[inside, j].mean() - labels[inside, j].mean()) < 0.08
    assert np.abs(calibrated - truth).mean() < 0.04
    assert np.abs(raw - truth).mean() > 0.1                # the raw scores were off


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_is_monotone_in_the_raw_score(method):
    rng = np.random.RandomState(2)
    raw = rng.uniform(size=(60, 3))
    labels = (rng.uniform(size=raw.shape) < raw).astype(int)
    labels[:, 2] = (raw[:, 2] < .5)                       # a specialist worse than chance
    calibration = Calibration(method).fit(raw, labels, ["a", "b", "c"])
    grid = np.tile(np.linspace(0, 1, 501)[:, None], (1, 3))
    assert np.all(np.diff(calibration.predict(grid), axis=0) >= 0)


def test_calibration_round_trips_through_the_run_folder(tmp_path):
    rng = np.random.RandomState(3)
    raw = rng.uniform(size=(30, 2))
    labels = np.column_stack([(raw[:, 0] > .5), np.ones(30)]).astype(int)  # B: one class only
    for method in ("platt", "isotonic"):
        calibration = Calibration(method).fit(raw, labels, ["A", "B"])
        path = calibration.save(str(tmp_path), fitted_on="valid")
        assert path == calibration_path(str(tmp_path), method)
        assert json.load(open(path))["fitted_on"] == "valid"
        loaded = Calibration.load(str(tmp_path), method)
        assert np.array_equal(loaded.predict(raw), calibration.predict(raw))
        assert np.all(calibration.predict(raw)[:, 1] > .9)
    with pytest.raises(InputError, match="cannot read this calibration"):
        Calibration.load(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="method"):
        Calibration("beta").fit([[.5]], [[1]], ["A"])
    record = dict(calibration.to_dict(), method="beta")
    with open(calibration_path(str(tmp_path), "beta"), "w") as stream:
        json.dump(record, stream)
    with pytest.raises(InputError, match="method"):
        Calibration.load(str(tmp_path), "beta")


@pytest.mark.parametrize("check", PARAMETER_CHECKS)
def test_scikit_learn_estimator_checks(check):
    run_check(check, Calibration())


def _saved(tmp_path, method="platt"):
    rng = np.random.RandomState(4)
    raw = rng.uniform(size=(40, 2))
    Calibration(method).fit(raw, (raw > .5).astype(int), ["A", "B"]).save(str(tmp_path))
    path = calibration_path(str(tmp_path), method)
    return path, json.load(open(path))


def _write(path, record):
    with open(path, "w") as stream:
        json.dump(record, stream)


@pytest.mark.parametrize("method, edit, message", [
    ("platt", lambda r: r["params"]["A"].update(a=float("nan")), "'params.A': a Platt map is finite"),
    ("platt", lambda r: r["params"]["B"].update(a=-1.0), "slope 'a' is not negative"),
    ("platt", lambda r: r["params"].pop("B"), "'params' must hold one map per genre"),
    ("isotonic", lambda r: r["params"]["A"].update(y=[2.0] * len(r["params"]["A"]["y"])),
     "'y' in [0, 1]"),
    ("isotonic", lambda r: r["params"]["A"]["x"].reverse(), "non-decreasing"),
    ("isotonic", lambda r: r["params"]["A"].update(x=[0.5]), "as many 'x' as 'y'"),
    ("platt", lambda r: r.update(genres=["A", "A"]), "field 'genres'"),
])
def test_a_calibration_that_is_not_one_is_refused_naming_the_file(tmp_path, method, edit,
                                                                   message):
    # N10: NaN parameters gave "Crime nan [nan, nan]" in film and "0.50 0.50" in predict.
    from soundtrack_cnn.training.modelfiles import seal
    path, record = _saved(tmp_path, method)
    edit(record)
    _write(path, seal(record))  # re-sealed: the checksum alone would not catch it
    with pytest.raises(InputError, match="calibration-{}.json is damaged: .*{}".format(
            method, re.escape(message))):
        Calibration.load(str(tmp_path), method)


def test_a_calibration_is_sealed_and_an_edit_is_refused(tmp_path):
    path, record = _saved(tmp_path)
    assert Calibration.load(str(tmp_path), "platt", genres=["A", "B"]).genres_ == ["A", "B"]
    assert "checksum" in record
    record["params"]["A"]["b"] += 1.0
    _write(path, record)
    with pytest.raises(InputError, match="does not match its checksum"):
        Calibration.load(str(tmp_path), "platt")
    del record["checksum"]
    _write(path, record)  # written before calibrations were sealed: loads, with a warning
    with pytest.warns(DeprecationWarning, match="has no checksum"):
        Calibration.load(str(tmp_path), "platt")
    with pytest.raises(InputError, match=r"maps genres \['A', 'B'\], but the model scores "
                                         r"\['B', 'A'\]"):
        Calibration.load(str(tmp_path), "platt", genres=["B", "A"])
