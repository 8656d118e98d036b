"""tsnlib.lessons (the table ``make demo`` ends with, ``summary.json``) and the Wilson interval it prints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tsnlib import lessons
from tsnlib.evaluation import ScoreSet, wilson_interval
from tsnlib.lessons import SUMMARY_KEYS, Accuracy, group_top1, measure_lessons, write_summary
from tsnlib.synthetic import CLASS_GROUPS, CLASSES

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal distribution
NAMES = sorted(CLASSES)  # label order of the synthetic set (classInd.txt lists the classes sorted)


# ----------------------------------------------------------------------------------------------
# the Wilson interval
# ----------------------------------------------------------------------------------------------


def _wilson_by_hand(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = k/n, written out again."""
    p = k / n
    denominator = 1 + z ** 2 / n
    centre = (p + z ** 2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / denominator
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(18, 19), (50, 100), (1, 3), (81, 263)])
def test_wilson_interval_matches_the_formula(k, n):
    lo, hi = wilson_interval(k, n)
    ref_lo, ref_hi = _wilson_by_hand(k, n)
    assert lo == pytest.approx(ref_lo, rel=1e-12) and hi == pytest.approx(ref_hi, rel=1e-12)
    assert 0 < lo < k / n < hi < 1


def test_wilson_interval_reference_values():
    # 18 of 19 right: the interval is not symmetric about 0.947 and stays below 1
    assert wilson_interval(18, 19) == pytest.approx((0.753612688331012, 0.9906480059376995), rel=1e-12)
    # 50 of 100: symmetric about one half
    lo, hi = wilson_interval(50, 100)
    assert (lo, hi) == pytest.approx((0.4038315303659956, 0.5961684696340044), rel=1e-12)
    assert lo + hi == pytest.approx(1.0, abs=1e-15)
    # the published example of 81 successes in 263 trials: 95 % Wilson interval 0.2553 to 0.3662
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    # another level: z = 1.6448536269514722 for 90 %
    assert wilson_interval(5, 10, level=0.9) == pytest.approx(_wilson_by_hand(5, 10, z=1.6448536269514722), rel=1e-12)


def test_wilson_interval_at_zero_and_all_right():
    # none right of 10: exactly 0 below, z^2 / (n + z^2) above; all right: the mirror image
    upper = Z95 ** 2 / (10 + Z95 ** 2)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(upper, rel=1e-12))
    assert wilson_interval(10, 10) == (pytest.approx(1 - upper, rel=1e-12), 1.0)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0  # exactly, not 1e-17 off
    assert wilson_interval(0, 0) == (0.0, 1.0)  # no video: nothing known


def test_wilson_interval_errors():
    with pytest.raises(ValueError, match="0 <= correct <= n"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="0 <= correct <= n"):
        wilson_interval(-1, 10)
    for level in (0.0, 1.0, -0.95, 95):
        with pytest.raises(ValueError, match="level"):
            wilson_interval(5, 10, level=level)


# ----------------------------------------------------------------------------------------------
# group_top1
# ----------------------------------------------------------------------------------------------


def _set(scores, labels, class_names, ids=None, **meta) -> ScoreSet:
    ids = [f"v{i:03d}" for i in range(len(labels))] if ids is None else ids
    return ScoreSet(np.asarray(scores, np.float32), np.asarray(labels), ids, list(class_names), meta)


def test_group_top1_counts_videos_of_the_group_with_the_argmax_over_all_classes():
    names = ["FlashRed", "MoveLeft", "PlainDisc", "FlashBlue"]  # event, motion, appearance, event
    scores = [
        [3, 0, 0, 0],  # FlashRed -> FlashRed: right
        [0, 0, 5, 1],  # FlashRed -> PlainDisc: wrong (an appearance class, outside the event group)
        [0, 0, 0, 2],  # FlashBlue -> FlashBlue: right
        [0, 2, 0, 2],  # FlashBlue: a tie of MoveLeft and FlashBlue goes to the lower index, MoveLeft: wrong
        [0, 1, 0, 0],  # MoveLeft -> MoveLeft: right
        [0, 0, 1, 0],  # PlainDisc -> PlainDisc: right
        [0, 4, 1, 0],  # PlainDisc -> MoveLeft: wrong
    ]
    labels = [0, 0, 3, 3, 1, 2, 2]
    s = _set(scores, labels, names)
    assert group_top1(s, "event") == Accuracy(2, 4)
    assert group_top1(s, "motion") == Accuracy(1, 1)
    assert group_top1(s, "appearance") == Accuracy(1, 2)
    assert group_top1(s) == Accuracy(4, 7)  # every video
    assert group_top1(s, "event").value == 0.5
    assert group_top1(s, "event").interval == wilson_interval(2, 4)
    with pytest.raises(KeyError, match="appearance"):
        group_top1(_set(scores, labels, ["FlashRed", "MoveLeft", "ZoomIn", "FlashBlue"]), "appearance")


def test_accuracy_value_and_text():
    a = Accuracy(18, 20)
    lo, hi = wilson_interval(18, 20)
    assert a.value == 0.9 and a.interval == (lo, hi)
    assert str(a) == f"0.900 [{lo:.2f}, {hi:.2f}] (n=20)" == "0.900 [0.70, 0.97] (n=20)"
    assert math.isnan(Accuracy(0, 0).value) and Accuracy(0, 0).interval == (0.0, 1.0)


def test_gaps_are_judged_on_the_counts_not_on_rounded_floats():
    # 17/20 - 16/20 is 0.04999... and 19/20 - 16/20 is 0.14999... in floating point: both meet their rule
    assert 17 / 20 - 16 / 20 < 0.05 and 19 / 20 - 16 / 20 < 0.15
    assert lessons._gap_at_least(Accuracy(17, 20), Accuracy(16, 20), 0.05)
    assert lessons._gap_at_least(Accuracy(19, 20), Accuracy(16, 20), 0.15)
    assert not lessons._gap_at_least(Accuracy(18, 20), Accuracy(16, 20), 0.15)
    assert not lessons._gap_at_least(Accuracy(5, 5), Accuracy(0, 0), 0.05)  # no video: no gap


# ----------------------------------------------------------------------------------------------
# measure_lessons on an output folder written by hand
# ----------------------------------------------------------------------------------------------

#: test videos per group: 20 appearance (5 per class), 24 motion (4 per class), 20 event (7, 7, 6)
_COUNTS = {"appearance": 5, "motion": 4}


def _videos() -> list[tuple[str, str, int]]:
    """(video id, group, label) of the 64 test videos, in class-name order."""
    out = []
    for group, classes in CLASS_GROUPS.items():
        for c_i, cls in enumerate(classes):
            per_class = _COUNTS.get(group) or (7 if c_i < 2 else 6)
            out += [(f"v_{cls}_g01_c{j + 1:02d}", group, NAMES.index(cls)) for j in range(per_class)]
    return sorted(out)


def _other(label: int, group: str) -> int:
    """Another class of ``group`` than ``label`` (a wrong answer)."""
    return next(NAMES.index(c) for c in CLASS_GROUPS[group] if NAMES.index(c) != label)


def _write_runs(out, cam=None):
    """Score files of rgb_k3, rgb_k1 and flow_k3 and notebook 06's record, built so that (one-hot scores):

    * appearance (20): RGB right on 18 (score 2 on its answer), flow wrong on all (1 on a motion class);
    * motion (24): flow right on 21 (score 1), RGB wrong on all (1 on another motion class);
    * event (20): RGB K=3 right on 19 (score 2), K=1 right on 16; flow right on the first 10 (score 1).

    Fused 1 : 1.5, an RGB 2 beats a flow 1.5 and a flow 1.5 beats an RGB 1: the fusion answers as RGB on
    appearance and events and as flow on motion: 18 + 21 + 19 = 58 of 64. RGB alone 18 + 0 + 19 = 37,
    flow alone 0 + 21 + 10 = 31.
    """
    videos = _videos()
    n, c = len(videos), len(NAMES)
    rgb, rgb_k1, flow = np.zeros((n, c)), np.zeros((n, c)), np.zeros((n, c))
    seen = {"appearance": 0, "motion": 0, "event": 0}
    for i, (_, group, label) in enumerate(videos):
        k = seen[group]
        seen[group] += 1
        if group == "appearance":
            rgb[i, label if k < 18 else _other(label, "appearance")] = 2.0
            flow[i, NAMES.index("MoveLeft")] = 1.0
            rgb_k1[i, label] = 1.0
        elif group == "motion":
            flow[i, label if k < 21 else _other(label, "motion")] = 1.0
            rgb[i, _other(label, "motion")] = 1.0
            rgb_k1[i, _other(label, "motion")] = 1.0
        else:
            rgb[i, label if k < 19 else _other(label, "event")] = 2.0
            rgb_k1[i, label if k < 16 else _other(label, "event")] = 1.0
            flow[i, label if k < 10 else _other(label, "event")] = 1.0
    ids = [v for v, _, _ in videos]
    labels = [lab for _, _, lab in videos]
    runs = out / "runs"
    _set(rgb, labels, NAMES, ids, modality="RGB").save(runs / "rgb_k3" / "scores_test.npz")
    _set(rgb_k1, labels, NAMES, ids, modality="RGB").save(runs / "rgb_k1" / "scores_test.npz")
    # the flow file lists the videos in another order: the fusion matches them by id
    rev = slice(None, None, -1)
    _set(flow[rev], labels[rev], NAMES, ids[rev], modality="Flow").save(runs / "flow_k3" / "scores_test.npz")
    cam = {"cam_mass_in_box_rgb": 0.3, "cam_mass_in_box_random_rgb": 0.2, "uniform_share_rgb": 0.1} if cam is None else cam
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / "06_model_visualization.json").write_text(json.dumps({**cam, "other": [1, 2]}))


def test_the_hand_built_runs_are_what_the_docstring_says(tmp_path):
    _write_runs(tmp_path)
    assert len(_videos()) == 64
    assert [sum(g == grp for _, g, _ in _videos()) for grp in ("appearance", "motion", "event")] == [20, 24, 20]
    rgb = ScoreSet.load(tmp_path / "runs" / "rgb_k3" / "scores_test.npz")
    flow = ScoreSet.load(tmp_path / "runs" / "flow_k3" / "scores_test.npz")
    assert group_top1(rgb) == Accuracy(37, 64) and group_top1(flow) == Accuracy(31, 64)
    assert group_top1(flow, "event") == Accuracy(10, 20) and group_top1(rgb, "motion") == Accuracy(0, 24)


def test_measure_lessons_judges_each_lesson(tmp_path):
    _write_runs(tmp_path)
    result = measure_lessons(tmp_path, seed=7, demo_seconds=123.456)
    assert result["summary"] == {
        "rgb_appearance_top1": 18 / 20,
        "flow_motion_top1": 21 / 24,
        "fusion_top1": 58 / 64,
        "best_single_stream_top1": 37 / 64,  # RGB, the better single stream over all 64 videos
        "k3_event_top1": 19 / 20,
        "k1_event_top1": 16 / 20,
        "cam_on_actor_trained": 0.3,
        "cam_on_actor_random": 0.2,
        "cam_on_actor_uniform": 0.1,
        "seed": 7,
        "demo_seconds": 123.5,
    }
    assert list(result["summary"]) == list(SUMMARY_KEYS)
    rows = result["rows"]
    assert [r["lesson"].split(" (")[0] for r in rows] == [
        "RGB sees appearance", "flow sees motion", "two streams beat one", "segments catch events",
        "Grad-CAM finds the actor"]
    # 0.90 >= 0.85; 0.875 >= 0.85; 0.906 >= 0.80 and 21/64 above RGB; a gap of exactly 0.15 (19/20 - 16/20);
    # 0.3 < 2 x 0.2
    assert [r["holds"] for r in rows] == [True, True, True, True, False]
    assert result["all_hold"] is False
    assert result["chance"] == 1 / 13
    assert rows[0]["ours"] == str(Accuracy(18, 20)) and rows[1]["ours"] == str(Accuracy(21, 24))
    assert rows[0]["paper"] == "0.857 (RGB stream, Table 3)" and rows[3]["paper"] == "-"
    assert rows[2]["ours"] == f"{Accuracy(58, 64)}; best single stream 0.578 (+0.328)"
    assert rows[4]["ours"] == "trained 0.300, random weights 0.200, uniform map 0.100"
    assert result["intervals"]["rgb_appearance_top1"] == list(wilson_interval(18, 20))
    assert result["intervals"]["fusion_top1"] == list(wilson_interval(58, 64))
    text = lessons.format_lessons(result)
    assert "seed 7" in text and "course run 2.1 min" in text and "chance 0.077" in text
    assert [line.split()[-1] for line in text.splitlines() if "Grad-CAM" in line] == ["-"]
    assert sum(" NO " in line for line in text.splitlines()) == 1


def test_grad_cam_holds_at_twice_random_and_then_every_lesson_holds(tmp_path):
    _write_runs(tmp_path, cam={"cam_mass_in_box_rgb": 0.4, "cam_mass_in_box_random_rgb": 0.2,
                               "uniform_share_rgb": 0.1})
    result = measure_lessons(tmp_path)
    assert [r["holds"] for r in result["rows"]] == [True] * 5 and result["all_hold"] is True
    assert result["summary"]["seed"] is None and result["summary"]["demo_seconds"] is None


def test_a_lesson_fails_below_its_rule(tmp_path):
    """Only the K = 1 run replaced: right on 17 of 20 event videos, a gap of 0.10 < 0.15."""
    _write_runs(tmp_path)
    path = tmp_path / "runs" / "rgb_k1" / "scores_test.npz"
    k1 = ScoreSet.load(path)
    events = [i for i, lab in enumerate(k1.labels) if NAMES[lab] in CLASS_GROUPS["event"]]
    wrong = [i for i in events if k1.scores[i].argmax() != k1.labels[i]]
    assert len(wrong) == 4
    k1.scores[wrong[0]] = np.eye(len(NAMES))[k1.labels[wrong[0]]]
    k1.save(path)
    result = measure_lessons(tmp_path)
    assert result["summary"]["k1_event_top1"] == 17 / 20
    assert [r["holds"] for r in result["rows"]] == [True, True, True, False, False]


def test_missing_runs_are_lessons_that_do_not_hold(tmp_path):
    empty = measure_lessons(tmp_path / "nothing_ran", seed=0)
    assert empty["summary"] == {**{k: None for k in SUMMARY_KEYS}, "seed": 0}
    assert [r["holds"] for r in empty["rows"]] == [False] * 5 and empty["all_hold"] is False
    assert [r["ours"] for r in empty["rows"]] == ["missing"] * 5
    assert empty["chance"] is None and empty["intervals"] == {}
    assert "(seed 0)" in lessons.format_lessons(empty)

    # only notebook 03's K = 3 run: its two lessons' numbers, the rest missing
    _write_runs(tmp_path / "full")
    part = tmp_path / "part"
    (part / "runs" / "rgb_k3").mkdir(parents=True)
    (part / "runs" / "rgb_k3" / "scores_test.npz").write_bytes(
        (tmp_path / "full" / "runs" / "rgb_k3" / "scores_test.npz").read_bytes())
    result = measure_lessons(part)
    s = result["summary"]
    assert (s["rgb_appearance_top1"], s["k3_event_top1"]) == (0.9, 0.95)
    assert all(s[k] is None for k in SUMMARY_KEYS if k not in ("rgb_appearance_top1", "k3_event_top1"))
    assert [r["holds"] for r in result["rows"]] == [True, False, False, False, False]
    assert [r["ours"] for r in result["rows"]][1:] == ["missing"] * 4
    assert result["chance"] == 1 / 13


# ----------------------------------------------------------------------------------------------
# summary.json
# ----------------------------------------------------------------------------------------------


def test_write_summary_writes_exactly_the_summary_keys(tmp_path):
    _write_runs(tmp_path)
    result = measure_lessons(tmp_path, seed=2, demo_seconds=60)
    result["summary"]["not_a_summary_key"] = 1.0  # anything else in the dict stays out of the file
    path = write_summary(result, tmp_path)
    assert path == tmp_path / "results" / "summary.json"
    text = path.read_text()
    written = json.loads(text)
    assert list(written) == list(SUMMARY_KEYS)
    assert written == {k: result["summary"][k] for k in SUMMARY_KEYS}
    assert written["fusion_top1"] == 58 / 64 and written["seed"] == 2 and written["demo_seconds"] == 60.0
    # nothing ran: every key is there, null
    empty = write_summary(measure_lessons(tmp_path / "empty"), tmp_path / "empty")
    assert json.loads(empty.read_text()) == {k: None for k in SUMMARY_KEYS}
