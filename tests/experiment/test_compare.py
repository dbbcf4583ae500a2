import json
import os

import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.compare import (
    METRICS,
    STUDY,
    bootstrap_intervals,
    format_table,
    point_metrics,
)

GENRES = ["a", "b", "c", "d"]


def _tracks(n=40, seed=0):
    rng = np.random.RandomState(seed)
    y = (rng.uniform(size=(n, 4)) < .35).astype(int)
    y[np.arange(n), rng.randint(4, size=n)] = 1                     # every track tagged
    good = np.clip(.3 + .4 * y + .25 * rng.randn(n, 4), 0, 1)
    return y, {"study": good, "noise": rng.uniform(size=(n, 4))}


def test_bootstrap_is_deterministic_under_a_seed_and_contains_the_point_estimate():
    y, scores = _tracks()
    first = bootstrap_intervals(y, scores, GENRES, n_boot=40, seed=3)
    assert first == bootstrap_intervals(y, scores, GENRES, n_boot=40, seed=3)
    assert first != bootstrap_intervals(y, scores, GENRES, n_boot=40, seed=4)
    for row in first.values():
        point, low, high = map(np.array, (row["point"], row["low"], row["high"]))
        assert np.all(low <= point) and np.all(point <= high)
        assert high[0] - low[0] > .02                  # ROC-AUC: a real interval
        assert np.all(np.array(row["diff_low"]) <= row["diff"]) and \
            np.all(np.array(row["diff"]) <= row["diff_high"])
    assert first["study"]["point"] == point_metrics(y, scores["study"], GENRES)
    # Paired differences: the first row against itself is exactly zero.
    assert first["study"]["diff_low"] == first["study"]["diff_high"] == [0.0] * len(METRICS)
    # Good scores beat noise on ROC-AUC, beyond the noise of 40 tracks.
    assert first["noise"]["diff_high"][0] < 0


def test_bootstrap_rejects_misshapen_scores():
    y, scores = _tracks()
    with pytest.raises(InputError, match="shaped like"):
        bootstrap_intervals(y, {"study": scores["study"][:5]}, GENRES, n_boot=5)


def test_table_puts_the_first_variant_first_and_lists_differences():
    y, scores = _tracks()
    table = format_table(bootstrap_intervals(y, scores, GENRES, n_boot=20)).splitlines()
    assert table[0].startswith("| variant | macro ROC-AUC | macro average precision | top-1 hit")
    assert table[2].startswith("| study | ") and table[3].startswith("| noise | ")
    assert table[-1].startswith("| noise | ") and "[" in table[-1]


@pytest.mark.slow
def test_compare_a_trained_run_from_the_command_line(two_tag_run, two_tag_corpus, capsys):
    from soundtrack_cnn.cli import main
    from soundtrack_cnn.beyond.calibration import Calibration
    main(["compare", two_tag_run, "--bootstrap", "30"])
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| variant |") and rows[1].startswith("| {} | ".format(STUDY))
    assert len(rows) == 1 + 8 + 1 + 7                  # the study and 7 variants, then 7 differences
    record = json.load(open(os.path.join(two_tag_run, "compare.json")))
    assert list(record["table"])[0] == STUDY
    assert record["table"][STUDY]["point"][0] > .8     # the specialists did learn Low / High
    assert open(os.path.join(two_tag_run, "compare.md")).read().strip() == printed.strip()
    for method in ("platt", "isotonic"):
        assert Calibration.load(two_tag_run, method).genres_ == ["Low", "High"]
    # predict ranks with another pooling, or with the calibration compare stored.
    high = os.path.join(os.path.dirname(two_tag_corpus), "track31.wav")
    for options in (["--pooling", "max"], ["--calibrated", "platt"]):
        main(["predict", two_tag_run, high, "--json"] + options)
        prediction = json.loads(capsys.readouterr().out)[0]
        assert prediction["top"][0][0] == "High" and prediction["error"] is None
    with pytest.raises(SystemExit) as exit:
        main(["predict", two_tag_run, high, "--pooling", "max", "--calibrated", "platt"])
    assert exit.value.code == 2 and "calibration maps mean-pooled scores" in \
        capsys.readouterr().err


def test_compare_names_a_folder_that_is_not_a_run(tmp_path, capsys):
    from soundtrack_cnn.cli import main
    with pytest.raises(SystemExit) as exit:
        main(["compare", str(tmp_path)])
    assert exit.value.code == 2
    assert str(tmp_path) in capsys.readouterr().err


@pytest.mark.slow
def test_runs_side_by_side_pair_their_models_with_the_baselines(two_tag_run, two_tag_store,
                                                                 tmp_path, capsys):
    import shutil
    from soundtrack_cnn.cli import main
    from soundtrack_cnn.experiment.compare import compare_runs
    from soundtrack_cnn.experiment.pipeline import prepare_run
    from soundtrack_cnn.experiment.profiles import get_profile
    copy = str(tmp_path / "copy")
    shutil.copytree(two_tag_run, copy)
    main(["compare", two_tag_run, copy, "--bootstrap", "30"])
    printed = capsys.readouterr().out
    points, differences = printed.split("Difference from the first row")
    rows = {line.split(" | ")[0][2:]: line for line in points.splitlines()
            if line.startswith("| ") and not line.startswith("| variant")}
    first = "{}: specialists".format(os.path.normpath(two_tag_run))
    assert list(rows)[0] == first
    assert {"{}: single net".format(copy), "MFCC mean+std, logistic", "label prior"} <= set(rows)
    # The copy's specialists are the same scores: a difference of exactly 0, zero-width.
    same = [line for line in differences.splitlines() if line.startswith("| {}: specialists".format(copy))]
    assert same and same[0].split(" | ")[1] == "+0.000 [0.000, 0.000]"
    # The baselines are evaluate's: its classical ROC-AUC, and the prior's 0.5.
    evaluation = json.load(open(os.path.join(two_tag_run, "evaluation.json")))
    classical = evaluation["MFCC mean+std, logistic"]["tracks"]["macro_roc_auc"]
    assert rows["MFCC mean+std, logistic"].split(" | ")[1].startswith("{:.3f} [".format(classical))
    assert rows["label prior"].split(" | ")[1].startswith("0.500 [")
    # Another vocabulary (here: its order) is refused, naming the run; so is the same run twice.
    other = str(tmp_path / "other")
    prepare_run(other, two_tag_store, get_profile("small"), genres=["High", "Low"])
    with pytest.raises(InputError, match="other: its genres"):
        compare_runs([two_tag_run, other], n_boot=5)
    with pytest.raises(InputError, match="given twice"):
        compare_runs([two_tag_run, two_tag_run + "/"], n_boot=5)
