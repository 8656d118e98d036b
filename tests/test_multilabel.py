"""Multi-label scores: average precision by hand and against scikit-learn, mAP with the classes it leaves out,
score sets with multi-hot targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from tsnlib.evaluation import ScoreSet, average_precision, format_map, mean_average_precision, sigmoid

# ---------------------------------------------------------------------------------------------
# average precision, worked by hand
# ---------------------------------------------------------------------------------------------


def test_average_precision_worked_example():
    # ranked 0.9 (+), 0.8 (-), 0.7 (+), 0.6 (-), 0.5 (+): the recall steps by 1/3 at ranks 1, 3 and 5,
    # where the precision is 1/1, 2/3 and 3/5: AP = (1 + 2/3 + 3/5) / 3 = 34/45
    scores = np.array([0.6, 0.9, 0.5, 0.8, 0.7])
    targets = np.array([0, 1, 1, 0, 1])
    assert average_precision(scores, targets) == pytest.approx(34 / 45, abs=1e-15)


def test_tied_scores_enter_together():
    # 0.9 (-); then 0.7 twice, one (+) one (-): at that threshold TP 1, FP 2, P = 1/3, R = 1/2; then 0.4 (+): P = 2/4, R = 1.
    # AP = 1/2 * 1/3 + 1/2 * 2/4 = 5/12. Ranking the tied positive first would give 1/2 * 1/2 + 1/2 * 2/4 = 1/2.
    scores = np.array([0.9, 0.7, 0.7, 0.4])
    targets = np.array([0, 1, 0, 1])
    assert average_precision(scores, targets) == pytest.approx(5 / 12, abs=1e-15)
    assert average_precision(scores[[0, 2, 1, 3]], targets[[0, 2, 1, 3]]) == pytest.approx(5 / 12, abs=1e-15)
    assert math.isnan(average_precision(scores, np.zeros(4)))  # no positive: no recall, no AP


def test_mean_average_precision_by_hand_lists_the_classes_without_positives():
    scores = np.array([[0.6, 0.1, 0.3],
                       [0.9, 0.4, 0.2],
                       [0.5, 0.3, 0.9],
                       [0.8, 0.2, 0.1],
                       [0.7, 0.6, 0.5]])
    targets = np.array([[0, 0, 0],
                        [1, 1, 0],
                        [1, 0, 0],
                        [0, 0, 0],
                        [1, 1, 0]])
    m = mean_average_precision(scores, targets, ["run", "jump", "swim"])
    # run: the worked example above, 34/45; jump: its two positives have its two highest scores, AP 1;
    # swim: no video has it
    np.testing.assert_allclose(m["per_class_ap"][:2], [34 / 45, 1.0], rtol=0, atol=1e-15)
    assert math.isnan(m["per_class_ap"][2])
    assert m["mAP"] == pytest.approx((34 / 45 + 1.0) / 2, abs=1e-15)
    assert m["classes_without_positives"] == [2] and m["names_without_positives"] == ["swim"]
    assert (m["num_videos"], m["num_classes"], m["num_classes_with_positives"]) == (5, 3, 2)
    assert format_map(m, name="toy") == ("toy: mAP 87.78% over 2 classes with positives (5 videos); 1 class without "
                                         "positives, left out of the mean: swim")
    # scikit-learn's macro average counts swim as AP 0 (and warns); ours is its mean over the other two
    with pytest.warns(UserWarning, match="No positive class"):
        macro = average_precision_score(targets, scores, average="macro")
    assert macro == pytest.approx((34 / 45 + 1.0) / 3, abs=1e-15)


def test_mean_average_precision_equals_scikit_learn_on_random_data_with_ties():
    rng = np.random.default_rng(3)
    n, c = 57, 9
    scores = rng.integers(0, 6, size=(n, c)) / 5.0  # six values per class: many ties
    targets = (rng.random((n, c)) < 0.3).astype(np.int64)
    targets[0] = 1  # every class has a positive
    assert (scores[:, :, None] == scores[:, None, :]).any()
    m = mean_average_precision(scores, targets)
    per_sklearn = np.array([average_precision_score(targets[:, k], scores[:, k]) for k in range(c)])
    assert np.abs(m["per_class_ap"] - per_sklearn).max() <= 1e-12
    assert abs(m["mAP"] - per_sklearn.mean()) <= 1e-12
    assert abs(m["mAP"] - average_precision_score(targets, scores, average="macro")) <= 1e-12
    assert m["classes_without_positives"] == []
    # the sigmoid of the scores ranks every class the same: the same mAP
    logits = rng.normal(size=(n, c))
    assert mean_average_precision(sigmoid(logits).astype(np.float64), targets)["mAP"] == pytest.approx(
        mean_average_precision(logits, targets)["mAP"], abs=1e-12)


def test_targets_must_be_multi_hot_and_match_the_scores():
    s = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"targets must be multi-hot \(3, 2\)"):
        mean_average_precision(s, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0 or 1 in every cell"):
        mean_average_precision(s, np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="2 class names for scores with 3 classes"):
        mean_average_precision(np.zeros((2, 3)), np.ones((2, 3)), ["a", "b"])


# ---------------------------------------------------------------------------------------------
# score files
# ---------------------------------------------------------------------------------------------


def test_score_set_keeps_the_targets(tmp_path):
    s = ScoreSet(scores=np.array([[1.0, -2.0], [0.0, 3.0]]), labels=[0, -1], video_ids=["a", "b"],
                 class_names=["x", "y"], targets=np.array([[1, 1], [0, 0]]))
    assert s.multi_label and s.targets.dtype == np.uint8
    np.testing.assert_allclose(s.probabilities(), 1 / (1 + np.exp(-s.scores)), rtol=1e-6)
    back = ScoreSet.load(s.save(tmp_path / "s.npz"))
    assert back.multi_label and np.array_equal(back.targets, [[1, 1], [0, 0]])
    assert back.evaluate()["names_without_positives"] == []
    s.to_csv(tmp_path / "s.csv")
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[1].startswith("a,0,x;y,0,x,1,") and rows[2].startswith("b,-1,,1,y,0,")
    from tsnlib.fusion import check_compatible

    with pytest.raises(ValueError, match="multi-label scores: fusion .* not supported yet"):
        check_compatible([s, s])
