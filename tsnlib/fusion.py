"""Late fusion of two-stream scores: weighted sums of saved score files, weight sweeps, per-class gains.

Introduced in notebooks/05_two_stream_fusion.ipynb.

TSN trains each stream (RGB, optical flow, RGB difference) on its own and combines them only at
test time, by a weighted sum of the video-level class scores of each stream:

$$ s_{\\text{fused}}(v) = \\sum_m w_m \\, s_m(v), \\qquad w_{\\text{RGB}} : w_{\\text{flow}} = 1 : 1.5 $$

(the paper's RGB : flow weights; its three-modality results add warped flow with weight 0.5 to
RGB 1 and flow 1, reference notes §3.9, and it gives no weight for RGB difference, which notebook
05 sweeps). The anchor implementations differ on *which* scores are summed: the original Caffe
TSN (``eval_scores.py``) sums the pre-softmax scores (averaged logits); tsn-pytorch ships no
fusion tool (its issues point to Caffe's); MMAction2's ``report_accuracy.py`` sums whatever was
dumped (its test scores are already softmax probabilities when ``average_clips='prob'``) and
offers ``--apply-softmax`` to softmax each stream first, as does TSM's ``test_models.py
--softmax``. :func:`fuse_scores` does either (``softmax=False`` by default, as Caffe TSN).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from tsnlib import evaluation as _ev
from tsnlib.evaluation import softmax
from tsnlib.plotting import STREAM_COLORS
from tsnlib.synthetic import CLASS_GROUPS, class_group

__all__ = [
    "DEFAULT_WEIGHTS", "softmax", "check_compatible", "align_score_sets", "fuse_scores", "weight_sweep",
    "plot_weight_sweep", "per_class_gain", "plot_confusion_side_by_side",
    "class_groups_of", "group_accuracy", "accuracy_table", "format_accuracy_table",
    "add_fuse_arguments", "cli_fuse",
]

#: The paper's fusion weights, RGB : flow.
DEFAULT_WEIGHTS = (1.0, 1.5)


def _name_of(score_set, i: int, names: Sequence[str] | None = None) -> str:
    if names is not None and i < len(names):
        return str(names[i])
    meta = getattr(score_set, "meta", None) or {}
    for key in ("name", "stream", "modality"):
        if meta.get(key):
            return str(meta[key])
    return f"set {i}"


def check_compatible(score_sets: Sequence, names: Sequence[str] | None = None) -> None:
    """Raise ``ValueError`` naming the first difference between score sets, else return None.

    Sets are compatible when they hold the same class names (same order), the same number of
    videos, the same video ids in the same order and the same label for every video. Each set's
    ``scores`` must be ``(num_videos, num_classes)``. Compared against the first set. Multi-label
    sets (``ScoreSet.multi_label``) are refused: the fused accuracies would judge only each video's
    first class.

    Used by :func:`fuse_scores`, :func:`weight_sweep`, :func:`per_class_gain`.
    """
    if len(score_sets) == 0:
        raise ValueError("no score sets given")
    for i, s in enumerate(score_sets):
        if getattr(s, "multi_label", False):
            raise ValueError(f"{_name_of(s, i, names)} holds multi-label scores: fusion and its accuracies are "
                             "single-label (one class per video); fusing multi-label streams is not supported yet")
        shape = np.shape(s.scores)
        if len(shape) != 2 or shape[0] != len(s.video_ids) or shape[0] != len(s.labels) or shape[1] != len(s.class_names):
            raise ValueError(
                f"{_name_of(s, i, names)}: scores {shape} do not match {len(s.video_ids)} video ids, "
                f"{len(s.labels)} labels and {len(s.class_names)} class names"
            )
    ref = score_sets[0]
    ref_name = _name_of(ref, 0, names)
    for i, s in enumerate(score_sets[1:], start=1):
        name = _name_of(s, i, names)
        if len(s.video_ids) != len(ref.video_ids):
            raise ValueError(f"different number of videos: {ref_name} has {len(ref.video_ids)}, {name} has {len(s.video_ids)}")
        if list(s.class_names) != list(ref.class_names):
            if len(s.class_names) != len(ref.class_names):
                detail = f"{len(ref.class_names)} vs {len(s.class_names)} classes"
            else:
                j = next(k for k, (a, b) in enumerate(zip(ref.class_names, s.class_names)) if a != b)
                detail = f"class {j} is {ref.class_names[j]!r} in {ref_name} but {s.class_names[j]!r} in {name}"
            raise ValueError(f"class names differ between {ref_name} and {name}: {detail}")
        for j, (a, b) in enumerate(zip(ref.video_ids, s.video_ids)):
            if a != b:
                raise ValueError(
                    f"different video id at position {j}: {a!r} in {ref_name}, {b!r} in {name} "
                    "(same videos in another order? use align=True)"
                )
        ref_labels = np.asarray(ref.labels)
        labels = np.asarray(s.labels)
        bad = np.flatnonzero(ref_labels != labels)
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"label mismatch for video {ref.video_ids[j]!r} (position {j}): {int(ref_labels[j])} in {ref_name}, "
                f"{int(labels[j])} in {name}"
            )


def align_score_sets(score_sets: Sequence, names: Sequence[str] | None = None) -> list:
    """Reorder every set to the video order of the first; raise ``ValueError`` if the sets hold different videos.

    Returns new score sets (same class) with ``scores``, ``labels`` and ``video_ids`` permuted.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """

    if len(score_sets) == 0:
        raise ValueError("no score sets given")
    ref = score_sets[0]
    out = [ref]
    for i, s in enumerate(score_sets):
        ids = list(s.video_ids)
        if len(set(ids)) != len(ids):
            dup = next(v for v in ids if ids.count(v) > 1)
            raise ValueError(f"{_name_of(s, i, names)} lists video {dup!r} more than once; cannot align by video id")
    ref_name = _name_of(ref, 0, names)
    for i, s in enumerate(score_sets[1:], start=1):
        name = _name_of(s, i, names)
        pos = {v: k for k, v in enumerate(s.video_ids)}
        missing = [v for v in ref.video_ids if v not in pos]
        if missing:
            raise ValueError(f"video {missing[0]!r} of {ref_name} is missing from {name} ({len(missing)} missing)")
        extra = [v for v in s.video_ids if v not in set(ref.video_ids)]
        if extra:
            raise ValueError(f"video {extra[0]!r} of {name} is missing from {ref_name} ({len(extra)} extra)")
        order = np.array([pos[v] for v in ref.video_ids], dtype=np.int64)
        changes = {
            "scores": np.asarray(s.scores)[order],
            "labels": np.asarray(s.labels)[order],
            "video_ids": [s.video_ids[k] for k in order],
        }
        for optional in ("clip_scores", "frame_indices"):  # per-video extras of a ScoreSet follow along
            if getattr(s, optional, None) is not None:
                changes[optional] = np.asarray(getattr(s, optional))[order]
        out.append(dataclasses.replace(s, **changes))
    return out


def _prepare(score_sets, softmax_first: bool, align: bool, names):
    score_sets = list(score_sets)
    if align:
        score_sets = align_score_sets(score_sets, names)
    check_compatible(score_sets, names)
    stacked = [softmax(s.scores) if softmax_first else np.asarray(s.scores, dtype=np.float32) for s in score_sets]
    return score_sets, stacked


def _check_weights(weights, n: int) -> tuple[float, ...]:
    w = tuple(float(x) for x in weights)
    if len(w) != n:
        raise ValueError(f"{len(w)} weight(s) {w} for {n} score set(s): give one weight per set")
    return w


def fuse_scores(
    score_sets: Sequence,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
    softmax: bool = False,
    align: bool = False,
    names: Sequence[str] | None = None,
):
    """Weighted sum of the scores of several streams: ``fused = sum_m weights[m] * scores_m``.

    ``score_sets``: :class:`tsnlib.evaluation.ScoreSet` objects (``scores`` float32
    ``(num_videos, num_classes)``), any number of streams (RGB, flow, RGB difference), ``weights``
    one per set (default 1 : 1.5, the paper's RGB : flow). ``softmax=True`` turns each stream's
    scores into probabilities first (MMAction2 ``report_accuracy.py --apply-softmax``, TSM
    ``--softmax``); the default ``False`` sums the raw scores as Caffe TSN ``eval_scores.py`` does
    (tsn-pytorch's own scores are raw averaged logits too). Both give the same ranking for one stream but can differ after fusion, since
    softmax removes each stream's scale.

    The sets must cover the same videos in the same order with the same labels and class names;
    otherwise a ``ValueError`` names the first mismatch. ``align=True`` first reorders the sets by
    video id (still an error if they hold different videos). ``names`` label the sets in messages
    (default: ``meta["name"]``, ``meta["stream"]`` or ``meta["modality"]``).

    Returns a new ScoreSet (float32 scores) with the first set's labels, ids and class names and
    ``meta = {"stream": "fusion", "streams": [...], "weights": [...], "softmax": bool}``; per-snippet
    ``clip_scores`` / ``frame_indices`` are not carried over (each stream sampled its own frames).

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    w = _check_weights(weights, len(score_sets))
    sets, stacked = _prepare(score_sets, softmax, align, names)
    fused = np.zeros_like(stacked[0], dtype=np.float64)
    for wi, s in zip(w, stacked):
        fused += wi * s.astype(np.float64)
    ref = sets[0]
    meta = {
        "stream": "fusion",
        "streams": [_name_of(s, i, names) for i, s in enumerate(sets)],
        "weights": list(w),
        "softmax": bool(softmax),
    }
    changes = {
        "scores": fused.astype(np.float32),
        "labels": np.asarray(ref.labels, dtype=np.int64).copy(),
        "video_ids": list(ref.video_ids),
        "class_names": list(ref.class_names),
        "meta": meta,
    }
    # per-snippet extras belong to one stream (streams sample different frames): not carried over
    for optional in ("clip_scores", "frame_indices"):
        if hasattr(ref, optional):
            changes[optional] = None
    return dataclasses.replace(ref, **changes)


def _metrics(scores, labels, class_names) -> dict:
    return _ev.evaluate_scores(np.asarray(scores), np.asarray(labels), list(class_names))


def _normalise_grid(weights_grid, n: int) -> list[tuple[float, ...]]:
    grid = []
    for g in weights_grid:
        if np.ndim(g) == 0:
            if n != 2:
                raise ValueError("a grid of single numbers means (1, w) weights and needs exactly 2 score sets")
            grid.append((1.0, float(g)))
        else:
            grid.append(_check_weights(g, n))
    return grid


def weight_sweep(
    score_sets: Sequence,
    weights_grid: Iterable,
    metric: str = "top1",
    softmax: bool = False,
    align: bool = False,
) -> list[tuple[tuple[float, ...], float]]:
    """``[(weights, metric value), ...]`` of the fusion for each weight tuple of ``weights_grid``.

    ``weights_grid``: tuples with one weight per set, or (for two sets) plain numbers ``w`` meaning
    ``(1, w)``, e.g. ``np.linspace(0, 3, 13)``. ``metric``: a key of
    :func:`tsnlib.evaluation.evaluate_scores` (``"top1"``, ``"top5"``, ``"mean_class_accuracy"``).
    Choosing the weights on the test set is optimistic: sweep on validation scores to pick them.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    sets, stacked = _prepare(score_sets, softmax, align, None)
    grid = _normalise_grid(weights_grid, len(sets))
    ref = sets[0]
    out = []
    for w in grid:
        fused = sum(wi * s.astype(np.float64) for wi, s in zip(w, stacked))
        value = _metrics(fused.astype(np.float32), ref.labels, ref.class_names)
        if metric not in value:
            raise KeyError(f"unknown metric {metric!r}; evaluate_scores gives {sorted(value)}")
        out.append((w, float(value[metric])))
    return out


def plot_weight_sweep(
    sweep: Sequence[tuple[Sequence[float], float]],
    metric: str = "top1",
    default: float = DEFAULT_WEIGHTS[1],
    stream_values: Mapping[str, float] | None = None,
    ax=None,
):
    """Plot a two-stream :func:`weight_sweep`: x = flow weight relative to RGB weight 1, y = the metric.

    The paper's default 1.5 is marked by a dashed line, the best weight by a dot;
    ``stream_values`` (e.g. ``{"rgb": 0.80, "flow": 0.83}``) adds each stream alone as a
    horizontal line in its :data:`tsnlib.plotting.STREAM_COLORS` colour. Returns the figure.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    import matplotlib.pyplot as plt


    if not sweep:
        raise ValueError("empty sweep")
    if any(len(w) != 2 for w, _ in sweep):
        raise ValueError("plot_weight_sweep draws two-stream sweeps (weights (w_rgb, w_flow))")
    xs = np.array([w[1] / w[0] if w[0] else np.inf for w, _ in sweep], dtype=float)
    ys = np.array([v for _, v in sweep], dtype=float)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    ax.plot(xs, ys, "-o", color=STREAM_COLORS["fusion"], markersize=3, label="fusion")
    for name, value in (stream_values or {}).items():
        ax.axhline(value, color=STREAM_COLORS.get(name, "gray"), linestyle=":", label=f"{name} alone")
    ax.axvline(default, color="gray", linestyle="--", linewidth=1.0, label=f"paper default 1 : {default:g}")
    best = int(np.nanargmax(ys))
    ax.plot([xs[best]], [ys[best]], "o", color="black", markersize=6, label=f"best 1 : {xs[best]:g}")
    ax.set_xlabel("flow weight (RGB weight = 1)")
    ax.set_ylabel(metric)
    ax.set_title("Two-stream fusion: weight sweep")
    ax.legend(fontsize=8)
    return fig


def _recall(score_set) -> np.ndarray:
    """:func:`tsnlib.evaluation.per_class_accuracy` of a score set, over all its classes: float64 ``(num_classes,)``."""
    return _ev.per_class_accuracy(score_set.scores, score_set.labels, len(score_set.class_names))


def per_class_gain(fused, streams, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Per-class accuracy of the fusion minus that of each stream: ``{stream name: float (num_classes,)}``.

    ``streams``: a dict ``{name: ScoreSet}`` or a list (named by ``names`` or their meta). Positive
    entries are classes the fusion gets right more often than that stream alone; NaN for classes
    without test videos. The sets must be compatible with ``fused`` (same videos, order, classes).

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    if isinstance(streams, Mapping):
        names, streams = list(streams.keys()), list(streams.values())
    streams = list(streams)
    labelled = [_name_of(s, i, names) for i, s in enumerate(streams)]
    check_compatible([fused, *streams], ["fusion", *labelled])
    fused_acc = _recall(fused)
    return {name: fused_acc - _recall(s) for name, s in zip(labelled, streams)}


def plot_confusion_side_by_side(score_sets: Sequence, names: Sequence[str], normalize: bool = True, max_labels: int = 25):
    """One confusion matrix per score set, side by side (rows = true class, columns = prediction).

    Rows are normalised to sum to 1 when ``normalize`` (a class without videos stays 0). Class
    names label the axes when there are at most ``max_labels`` classes. The title gives each set's
    top-1. Returns the figure.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    import matplotlib.pyplot as plt

    if len(names) != len(score_sets):
        raise ValueError(f"{len(names)} names for {len(score_sets)} score sets")
    ev = _ev
    k = len(score_sets)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 4.2), squeeze=False)
    for ax, s, name in zip(axes[0], score_sets, names):
        labels = np.asarray(s.labels)
        preds = np.asarray(s.scores).argmax(axis=1)
        n = len(s.class_names)
        cm = np.asarray(ev.confusion_matrix(preds, labels, n), dtype=float)
        if normalize:
            rows = cm.sum(axis=1, keepdims=True)
            cm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
        im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
        top1 = float((preds == labels).mean()) if len(labels) else float("nan")
        ax.set_title(f"{name}: top-1 {100 * top1:.1f}%")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.grid(False)
        if n <= max_labels:
            ax.set_xticks(range(n), s.class_names, rotation=90, fontsize=7)
            ax.set_yticks(range(n), s.class_names, fontsize=7)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8)
    return fig


# ----------------------------------------------------------------------------------------------
# Streams side by side: accuracy per group of classes
# ----------------------------------------------------------------------------------------------


def class_groups_of(class_names: Sequence[str]) -> dict[str, list[int]]:
    """``{group: [class indices]}`` for the synthetic dataset's classes (appearance / motion / event).

    Uses :func:`tsnlib.synthetic.class_group` (CamelCase or HMDB-style names); classes it does not
    know (a real dataset) are left out, so for UCF101 the result is ``{}``.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """

    groups: dict[str, list[int]] = {g: [] for g in CLASS_GROUPS}  # the generator's order of the groups
    for i, name in enumerate(class_names):
        try:
            g = class_group(str(name))
        except KeyError:
            continue
        groups.setdefault(g, []).append(i)
    return {g: idx for g, idx in groups.items() if idx}


def group_accuracy(score_set, groups: Mapping[str, Sequence[int]] | None = None) -> dict[str, float]:
    """Accuracy of a score set on each group of classes: the mean per-class accuracy (recall) over its classes.

    ``groups``: ``{group: [class indices]}``, default :func:`class_groups_of` the set's class names.
    A class without test videos is left out of its group's mean; a group with none is NaN. This is
    the group accuracy notebook 03 prints (a mean class accuracy restricted to the group), so it
    weighs classes equally whatever their number of test videos.

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    groups = class_groups_of(score_set.class_names) if groups is None else groups
    per_class = _recall(score_set)
    out = {}
    for g, idx in groups.items():
        vals = [per_class[i] for i in idx if not np.isnan(per_class[i])]
        out[g] = float(np.mean(vals)) if vals else float("nan")
    return out


def accuracy_table(score_sets: Mapping[str, object], groups: Mapping[str, Sequence[int]] | None = None) -> dict[str, dict]:
    """``{name: {"top1", "mean_class_accuracy", <group>: accuracy, ...}}`` for named score sets (streams and fusions).

    ``top1`` is the fraction of test videos classified right; each group entry is
    :func:`group_accuracy`. ``groups`` default to those of the first set's class names.

    Introduced in notebooks/05_two_stream_fusion.ipynb.
    """
    if not score_sets:
        raise ValueError("no score sets given")
    first = next(iter(score_sets.values()))
    groups = class_groups_of(first.class_names) if groups is None else groups
    table = {}
    for name, s in score_sets.items():
        m = _metrics(s.scores, s.labels, s.class_names)
        row = {"top1": float(m["top1"]), "mean_class_accuracy": float(m["mean_class_accuracy"])}
        row.update(group_accuracy(s, groups))
        table[name] = row
    return table


def format_accuracy_table(table: Mapping[str, Mapping[str, float]]) -> str:
    """The rows of :func:`accuracy_table` as text: one line per stream, one column per metric (percent)."""
    labels = {"top1": "top-1", "mean_class_accuracy": "mean class"}
    cols = list(next(iter(table.values())).keys()) if table else []
    width = max([10, *(len(n) for n in table)])
    head = f"{'stream':<{width}}" + "".join(f"  {labels.get(c, c)[:11]:>11}" for c in cols)
    lines = [head]
    for name, row in table.items():
        lines.append(f"{name:<{width}}" + "".join(f"  {100 * row[c]:>10.1f}%" for c in cols))
    return "\n".join(lines)

# ----------------------------------------------------------------------------------------------
# Command line: tsnlib fuse
# ----------------------------------------------------------------------------------------------


def add_fuse_arguments(parser) -> None:
    """Arguments of ``tsnlib fuse SCORES1 SCORES2 [...] --weights 1 1.5 [--softmax] [--out FUSED.npz]``."""
    parser.add_argument("scores", nargs="+", help="score files (.npz written by tsnlib test), one per stream")
    parser.add_argument("--weights", type=float, nargs="+", default=None,
                        help="one weight per file (default for two files: 1 1.5, the paper's RGB : flow)")
    parser.add_argument("--softmax", action="store_true", help="softmax each stream's scores before the weighted sum")
    parser.add_argument("--align", action="store_true", help="reorder the files by video id before fusing")
    parser.add_argument("--names", nargs="+", default=None, help="names of the streams (default: from the files)")
    parser.add_argument("--out", default=None, help="write the fused scores to this .npz file")


def format_metrics_table(rows: Sequence[tuple[str, dict]]) -> str:
    """``name  top-1  top-5  mean class accuracy`` lines (percent) for ``(name, evaluate_scores dict)`` rows."""
    width = max(12, *(len(n) for n, _ in rows))
    lines = [f"{'stream':<{width}}  {'top-1':>7}  {'top-5':>7}  {'mean class acc':>14}"]
    for name, m in rows:
        lines.append(f"{name:<{width}}  {100 * m['top1']:>6.2f}%  {100 * m['top5']:>6.2f}%  {100 * m['mean_class_accuracy']:>13.2f}%")
    return "\n".join(lines)


def cli_fuse(args) -> int:
    """``tsnlib fuse``: print top-1, top-5 and mean class accuracy of each stream and of the fusion."""
    ev = _ev
    sets = [ev.ScoreSet.load(p) for p in args.scores]
    if args.weights is None:
        if len(sets) != 2:
            raise SystemExit(f"tsnlib fuse: give --weights (one per file) for {len(sets)} files")
        weights = DEFAULT_WEIGHTS
    else:
        weights = tuple(args.weights)
    if args.names is not None and len(args.names) != len(sets):
        raise SystemExit(f"tsnlib fuse: {len(args.names)} --names for {len(sets)} files")
    if args.names:
        names = list(args.names)
    else:  # the stream named in the file (meta "name"/"stream"/"modality"), else the file name
        names = [_name_of(s, i) if _name_of(s, i) != f"set {i}" else Path(p).stem
                 for i, (s, p) in enumerate(zip(sets, args.scores))]
    try:
        fused = fuse_scores(sets, weights, softmax=args.softmax, align=args.align, names=names)
    except ValueError as exc:
        raise SystemExit(f"tsnlib fuse: {exc}") from None
    rows = [(n, _metrics(s.scores, s.labels, s.class_names)) for n, s in zip(names, sets)]
    label = "fusion " + ":".join(f"{w:g}" for w in weights) + (" (softmax)" if args.softmax else " (raw scores)")
    rows.append((label, _metrics(fused.scores, fused.labels, fused.class_names)))
    print(format_metrics_table(rows))
    if args.out:
        fused.save(args.out)
        print(f"wrote {args.out}")
    return 0

