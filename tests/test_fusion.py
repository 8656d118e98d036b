"""tsnlib.fusion: weighted late fusion by hand, the softmax toggle, every mismatch error, alignment."""

from __future__ import annotations

import numpy as np
import pytest

from tsnlib.evaluation import ScoreSet, per_class_accuracy
from tsnlib.fusion import (
    align_score_sets,
    fuse_scores,
    per_class_gain,
    plot_confusion_side_by_side,
    plot_weight_sweep,
    softmax,
    weight_sweep,
)

CLASSES = ["Archery", "Biking", "Diving"]


def make_set(scores, labels, ids=None, classes=CLASSES, name=None):
    scores = np.asarray(scores, dtype=np.float32)
    ids = ids or [f"v{i}" for i in range(len(scores))]
    return ScoreSet(scores=scores, labels=np.asarray(labels, dtype=np.int64), video_ids=list(ids),
                    class_names=list(classes), meta={"name": name} if name else {})


@pytest.fixture
def rgb():
    return make_set([[2.0, 1.0, 0.0], [0.0, 1.0, 1.5], [0.2, 0.5, 1.0]], [0, 1, 2], name="rgb")


@pytest.fixture
def flow():
    return make_set([[0.0, 2.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 2.0]], [0, 1, 2], name="flow")


def test_weighted_sum_by_hand(rgb, flow):
    fused = fuse_scores([rgb, flow])  # default 1 : 1.5
    expected = np.array([[2.0, 4.0, 0.0], [1.5, 5.5, 1.5], [0.2, 0.5, 4.0]], np.float32)
    assert fused.scores.dtype == np.float32
    np.testing.assert_allclose(fused.scores, expected, rtol=0, atol=1e-6)
    assert fused.labels.tolist() == [0, 1, 2] and fused.video_ids == ["v0", "v1", "v2"]
    assert fused.class_names == CLASSES
    assert fused.meta == {"stream": "fusion", "streams": ["rgb", "flow"], "weights": [1.0, 1.5], "softmax": False}
    # RGB alone gets v1 wrong (Diving), flow alone gets v0 wrong (Biking); fusion 1:1.5 gets v0 wrong
    assert fused.scores.argmax(1).tolist() == [1, 1, 2]
    # any number of streams, e.g. RGB, flow, RGB difference
    diff = make_set(np.eye(3) * 4, [0, 1, 2], name="rgbdiff")
    three = fuse_scores([rgb, flow, diff], weights=(1, 1.5, 1))
    np.testing.assert_allclose(three.scores, expected + np.eye(3) * 4, atol=1e-6)
    assert three.scores.argmax(1).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="2 weight\\(s\\).*3 score set"):
        fuse_scores([rgb, flow, diff], weights=(1, 1.5))


def test_softmax_toggle_changes_the_decision():
    # RGB is very sure of class 0; flow moderately sure of class 1
    a = make_set([[10.0, 0.0, 0.0]], [1], ids=["x"])
    b = make_set([[0.0, 3.0, 0.0]], [1], ids=["x"])
    raw = fuse_scores([a, b], (1, 1.5))
    np.testing.assert_allclose(raw.scores, [[10.0, 4.5, 0.0]], atol=1e-6)
    soft = fuse_scores([a, b], (1, 1.5), softmax=True)
    pa, pb = softmax(a.scores), softmax(b.scores)
    np.testing.assert_allclose(pb, [[1 / (2 + np.e**3), np.e**3 / (2 + np.e**3), 1 / (2 + np.e**3)]], rtol=1e-6)
    np.testing.assert_allclose(soft.scores, pa + 1.5 * pb, rtol=1e-6)
    assert raw.scores.argmax() == 0 and soft.scores.argmax() == 1
    assert soft.meta["softmax"] is True
    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]], rtol=1e-6)


def test_mismatch_errors_name_the_first_difference(rgb, flow):
    short = make_set(flow.scores[:2], [0, 1], name="flow")
    with pytest.raises(ValueError, match="different number of videos: rgb has 3, flow has 2"):
        fuse_scores([rgb, short])
    swapped = make_set(flow.scores, [0, 1, 2], ids=["v0", "v2", "v1"], name="flow")
    with pytest.raises(ValueError, match="different video id at position 1: 'v1' in rgb, 'v2' in flow"):
        fuse_scores([rgb, swapped])
    relabelled = make_set(flow.scores, [0, 2, 2], name="flow")
    with pytest.raises(ValueError, match="label mismatch for video 'v1' \\(position 1\\): 1 in rgb, 2 in flow"):
        fuse_scores([rgb, relabelled])
    renamed = make_set(flow.scores, [0, 1, 2], classes=["Archery", "Bowling", "Diving"], name="flow")
    with pytest.raises(ValueError, match="class names differ between rgb and flow: class 1 is 'Biking' in rgb but 'Bowling'"):
        fuse_scores([rgb, renamed])
    fewer = make_set(flow.scores[:, :2], [0, 1, 1], classes=CLASSES[:2], name="flow")
    with pytest.raises(ValueError, match="class names differ.*3 vs 2 classes"):
        fuse_scores([rgb, fewer])
    # names given explicitly win over the meta
    with pytest.raises(ValueError, match="RGB has 3, Flow has 2"):
        fuse_scores([rgb, short], names=["RGB", "Flow"])


def test_align_reorders_by_video_id(rgb, flow):
    order = [2, 0, 1]
    shuffled = make_set(flow.scores[order], flow.labels[order], ids=[flow.video_ids[i] for i in order], name="flow")
    fused = fuse_scores([rgb, shuffled], align=True)
    np.testing.assert_allclose(fused.scores, fuse_scores([rgb, flow]).scores, atol=1e-6)
    assert fused.video_ids == ["v0", "v1", "v2"]
    aligned = align_score_sets([rgb, shuffled])
    assert aligned[1].video_ids == ["v0", "v1", "v2"]
    np.testing.assert_array_equal(aligned[1].scores, flow.scores)
    # different videos: still an error, naming one
    other = make_set(flow.scores, [0, 1, 2], ids=["v0", "v1", "v9"], name="flow")
    with pytest.raises(ValueError, match="video 'v2' of rgb is missing from flow"):
        fuse_scores([rgb, other], align=True)
    # a label that differs is caught after alignment
    wrong = make_set(flow.scores[order], [2, 0, 2], ids=[flow.video_ids[i] for i in order], name="flow")
    with pytest.raises(ValueError, match="label mismatch for video 'v1'"):
        fuse_scores([rgb, wrong], align=True)


def test_weight_sweep_and_plot(rgb, flow):
    sweep = weight_sweep([rgb, flow], [0.0, 0.25, 1.5, 10.0])
    weights = [w for w, _ in sweep]
    assert weights == [(1.0, 0.0), (1.0, 0.25), (1.0, 1.5), (1.0, 10.0)]
    # by hand: w=0 -> RGB alone predicts [0, 2, 2] -> 2/3; w=0.25 -> [0, 1, 2] -> 1; w=1.5 and 10 -> [1, 1, 2] -> 2/3
    assert [v for _, v in sweep] == pytest.approx([2 / 3, 1.0, 2 / 3, 2 / 3])
    tuples = weight_sweep([rgb, flow], [(4, 1)], metric="mean_class_accuracy")
    assert tuples == [((4.0, 1.0), pytest.approx(1.0))]
    fig = plot_weight_sweep(sweep, stream_values={"rgb": 2 / 3, "flow": 2 / 3})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "flow weight (RGB weight = 1)"
    assert any("paper default 1 : 1.5" in t.get_text() for t in ax.get_legend().get_texts())
    assert any("best 1 : 0.25" in t.get_text() for t in ax.get_legend().get_texts())


def test_per_class_gain(rgb, flow):
    assert per_class_accuracy(rgb.scores, rgb.labels, 3).tolist() == [1.0, 0.0, 1.0]
    assert per_class_accuracy(flow.scores, flow.labels, 3).tolist() == [0.0, 1.0, 1.0]
    fused = fuse_scores([rgb, flow], (1, 0.25))  # all right
    gains = per_class_gain(fused, {"rgb": rgb, "flow": flow})
    assert gains["rgb"].tolist() == [0.0, 1.0, 0.0]
    assert gains["flow"].tolist() == [1.0, 0.0, 0.0]
    # a class without videos is NaN, not 0
    two = make_set(rgb.scores[:2], [0, 1], ids=["v0", "v1"])
    assert np.isnan(per_class_accuracy(two.scores, two.labels, 3)[2])


def test_plot_confusion_side_by_side(rgb, flow):
    fused = fuse_scores([rgb, flow])
    fig = plot_confusion_side_by_side([rgb, flow, fused], ["rgb", "flow", "fusion"])
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["rgb: top-1 66.7%", "flow: top-1 66.7%", "fusion: top-1 66.7%"]
    with pytest.raises(ValueError, match="2 names for 3"):
        plot_confusion_side_by_side([rgb, flow, fused], ["rgb", "flow"])


def test_align_carries_per_video_extras_and_fusion_drops_them(rgb, flow):
    clips = np.arange(3 * 2 * 3, dtype=np.float32).reshape(3, 2, 3)
    shuffled = ScoreSet(scores=flow.scores[[2, 0, 1]], labels=flow.labels[[2, 0, 1]], video_ids=["v2", "v0", "v1"],
                        class_names=CLASSES, meta={"modality": "Flow"}, clip_scores=clips)
    aligned = align_score_sets([rgb, shuffled])[1]
    np.testing.assert_array_equal(aligned.clip_scores, clips[[1, 2, 0]])
    fused = fuse_scores([rgb, shuffled], align=True)
    assert fused.clip_scores is None
    assert fused.meta["streams"] == ["rgb", "Flow"]  # names from meta["name"] / meta["modality"]


def test_cli_fuse_prints_each_stream_and_the_fusion(rgb, flow, tmp_path, capsys):
    from tsnlib.cli import main

    a, b = rgb.save(tmp_path / "rgb.npz"), flow.save(tmp_path / "flow.npz")
    out = tmp_path / "fused.npz"
    assert main(["fuse", str(a), str(b), "--weights", "1", "0.25", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == ["stream", "top-1", "top-5", "mean", "class", "acc"]
    assert lines[1].split()[:2] == ["rgb", "66.67%"]
    assert lines[2].split()[:2] == ["flow", "66.67%"]
    assert lines[3].startswith("fusion 1:0.25 (raw scores)") and "100.00%" in lines[3]
    fused = ScoreSet.load(out)
    np.testing.assert_allclose(fused.scores, rgb.scores + 0.25 * flow.scores, atol=1e-6)
    assert fused.meta["weights"] == [1.0, 0.25]
    # default weights 1 : 1.5 and the softmax flag
    assert main(["fuse", str(a), str(b), "--softmax"]) == 0
    assert "fusion 1:1.5 (softmax)" in capsys.readouterr().out
    # a mismatch is a one-line error naming it, not a traceback
    short = make_set(flow.scores[:2], [0, 1], name="flow").save(tmp_path / "short.npz")
    with pytest.raises(SystemExit, match="different number of videos: rgb has 3, flow has 2"):
        main(["fuse", str(a), str(short)])
    with pytest.raises(SystemExit, match="give --weights"):
        main(["fuse", str(a), str(b), str(b)])


def test_group_accuracy_and_table_by_hand():
    from tsnlib.fusion import accuracy_table, class_groups_of, format_accuracy_table, group_accuracy

    names = ["FlashBlue", "MoveLeft", "MoveRight", "PlainDisc", "StripedDisc"]
    assert class_groups_of(names) == {"appearance": [3, 4], "motion": [1, 2], "event": [0]}
    assert class_groups_of(["move_left", "flash_blue", "no_event"]) == {"motion": [0], "event": [1, 2]}  # HMDB-style names too
    assert class_groups_of(["ApplyEyeMakeup", "Archery"]) == {}  # a real dataset: no groups
    # 6 videos; predictions (argmax): FlashBlue ok; MoveLeft 1 of 2; MoveRight 0 of 1; PlainDisc ok; StripedDisc ok
    labels = [0, 1, 1, 2, 3, 4]
    preds = [0, 1, 2, 1, 3, 4]
    scores = np.eye(5, dtype=np.float32)[preds]
    s = make_set(scores, labels, classes=names)
    acc = group_accuracy(s)
    assert acc == pytest.approx({"appearance": 1.0, "motion": (0.5 + 0.0) / 2, "event": 1.0})
    # a group whose classes have no test video is NaN, not 0
    assert np.isnan(group_accuracy(s, {"x": []})["x"])
    table = accuracy_table({"rgb": s, "flow": make_set(np.eye(5, dtype=np.float32)[labels], labels, classes=names)})
    assert table["rgb"]["top1"] == pytest.approx(4 / 6)
    assert table["rgb"]["mean_class_accuracy"] == pytest.approx((1 + 0.5 + 0 + 1 + 1) / 5)
    assert table["flow"] == pytest.approx({"top1": 1.0, "mean_class_accuracy": 1.0, "appearance": 1.0, "motion": 1.0,
                                           "event": 1.0})
    text = format_accuracy_table(table)
    assert text.splitlines()[0].split() == ["stream", "top-1", "mean", "class", "appearance", "motion", "event"]
    assert "66.7%" in text.splitlines()[1] and "25.0%" in text.splitlines()[1]
