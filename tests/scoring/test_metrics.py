import numpy as np
import pytest

from soundtrack_cnn.scoring.metrics import (
    choose_thresholds,
    evaluate_scores,
    metrics_table,
    normalise_scores,
    prior_scores,
    random_scores,
    top_k,
)

GENRES = ["A", "B", "C"]
# 4 tracks x 3 genres; worked by hand below.
Y = np.array([[1, 0, 1],
              [0, 1, 0],
              [1, 1, 0],
              [0, 0, 1]])
S = np.array([[.9, .2, .4],
              [.3, .8, .1],
              [.6, .1, .7],
              [.2, .5, .6]])


def test_metrics_match_hand_computed_values():
    result = evaluate_scores(Y, S, GENRES)
    # A: positives {.9, .6}, negatives {.3, .2}: every pair ordered -> AUC 1.
    # B: positives {.8, .1}, negatives {.2, .5}: pairs won 2 of 4 -> 0.5.
    # C: positives {.4, .6}, negatives {.1, .7}: (.4>.1)(.6>.1) won, vs .7 lost -> 0.5.
    assert result["roc_auc"] == {"A": 1.0, "B": 0.5, "C": 0.5}
    assert result["macro_roc_auc"] == pytest.approx(2 / 3)
    # Rankings: t0 A,C,B  t1 B,A,C  t2 C,A,B  t3 C,B,A.
    # top-1 hits: t0 A yes, t1 B yes, t2 C no, t3 C yes -> 3/4.
    assert result["top_k_any"][1] == pytest.approx(0.75)
    # top-2 all: t0 {A,C} yes, t1 {B} yes, t2 {A,B} in {C,A}? no, t3 {C} yes -> 3/4.
    assert result["top_k_all"][2] == pytest.approx(0.75)
    assert result["top_k_all"][3] == 1.0
    # P@3 = mean(true tags among 3 / 3) = (2 + 1 + 2 + 1) / 12.
    assert result["precision_at_3"] == pytest.approx(0.5)
    assert result["recall_at_3"] == 1.0
    # LRAP: t0 A rank1 (1/1), C rank2 (2/2) -> 1; t1 -> 1; t2 A rank2 (1/2), B rank3 (2/3)
    # -> 7/12; t3 -> 1.  Mean = (3 + 7/12) / 4.
    assert result["lrap"] == pytest.approx((3 + 7 / 12) / 4)
    # At 0.5: predicted [[1,0,0],[0,1,0],[1,0,1],[0,1,1]]: 4 of 12 cells wrong.
    assert result["hamming_loss"] == pytest.approx(4 / 12)
    # tp 4, fp 2, fn 2 -> micro F1 = 8 / 12.
    assert result["micro_f1"] == pytest.approx(8 / 12)


def test_genre_with_one_class_is_reported_as_none_and_left_out():
    y = Y.copy()
    y[:, 1] = 1
    result = evaluate_scores(y, S, GENRES)
    assert result["roc_auc"]["B"] is None and result["average_precision"]["B"] is None
    assert result["macro_roc_auc"] == pytest.approx(0.75)


def test_thresholds_chosen_on_validation_improve_f1_over_one_half():
    # Genre A's positives all score below 0.5; genre B is already fine at 0.5.
    y_valid = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    s_valid = np.array([[.3, .9], [.25, .1], [.1, .8], [.05, .2]])
    thresholds = choose_thresholds(y_valid, s_valid)
    assert thresholds[0] == pytest.approx(.25) and thresholds[1] == pytest.approx(.8)
    default = evaluate_scores(y_valid, s_valid, ["A", "B"])
    chosen = evaluate_scores(y_valid, s_valid, ["A", "B"], thresholds)
    assert default["macro_f1"] == pytest.approx(0.5) and chosen["macro_f1"] == 1.0


def test_normalisation_and_top_k():
    tracks = np.array([[.5, .5], [.35, .55]])
    np.testing.assert_allclose(normalise_scores(tracks).sum(axis=1), 1)
    assert top_k(tracks, ["x", "y"], k=1) == [[("x", .5)], [("y", .55)]]


def test_baselines_and_table():
    prior = prior_scores(Y, 2)
    np.testing.assert_allclose(prior, [[.5, .5, .5]] * 2)
    assert random_scores(3, 3, seed=1).shape == (3, 3)
    table = metrics_table({"model": evaluate_scores(Y, S, GENRES)})
    assert "| macro ROC-AUC | 0.667 |" in table


def test_markdown_cells_and_text_are_literal():
    from soundtrack_cnn.scoring.metrics import markdown_table, markdown_text
    table = markdown_table(["metric", "run <b>|x"], [["AUC of <script>", "0.9"]])
    assert "<" not in table and table.splitlines()[0] == "| metric | run &lt;b&gt;\\|x |"
    # The newline shown as printable's \x0a, whose backslash Markdown must keep.
    assert markdown_text("a\nb [l](u) `c`") == "a\\\\x0ab \\[l\\](u) \\`c\\`"
