"""The course's lessons, measured: the table ``make demo`` prints at its end and ``summary.json``.

Each notebook teaches one claim of the paper and leaves its evidence in the shared output folder:
the test-protocol score files of its runs (``<out>/runs/<run>/scores_test.npz``) and the numbers it
records (``<out>/results/<notebook>.json``). This module reads them back, once, after every notebook
has run, and judges each lesson:

============================  =====================================================  ==============
lesson                        measured as                                            holds when
============================  =====================================================  ==============
RGB sees appearance           RGB top-1 on the appearance classes' test videos (03)  >= 0.85
flow sees motion              flow top-1 on the motion classes' test videos (04)     >= 0.85
two streams beat one          RGB + flow late fusion 1 : 1.5, all test videos (05)   >= 0.80 and >= 0.05
                                                                                     above the better
                                                                                     single stream
segments catch events         K = 3 against K = 1 on the event classes (03)          gap >= 0.15
Grad-CAM finds the actor      heatmap mass in the actor's box on the appearance and  trained >= 2x
                              event classes, trained against the same network with   random
                              random weights drawn by its own initialiser (mean of
                              3 draws) (06)
============================  =====================================================  ==============

Every accuracy carries its 95 % Wilson interval over the test videos it counts
(:func:`tsnlib.evaluation.wilson_interval`), and the paper's figure stands beside ours where the
paper has one (UCF101 split 1, BN-Inception, Tables 2-3; its numbers are not ours to reach: another
dataset, network and budget).

The fusion weights are the paper's fixed 1 : 1.5: nothing here is chosen on the test split.

Introduced in notebooks/05_two_stream_fusion.ipynb; printed by ``python -m tsnlib.course``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsnlib.evaluation import ScoreSet, predictions, wilson_interval
from tsnlib.fusion import DEFAULT_WEIGHTS, class_groups_of, fuse_scores
from tsnlib.records import load_records
from tsnlib.utils import output_dir

#: the keys of ``summary.json``, in order (accuracies and CAM shares in 0..1)
SUMMARY_KEYS = (
    "rgb_appearance_top1",
    "flow_motion_top1",
    "fusion_top1",
    "best_single_stream_top1",
    "k3_event_top1",
    "k1_event_top1",
    "cam_on_actor_trained",
    "cam_on_actor_random",
    "cam_on_actor_uniform",
    "seed",
    "demo_seconds",
)

#: the score files each lesson reads, relative to ``<out>/runs``
RUN_SCORES = {
    "rgb": "rgb_k3/scores_test.npz",
    "rgb_k1": "rgb_k1/scores_test.npz",
    "flow": "flow_k3/scores_test.npz",
}

#: the paper's numbers (UCF101 split 1, BN-Inception, TSN with K = 3) beside ours, where it has one
PAPER = {
    "rgb_appearance_top1": ("RGB stream, Table 3", 0.857),
    "flow_motion_top1": ("flow stream, Table 3", 0.879),
    "fusion_top1": ("RGB + flow, Table 3", 0.935),
}


@dataclass
class Accuracy:
    """``correct`` of ``n`` test videos, with its 95 % Wilson interval ``(lo, hi)``."""

    correct: int
    n: int

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)

    def __str__(self) -> str:
        lo, hi = self.interval
        return f"{self.value:.3f} [{lo:.2f}, {hi:.2f}] (n={self.n})"


def group_top1(scores: ScoreSet, group: str | None = None) -> Accuracy:
    """Top-1 over the test videos whose true class is in ``group`` (``"appearance"``, ``"motion"``,
    ``"event"``; None: every video), as an :class:`Accuracy`.

    ``scores``: a :class:`~tsnlib.evaluation.ScoreSet`, ``scores`` ``(num_videos, num_classes)``.
    The prediction is the arg-max over *all* classes: a motion video called an appearance class is
    wrong. Unlike :func:`tsnlib.fusion.group_accuracy` (a mean of per-class accuracies), this
    counts videos, so that its binomial interval is exact.
    """
    labels = np.asarray(scores.labels)
    keep = np.ones(len(labels), dtype=bool)
    if group is not None:
        groups = class_groups_of(scores.class_names)
        if group not in groups:
            raise KeyError(f"no class of group {group!r} in {list(scores.class_names)}")
        keep = np.isin(labels, groups[group])
    right = predictions(scores.scores)[keep] == labels[keep]
    return Accuracy(int(right.sum()), int(keep.sum()))


def _gap_at_least(a: Accuracy, b: Accuracy, gap: float) -> bool:
    """``a.value - b.value >= gap``, computed exactly on the counts: in floating point 17/20 - 16/20 is
    0.04999..., which would fail a 0.05 rule that it meets. False when either has no video."""
    from fractions import Fraction

    if not (a.n and b.n):
        return False
    return Fraction(a.correct, a.n) - Fraction(b.correct, b.n) >= Fraction(str(gap))


def _load(out: Path, key: str) -> ScoreSet | None:
    path = out / "runs" / RUN_SCORES[key]
    return ScoreSet.load(path) if path.is_file() else None


def measure_lessons(out=None, seed: int | None = None, demo_seconds: float | None = None) -> dict:
    """Read the runs and records under ``out`` and judge every lesson.

    Returns ``{"summary": {key: value for SUMMARY_KEYS}, "rows": [...], "all_hold": bool}``; each row
    is ``{"lesson", "ours", "paper", "holds"}`` as text for :func:`format_lessons` plus the numbers.
    A lesson whose evidence is missing (a notebook did not run) or cannot be measured (a real dataset has
    no class groups) is reported as not holding; ``problems`` says why.
    """
    out = output_dir(out)
    rgb, rgb_k1, flow = (_load(out, k) for k in ("rgb", "rgb_k1", "flow"))
    records = load_records(out)
    cam = records.get("06_model_visualization", {})
    s: dict = {k: None for k in SUMMARY_KEYS}
    acc: dict[str, Accuracy] = {}
    problems: list[str] = []

    def measure(keys_and_groups, scores):
        # a score file of another dataset (UCF101 has no class groups) or of other videos: reported, not raised
        try:
            for key, group in keys_and_groups:
                acc[key] = group_top1(scores, group)
        except (KeyError, ValueError) as err:
            problems.append(f"{keys_and_groups[0][0]}: {err}")

    if rgb is not None:
        measure([("rgb_appearance_top1", "appearance"), ("rgb_top1", None), ("k3_event_top1", "event")], rgb)
    if rgb_k1 is not None:
        measure([("k1_event_top1", "event")], rgb_k1)
    if flow is not None:
        measure([("flow_motion_top1", "motion"), ("flow_top1", None)], flow)
    if "rgb_top1" in acc and "flow_top1" in acc:
        try:
            fused = fuse_scores([rgb, flow], weights=DEFAULT_WEIGHTS, align=True, names=["RGB", "flow"])
            acc["fusion_top1"] = group_top1(fused)
            acc["best_single_stream_top1"] = max(acc["rgb_top1"], acc["flow_top1"], key=lambda a: a.value)
        except ValueError as err:
            problems.append(f"fusion_top1: {err}")
    for key, a in acc.items():
        if key in s:
            s[key] = a.value
    s["cam_on_actor_trained"] = cam.get("cam_mass_in_box_rgb")
    s["cam_on_actor_random"] = cam.get("cam_mass_in_box_random_rgb")
    s["cam_on_actor_uniform"] = cam.get("uniform_share_rgb")
    s["seed"] = seed
    s["demo_seconds"] = None if demo_seconds is None else round(float(demo_seconds), 1)

    def have(*keys):
        return all(s.get(k) is not None for k in keys)

    def paper(key):
        return f"{PAPER[key][1]:.3f} ({PAPER[key][0]})" if key in PAPER else "-"

    rows = []
    a = acc.get("rgb_appearance_top1")
    rows.append({"lesson": "RGB sees appearance (03): appearance classes, top-1",
                 "ours": str(a) if a else "missing", "paper": paper("rgb_appearance_top1"),
                 "holds": bool(a and a.value >= 0.85), "rule": ">= 0.85"})
    a = acc.get("flow_motion_top1")
    rows.append({"lesson": "flow sees motion (04): motion classes, top-1",
                 "ours": str(a) if a else "missing", "paper": paper("flow_motion_top1"),
                 "holds": bool(a and a.value >= 0.85), "rule": ">= 0.85"})
    if have("fusion_top1", "best_single_stream_top1"):
        f, b = acc["fusion_top1"], acc["best_single_stream_top1"]
        ours = f"{f}; best single stream {b.value:.3f} (+{f.value - b.value:.3f})"
        holds = f.value >= 0.80 and _gap_at_least(f, b, 0.05)
    else:
        ours, holds = "missing", False
    rows.append({"lesson": "two streams beat one (05): RGB + flow 1 : 1.5, all classes", "ours": ours,
                 "paper": paper("fusion_top1"), "holds": holds, "rule": ">= 0.80, +0.05"})
    if have("k3_event_top1", "k1_event_top1"):
        k3, k1 = acc["k3_event_top1"], acc["k1_event_top1"]
        ours = f"K=3 {k3}; K=1 {k1.value:.3f} [{k1.interval[0]:.2f}, {k1.interval[1]:.2f}]"
        holds = _gap_at_least(k3, k1, 0.15)
    else:
        ours, holds = "missing", False
    rows.append({"lesson": "segments catch events (03): event classes, K=3 vs K=1", "ours": ours,
                 "paper": "-", "holds": holds, "rule": "gap >= 0.15"})
    if have("cam_on_actor_trained", "cam_on_actor_random", "cam_on_actor_uniform"):
        t, r, u = s["cam_on_actor_trained"], s["cam_on_actor_random"], s["cam_on_actor_uniform"]
        ours = f"trained {t:.3f}, random weights {r:.3f}, uniform map {u:.3f}"
        holds = t >= 2 * r
    else:
        ours, holds = "missing", False
    rows.append({"lesson": "Grad-CAM finds the actor (06): mass on the actor's box, appearance + event", "ours": ours,
                 "paper": "-", "holds": holds, "rule": "trained >= 2x random"})
    any_set = next((x for x in (rgb, flow, rgb_k1) if x is not None), None)
    chance = 1.0 / len(any_set.class_names) if any_set is not None else None
    return {"summary": s, "rows": rows, "all_hold": all(r["holds"] for r in rows), "chance": chance, "problems": problems,
            "intervals": {k: list(a.interval) for k, a in acc.items()}}


def format_lessons(result: dict) -> str:
    """The lesson table as plain text: lesson · ours [95 % interval] · paper · holds."""
    rows = result["rows"]
    w0 = max(len(r["lesson"]) for r in rows)
    lines = [f"{'lesson':<{w0}}  holds  rule              ours [95 % interval]  |  paper (UCF101 split 1)",
             "-" * (w0 + 100)]
    for r in rows:
        mark = "yes" if r["holds"] else "NO"
        lines.append(f"{r['lesson']:<{w0}}  {mark:<5}  {r['rule']:<16}  {r['ours']}  |  {r['paper']}")
    s = result["summary"]
    tail = [f"seed {s['seed']}"]
    if s.get("demo_seconds") is not None:
        tail.append(f"course run {s['demo_seconds'] / 60:.1f} min")
    if result.get("chance"):
        tail.append(f"chance {result['chance']:.3f} on every row: the arg-max is over all classes")
    lines.append("(" + "; ".join(tail) + ")")
    for problem in result.get("problems", []):
        lines.append(f"not measured: {problem}")
    return "\n".join(lines)


def write_summary(result: dict, out=None) -> Path:
    """Write ``<out>/results/summary.json``: exactly the keys of :data:`SUMMARY_KEYS`."""
    path = output_dir(out) / "results" / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: result["summary"].get(k) for k in SUMMARY_KEYS}, indent=2) + "\n")
    return path


def combine_seeds(summaries: list[dict]) -> dict:
    """Each summary key over several seeds' ``summary.json`` dicts: ``{key: {"values", "mean", "min", "max"}}``
    for every key but ``seed`` (``demo_seconds`` too), plus ``"seeds"``, the seeds in order."""
    out: dict = {"seeds": [s.get("seed") for s in summaries]}
    for key in SUMMARY_KEYS:
        if key == "seed":
            continue
        values = [s.get(key) for s in summaries]
        nums = [float(v) for v in values if v is not None]
        out[key] = {"values": values, "mean": float(np.mean(nums)) if nums else None,
                    "min": min(nums) if nums else None, "max": max(nums) if nums else None}
    return out


def format_seeds(combined: dict, held: list[bool]) -> str:
    """The headline numbers over seeds as text: one line per key, the value of each seed, mean and range."""
    seeds = combined["seeds"]
    lines = [f"{'quantity':<26}  " + "  ".join(f"seed {s:<4}" for s in seeds) + "   mean   [min, max]"]
    for key in SUMMARY_KEYS:
        if key == "seed":
            continue
        row = combined[key]
        cells = "  ".join(f"{v:9.3f}" if isinstance(v, (int, float)) else f"{'-':>9}" for v in row["values"])
        tail = f"{row['mean']:6.3f}   [{row['min']:.3f}, {row['max']:.3f}]" if row["mean"] is not None else "-"
        lines.append(f"{key:<26}  {cells}   {tail}")
    lines.append("every lesson holds: " + "  ".join(f"seed {s}: {'yes' if h else 'NO'}" for s, h in zip(seeds, held)))
    return "\n".join(lines)
