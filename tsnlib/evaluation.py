"""The metrics by name, score files, and their figures.

Introduced in notebooks/03_train_rgb.ipynb; the score files are fused in
notebooks/05_two_stream_fusion.ipynb (:mod:`tsnlib.fusion`). The scores come from the test protocol
of :mod:`tsnlib.inference` (25 snippets × crops, averaged before any softmax); this module needs
only NumPy.

**Metrics**, pure NumPy functions named for what they compute (reports mix them up):

* :func:`top_k_accuracy`: fraction of videos whose true class is among the ``k`` best scores
  ("top-1" is the plain accuracy over videos, dominated by large classes);
* :func:`mean_class_accuracy`: the recall of each class, averaged over classes (what Caffe TSN and
  tsn-pytorch print as "Accuracy"; scikit-learn calls it ``balanced_accuracy_score``);
* :func:`per_class_accuracy`, :func:`confusion_matrix`, and :func:`evaluate_scores` for all of them;
* multi-label: :func:`average_precision` of one class (scikit-learn's definition),
  :func:`mean_average_precision` over the classes that have positives, listing the others, and
  :func:`map_by_category`, the mAP of each category of classes with a bootstrap interval, beside
  :func:`random_ranking_ap`, what random scores get.

Ties: a prediction is the **first** class with the highest score (``numpy.argmax``), and top-k
ranks tied classes by class index, so top-1 always equals the accuracy of the predictions.

**Score files** (:class:`ScoreSet`). ``ScoreSet.save(path)`` writes one ``.npz`` file (NumPy zip)
holding only plain arrays, never pickled objects:

* ``scores``: float32 ``(num_videos, num_classes)``, the averaged pre-softmax scores (logits);
* ``labels``: int64 ``(num_videos,)``, the true class, 0-based (-1: unknown);
* ``video_ids``: unicode ``(num_videos,)``, stable video names (e.g. ``v_ApplyEyeMakeup_g01_c01``);
* ``class_names``: unicode ``(num_classes,)``, class names in label order;
* ``meta_json``: unicode 0-d array holding a JSON object: ``modality``, ``protocol`` (e.g.
  ``"25x10"``), ``num_clips``, ``num_views``, ``amp``, ``max_views_per_forward``, and what the
  caller adds (``checkpoint``, ``config``, …);
* ``format_version``: int64 0-d, currently 1;
* optional ``clip_scores``: float32 ``(num_videos, num_clips, num_classes)``, each snippet's score
  after averaging the crops (per-segment timelines);
* optional ``frame_indices``: int64 ``(num_videos, num_clips, clip_len)``, the 0-based frames of
  each snippet;
* optional ``targets``: uint8 ``(num_videos, num_classes)``, multi-hot (multi-label runs: 1 where
  the video has the class; ``labels`` then holds each video's first class).

:meth:`ScoreSet.load` reads it with ``numpy.load(allow_pickle=False)``: a score file can never run
code, and a file holding pickled objects (an MMAction2 ``.pkl`` dump, or an ``.npz`` whose arrays
have ``dtype=object``, as NumPy writes for ragged lists of per-video arrays) is refused with a
:class:`~tsnlib.errors.DataError`. Any program can read the format::

    d = np.load("rgb_scores.npz"); scores, labels = d["scores"], d["labels"]
    meta = json.loads(str(d["meta_json"]))
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np

from tsnlib.errors import DataError
from tsnlib.plotting import STREAM_COLORS, setup_style

#: Version of the ``.npz`` score-file layout written by :meth:`ScoreSet.save`.
SCORE_FORMAT_VERSION = 1

_REQUIRED_ARRAYS = ("scores", "labels", "video_ids", "class_names", "meta_json")


# ----------------------------------------------------------------------------------------------
# Metrics (pure NumPy)
# ----------------------------------------------------------------------------------------------


def _as_scores(scores, who: str) -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"{who}: scores must be (num_videos, num_classes), got shape {s.shape}")
    if s.shape[0] == 0:
        raise ValueError(f"{who}: no videos to evaluate (scores of shape {s.shape})")
    if s.shape[1] == 0:
        raise ValueError(f"{who}: scores have no classes (shape {s.shape})")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise ValueError(f"{who}: scores must be real numbers, got dtype {s.dtype}")
    if np.isnan(s).any():
        row = int(np.argwhere(np.isnan(s))[0, 0])
        raise ValueError(f"{who}: scores contain NaN (first in video {row})")
    return s


def _as_labels(labels, n: int, num_classes: int, who: str, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"{who}: {name} must be ({n},) to match the scores, got shape {y.shape}")
    if n and not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{who}: {name} must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{who}: {name[:-1] if name.endswith('s') else name} {int(y[i])} of video {i} is outside 0..{num_classes - 1} "
            f"({bad.size} such video(s)); unlabelled videos (label -1) cannot be scored"
        )
    return y


def predictions(scores) -> np.ndarray:
    """Predicted class of each video: int64 ``(num_videos,)``, the first class with the highest score.

    ``scores``: ``(num_videos, num_classes)``. Used by :mod:`tsnlib.lessons`.
    """
    return _as_scores(scores, "predictions").argmax(axis=1).astype(np.int64)


def _ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0-based rank of the true class of each video; ties go to the lower class index."""
    true = scores[np.arange(len(labels)), labels][:, None]
    cls = np.arange(scores.shape[1])[None, :]
    higher = (scores > true).sum(axis=1)
    tied_before = ((scores == true) & (cls < labels[:, None])).sum(axis=1)
    return higher + tied_before


def wilson_interval(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` right out of ``n`` (a binomial proportion).

    ``(lo, hi)`` in [0, 1]; ``(0.0, 1.0)`` when ``n == 0``. Unlike the normal approximation
    ``p ± z sqrt(p(1-p)/n)`` it stays inside [0, 1] and is not zero-wide at 0 or n right, which
    matters on the course's ~20 test videos per class:

    $$ \\frac{p + z^2/2n \\pm z\\sqrt{p(1-p)/n + z^2/4n^2}}{1 + z^2/n}, \\qquad p = \\text{correct}/n. $$

    Used by :mod:`tsnlib.lessons` for every accuracy the course reports (the formula is
    derived in notebooks/03_train_rgb.ipynb).
    """
    correct, n = int(correct), int(n)
    if not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n, got {correct} of {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the bounds at 0 and n right are exactly 0 and 1 (centre - half would leave a rounding residue)
    lo = 0.0 if correct == 0 else max(0.0, centre - half)
    hi = 1.0 if correct == n else min(1.0, centre + half)
    return float(lo), float(hi)


def top_k_accuracy(scores, labels, k: int = 1) -> float:
    """Fraction of videos whose true class is among the ``k`` highest scores.

    ``scores``: ``(num_videos, num_classes)`` (logits or probabilities: same result);
    ``labels``: int ``(num_videos,)`` 0-based. Tied scores are ranked by class index (lower first),
    so ``top_k_accuracy(s, y, 1)`` equals the accuracy of :func:`predictions`. ``k`` larger than
    the number of classes counts as all classes (accuracy 1.0).

    Used by :func:`evaluate_scores`.
    """
    s = _as_scores(scores, "top_k_accuracy")
    y = _as_labels(labels, s.shape[0], s.shape[1], "top_k_accuracy")
    k = int(k)
    if k < 1:
        raise ValueError(f"top_k_accuracy: k must be >= 1, got {k}")
    return float((_ranks(s, y) < k).mean())


def _preds_and_labels(scores_or_preds, labels, num_classes, who: str) -> tuple[np.ndarray, np.ndarray, int]:
    arr = np.asarray(scores_or_preds)
    if arr.ndim == 2:
        s = _as_scores(arr, who)
        if num_classes is not None and int(num_classes) != s.shape[1]:
            raise ValueError(f"{who}: num_classes={num_classes} but the scores have {s.shape[1]} columns")
        n_cls = s.shape[1]
        preds = s.argmax(axis=1).astype(np.int64)
    elif arr.ndim == 1:
        if arr.size == 0:
            raise ValueError(f"{who}: no videos to evaluate")
        y_raw = np.asarray(labels)
        if num_classes is None:
            num_classes = int(max(arr.max(), y_raw.max() if y_raw.size else 0)) + 1
        n_cls = int(num_classes)
        preds = _as_labels(arr, arr.shape[0], n_cls, who, name="predictions")
    else:
        raise ValueError(f"{who}: expected scores (num_videos, num_classes) or predictions (num_videos,), "
                         f"got shape {arr.shape}")
    y = _as_labels(labels, preds.shape[0], n_cls, who)
    return preds, y, n_cls


def confusion_matrix(preds, labels, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class): int64 ``(num_classes, num_classes)``.

    Row ``i`` = videos whose true class is ``i``, column ``j`` = predicted ``j``; rows sum to the
    number of test videos of each class, the diagonal holds the correct ones. ``preds`` and
    ``labels``: int ``(num_videos,)``, 0-based (use :func:`predictions` to get ``preds`` from scores).

    Used by :func:`evaluate_scores`.
    """
    n = int(num_classes)
    if n < 1:
        raise ValueError(f"confusion_matrix: num_classes must be >= 1, got {num_classes}")
    p = np.asarray(preds)
    if p.ndim != 1:
        raise ValueError(f"confusion_matrix: preds must be (num_videos,), got shape {p.shape}")
    p = _as_labels(p, p.shape[0], n, "confusion_matrix", name="predictions")
    y = _as_labels(labels, p.shape[0], n, "confusion_matrix")
    return np.bincount(y * n + p, minlength=n * n).reshape(n, n).astype(np.int64)


def per_class_accuracy(scores, labels, num_classes: int | None = None) -> np.ndarray:
    """Recall of each class: float64 ``(num_classes,)``, ``#correct_c / #videos_c``; NaN for a class without videos.

    ``scores``: ``(num_videos, num_classes)`` scores, or int ``(num_videos,)`` predictions (then
    ``num_classes`` defaults to the largest class seen + 1). ``labels``: int ``(num_videos,)``.

    Used by :func:`evaluate_scores` and :mod:`tsnlib.fusion`.
    """
    preds, y, n = _preds_and_labels(scores, labels, num_classes, "per_class_accuracy")
    total = np.bincount(y, minlength=n).astype(np.float64)
    correct = np.bincount(y[preds == y], minlength=n).astype(np.float64)
    out = np.full(n, np.nan)
    np.divide(correct, total, out=out, where=total > 0)
    return out


def mean_class_accuracy(scores, labels, num_classes: int | None = None) -> float:
    """Mean over classes of the per-class recall, over the classes that have test videos.

    ``mean_c #correct_c / #videos_c`` (the paper's and Caffe TSN's "accuracy"; MMAction2's
    ``mean_class_accuracy``). Inputs as :func:`per_class_accuracy`.

    A class with **no ground-truth video** has no recall; we leave it out of the mean. MMAction2
    scores such a class 0 when it is predicted (so the mean depends on which absent classes the
    model happens to predict), and Caffe TSN / tsn-pytorch divide 0 by 0 and print NaN. Leaving it
    out is the only choice that measures the videos actually tested; its false positives still
    count, since they are misses of the true classes of those videos. On a full UCF101/HMDB51
    test split every class has videos and the three agree; on small notebook subsets they do not.
    The same choice as scikit-learn's ``balanced_accuracy_score`` (the tests check they agree).

    Introduced in notebooks/03_train_rgb.ipynb.
    """
    per = per_class_accuracy(scores, labels, num_classes)
    return float(np.nanmean(per))  # at least one class has videos: there is at least one video


def evaluate_scores(scores, labels, class_names: Sequence[str] | None = None) -> dict:
    """All the metrics of a test run, from scores ``(num_videos, num_classes)`` and labels ``(num_videos,)``.

    Returns a dict:

    * ``"top1"``, ``"top5"`` (float in [0, 1]; top-5 counts all classes when there are fewer than 5),
    * ``"mean_class_accuracy"`` (float, classes without videos left out, see :func:`mean_class_accuracy`),
    * ``"per_class"`` (float64 ``(num_classes,)``, NaN for classes without videos),
    * ``"confusion"`` (int64 ``(num_classes, num_classes)``, rows = true, columns = predicted),
    * ``"num_videos"``, ``"num_classes"``, ``"num_classes_present"`` (ints),
    * ``"class_names"`` (list of str; ``"0"``, ``"1"``, … when not given).

    Introduced in notebooks/03_train_rgb.ipynb; used by :mod:`tsnlib.fusion`.
    """
    s = _as_scores(scores, "evaluate_scores")
    y = _as_labels(labels, s.shape[0], s.shape[1], "evaluate_scores")
    n = s.shape[1]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"evaluate_scores: {len(names)} class names for scores with {n} classes")
    per = per_class_accuracy(s, y)
    return {
        "top1": top_k_accuracy(s, y, 1),
        "top5": top_k_accuracy(s, y, min(5, n)),
        "mean_class_accuracy": float(np.nanmean(per)),
        "per_class": per,
        "confusion": confusion_matrix(s.argmax(axis=1), y, n),
        "num_videos": int(s.shape[0]),
        "num_classes": int(n),
        "num_classes_present": int(np.isfinite(per).sum()),
        "class_names": names,
    }


def format_metrics(metrics: dict, name: str | None = None) -> str:
    """One line naming each metric explicitly, e.g. ``rgb 25x10: top-1 85.2% | top-5 97.0% | mean class 84.9% (3783 videos)``."""
    head = f"{name}: " if name else ""
    return (
        f"{head}top-1 {100 * metrics['top1']:.2f}% | top-5 {100 * metrics['top5']:.2f}% | "
        f"mean class accuracy {100 * metrics['mean_class_accuracy']:.2f}% "
        f"({metrics.get('num_videos', '?')} videos, {metrics.get('num_classes_present', '?')} classes with videos)"
    )


def softmax(scores, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: float ``(..., num_classes)`` → float32 probabilities summing to 1 on ``axis``."""
    x = np.asarray(scores, dtype=np.float64)
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def sigmoid(scores) -> np.ndarray:
    """Logistic function, element-wise: float ``(..., num_classes)`` → float32 probabilities in (0, 1).

    What a multi-label model's logits mean: each class on its own, ``p = 1 / (1 + exp(-s))``
    (the probabilities of one video do not sum to 1). Introduced in notebooks/07_multi_label.ipynb.
    """
    x = np.asarray(scores, dtype=np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)  # = 1 / (1 + e^-x), without overflow


# ----------------------------------------------------------------------------------------------
# Multi-label metrics: average precision of each class, and its mean over classes
# ----------------------------------------------------------------------------------------------


def _as_targets(targets, shape: tuple, who: str) -> np.ndarray:
    t = np.asarray(targets)
    if t.shape != tuple(shape):
        raise ValueError(f"{who}: targets must be multi-hot {tuple(shape)} to match the scores, got shape {t.shape}")
    if t.dtype != bool and (not np.issubdtype(t.dtype, np.number) or not np.isin(t, (0, 1)).all()):
        raise ValueError(f"{who}: targets must be multi-hot, 0 or 1 in every cell (soft targets have no average "
                         "precision)")
    return t.astype(np.int64)


def average_precision(scores, targets) -> float:
    """Average precision of one class: the area under its precision-recall curve, as scikit-learn defines it.

    ``scores``: ``(num_videos,)`` the class's scores (logits or probabilities: only their order
    counts); ``targets``: ``(num_videos,)`` 1 where the video has the class, else 0. Rank the
    videos by decreasing score; at each distinct score ``t`` (videos tied at ``t`` enter together)
    the videos scoring at least ``t`` give the precision ``P(t) = TP / (TP + FP)`` and the recall
    ``R(t) = TP / #positives``, and

    $$ \\mathrm{AP} = \\sum_t \\big(R(t) - R(t_{\\text{previous}})\\big)\\, P(t), \\qquad R = 0 \\text{ before the first } t, $$

    a sum of steps, neither the trapezoid (optimistic) nor VOC's interpolated precision:
    ``sklearn.metrics.average_precision_score``. NaN when the class has no positive video (its
    recall is undefined). Introduced in notebooks/07_multi_label.ipynb.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"average_precision: scores must be (num_videos,), got shape {s.shape}")
    y = _as_targets(targets, s.shape, "average_precision")
    positives = int(y.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last video of each run of tied scores
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1.0)
    recall = tp / positives
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def mean_average_precision(scores, targets, class_names: Sequence[str] | None = None) -> dict:
    """mAP of a multi-label test: the average precision of each class, averaged over the classes with positives.

    ``scores``: ``(num_videos, num_classes)`` (a multi-label model's averaged logits; the sigmoid
    would give the same values, since AP depends only on the order of one class's scores);
    ``targets``: multi-hot ``(num_videos, num_classes)``, 1 where the video has the class.

    A class that **no video has** (no positive) has no recall, so no AP. It is left out of the mean
    and *listed*, never dropped in silence: ``tsnlib test`` and the trainer print the list
    (:func:`format_map`). MMAction2's ``mean_average_precision`` drops such classes without a word;
    scikit-learn's ``average_precision_score(..., average="macro")`` counts them as AP 0 (with a
    warning), so its mean is lower by the share of such classes. On a full test split every class has
    positives and the three agree.

    Returns ``{"mAP"`` (float; NaN when no class has a positive), ``"per_class_ap"`` (float64
    ``(num_classes,)``, NaN for the classes without positives), ``"classes_without_positives"``
    (list of int), ``"names_without_positives"`` (list of str), ``"num_videos"``,
    ``"num_classes"``, ``"num_classes_with_positives"``, ``"class_names"}``.
    Introduced in notebooks/07_multi_label.ipynb.
    """
    s = _as_scores(scores, "mean_average_precision")
    y = _as_targets(targets, s.shape, "mean_average_precision")
    n = s.shape[1]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"mean_average_precision: {len(names)} class names for scores with {n} classes")
    per = np.array([average_precision(s[:, c], y[:, c]) for c in range(n)], dtype=np.float64)
    missing = [int(c) for c in np.flatnonzero(np.isnan(per))]
    return {
        "mAP": float(np.mean(per[np.isfinite(per)])) if len(missing) < n else float("nan"),
        "per_class_ap": per,
        "classes_without_positives": missing,
        "names_without_positives": [names[c] for c in missing],
        "num_videos": int(s.shape[0]),
        "num_classes": int(n),
        "num_classes_with_positives": int(n - len(missing)),
        "class_names": names,
    }


def format_map(metrics: dict, name: str | None = None, max_listed: int = 20) -> str:
    """One line for :func:`mean_average_precision`: the mAP, over how many classes, and the classes left out.

    E.g. ``hvu 25x3: mAP 41.27% over 5 classes with positives (60 videos); 1 class without positives, left
    out of the mean: Surfing``. Introduced in notebooks/07_multi_label.ipynb.
    """
    head = f"{name}: " if name else ""
    line = (f"{head}mAP {100 * metrics['mAP']:.2f}% over {metrics['num_classes_with_positives']} classes with "
            f"positives ({metrics['num_videos']} videos)")
    missing = list(metrics["names_without_positives"])
    if missing:
        shown = ", ".join(missing[:max_listed]) + (f", ... ({len(missing) - max_listed} more)"
                                                     if len(missing) > max_listed else "")
        line += (f"; {len(missing)} class{'es' if len(missing) > 1 else ''} without positives, left out of the "
                 f"mean: {shown}")
    return line


def random_ranking_ap(num_positives: int, num_videos: int) -> float:
    """The expected average precision of a random ranking of ``num_videos`` videos, ``num_positives`` of them positive.

    A positive video at rank ``r`` (each rank equally likely) has each of the other ``P - 1`` positives
    above it with probability ``(r - 1) / (N - 1)``, so its expected precision is
    ``(1 + (P - 1)(r - 1) / (N - 1)) / r``; averaged over ``r``,

    $$ \\mathbb{E}[\\mathrm{AP}] = \\frac{P - 1}{N - 1} + \\frac{N - P}{N (N - 1)} \\sum_{r=1}^{N} \\frac{1}{r}, $$

    which tends to the positive rate ``P / N`` as ``N`` grows, from above (0.369 for 4 positives in 16 videos,
    0.274 for 36 in 144, against 0.25). NaN without a positive. Introduced in notebooks/07_multi_label.ipynb.
    """
    p, n = int(num_positives), int(num_videos)
    if not 0 <= p <= n:
        raise ValueError(f"random_ranking_ap: need 0 <= num_positives <= num_videos, got {p} of {n}")
    if p == 0:
        return float("nan")
    if p == n:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    return (p - 1) / (n - 1) + harmonic * (n - p) / (n * (n - 1))


def map_by_category(scores, targets, class_names: Sequence[str], categories: Mapping[str, str],
                    num_samples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """The mAP of each category of classes, as MMAction2's HVU table reports it, with a bootstrap interval.

    ``scores``, ``targets``: ``(num_videos, num_classes)`` as for :func:`mean_average_precision`;
    ``class_names``: ``(num_classes,)``; ``categories``: ``{class name: category}`` covering every
    class (HVU's ``Tag,Category`` file, :func:`tsnlib.synthetic_tags.read_tag_categories`). A
    category's mAP is the mean AP of its classes with positives.

    The interval is a percentile bootstrap over the **videos**: ``num_samples`` resamples of the
    ``num_videos`` rows with replacement (the same resamples for every category, drawn from
    ``seed``), the category's mAP on each, and the central ``level`` share of them. It says how much
    the number would move on another test set of the same size from the same source.

    ``chance`` is what random scores get: the mean over the category's classes with positives of
    :func:`random_ranking_ap`, the expected AP of a random ranking, which is about the class's
    positive rate (its share of videos; ``positive_rate``) and slightly above it on few videos.

    Returns ``{category: {"mAP", "interval": [lo, hi], "chance", "classes": [names],
    "per_class_ap": [...], "chance_per_class": [...], "positive_rate": [...]}}``, the categories in
    their first class's order.
    Introduced in notebooks/07_multi_label.ipynb.
    """
    s = _as_scores(scores, "map_by_category")
    y = _as_targets(targets, s.shape, "map_by_category")
    names = [str(c) for c in class_names]
    if len(names) != s.shape[1]:
        raise ValueError(f"map_by_category: {len(names)} class names for scores with {s.shape[1]} classes")
    missing = [n for n in names if n not in categories]
    if missing:
        raise ValueError(f"map_by_category: no category for the class(es) {missing[:5]}")
    groups: dict[str, list[int]] = {}
    for c, name in enumerate(names):
        groups.setdefault(str(categories[name]), []).append(c)
    per = mean_average_precision(s, y)["per_class_ap"]
    rng = np.random.default_rng(seed)
    n = s.shape[0]
    boot = np.empty((int(num_samples), s.shape[1]))
    for b in range(int(num_samples)):
        rows = rng.integers(0, n, n)
        boot[b] = [average_precision(s[rows, c], y[rows, c]) for c in range(s.shape[1])]
    tail = (1 - float(level)) / 2
    out = {}
    for category, cols in groups.items():
        ap = per[cols]
        chance = [random_ranking_ap(int(y[:, c].sum()), n) for c in cols]
        with warnings.catch_warnings():  # a resample without a positive of any class of the category: left out
            warnings.simplefilter("ignore", RuntimeWarning)
            draws = np.nanmean(boot[:, cols], axis=1)
        draws = draws[np.isfinite(draws)]
        lo, hi = np.quantile(draws, [tail, 1 - tail]) if len(draws) else (np.nan, np.nan)
        out[category] = {"mAP": float(np.mean(ap[np.isfinite(ap)])) if np.isfinite(ap).any() else float("nan"),
                         "interval": [float(lo), float(hi)],
                         "chance": float(np.nanmean(chance)) if np.isfinite(chance).any() else float("nan"),
                         "classes": [names[c] for c in cols], "per_class_ap": [float(a) for a in ap],
                         "chance_per_class": chance, "positive_rate": [float(r) for r in y[:, cols].mean(axis=0)]}
    return out


# ----------------------------------------------------------------------------------------------
# Score sets and score files
# ----------------------------------------------------------------------------------------------


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "is_floating_point") and hasattr(obj, "itemsize"):  # a torch.dtype
        return str(obj)
    raise TypeError(f"ScoreSet.meta values must be JSON data (str, number, bool, list, dict), got {type(obj).__name__}")


@dataclasses.dataclass(eq=False)
class ScoreSet:
    """The video-level scores of one test run, with what is needed to evaluate and fuse them.

    What :func:`tsnlib.experiment.test_checkpoint` returns and ``tsnlib test`` saves; fused by
    :mod:`tsnlib.fusion`.

    * ``scores``: float32 ``(num_videos, num_classes)``, the averaged pre-softmax scores;
    * ``labels``: int64 ``(num_videos,)``, 0-based true classes (-1 when unknown);
    * ``video_ids``: ``list[str]`` of ``num_videos`` stable names (fusion matches streams on them);
    * ``class_names``: ``list[str]`` of ``num_classes`` names in label order;
    * ``meta``: JSON-able dict, e.g. ``{"modality": "RGB", "protocol": "25x10", "checkpoint": …,
      "config": …}``;
    * ``clip_scores`` (optional): float32 ``(num_videos, num_clips, num_classes)``, the score of each
      snippet after averaging the crops (the per-segment timeline of a video);
    * ``frame_indices`` (optional): int64 ``(num_videos, num_clips, clip_len)``, the 0-based frames
      each snippet was built from;
    * ``targets`` (optional, multi-label runs): uint8 ``(num_videos, num_classes)``, multi-hot, 1 where
      the video has the class (``labels`` then holds each video's first class, -1 for none). A set
      with targets, or with ``meta["multi_label"]`` true, is multi-label (:attr:`multi_label`):
      its scores are averaged logits for a sigmoid, it is evaluated by mAP and its probabilities
      are sigmoids.

    Saved to and loaded from one ``.npz`` file (:meth:`save`, :meth:`load`; format in the module
    docstring), or a readable per-video table (:meth:`to_csv`).
    """

    scores: np.ndarray
    labels: np.ndarray
    video_ids: list
    class_names: list
    meta: dict = dataclasses.field(default_factory=dict)
    clip_scores: np.ndarray | None = None
    frame_indices: np.ndarray | None = None
    targets: np.ndarray | None = None

    def __post_init__(self):
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if self.scores.ndim != 2:
            raise ValueError(f"ScoreSet.scores must be (num_videos, num_classes), got shape {self.scores.shape}")
        n, c = self.scores.shape
        self.labels = np.asarray(self.labels).astype(np.int64).reshape(-1) if np.size(self.labels) else np.zeros(0, np.int64)
        self.video_ids = [str(v) for v in self.video_ids]
        self.class_names = [str(v) for v in self.class_names]
        self.meta = dict(self.meta or {})
        if len(self.labels) != n or len(self.video_ids) != n:
            raise ValueError(
                f"ScoreSet: {n} score rows, {len(self.labels)} labels and {len(self.video_ids)} video ids; they must match"
            )
        if len(self.class_names) != c:
            raise ValueError(f"ScoreSet: {len(self.class_names)} class names for {c} score columns")
        if self.clip_scores is not None:
            self.clip_scores = np.asarray(self.clip_scores, dtype=np.float32)
            if self.clip_scores.ndim != 3 or self.clip_scores.shape[0] != n or self.clip_scores.shape[2] != c:
                raise ValueError(f"ScoreSet.clip_scores must be ({n}, num_clips, {c}), got {self.clip_scores.shape}")
        if self.frame_indices is not None:
            self.frame_indices = np.asarray(self.frame_indices, dtype=np.int64)
            if self.frame_indices.ndim != 3 or self.frame_indices.shape[0] != n:
                raise ValueError(f"ScoreSet.frame_indices must be ({n}, num_clips, clip_len), got {self.frame_indices.shape}")
        if self.targets is not None:
            self.targets = _as_targets(self.targets, (n, c), "ScoreSet.targets").astype(np.uint8)

    # -- views ----------------------------------------------------------------------------------
    @property
    def num_videos(self) -> int:
        return int(self.scores.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.scores.shape[1])

    @property
    def predictions(self) -> np.ndarray:
        """int64 ``(num_videos,)``: the first class with the highest score."""
        return self.scores.argmax(axis=1).astype(np.int64)

    @property
    def multi_label(self) -> bool:
        """Whether the scores are a multi-label model's (targets stored, or ``meta["multi_label"]``)."""
        return self.targets is not None or bool(self.meta.get("multi_label"))

    def probabilities(self) -> np.ndarray:
        """float32 ``(num_videos, num_classes)`` for display: softmax of the averaged scores, sigmoid when multi-label."""
        return sigmoid(self.scores) if self.multi_label else softmax(self.scores)

    def evaluate(self) -> dict:
        """:func:`evaluate_scores` of this set (every label must be known); :func:`mean_average_precision`
        when it has multi-hot targets."""
        if self.targets is not None:
            return mean_average_precision(self.scores, self.targets, self.class_names)
        if self.multi_label:
            raise DataError("a multi-label score set without targets cannot be evaluated (scores of unlabelled videos)")
        return evaluate_scores(self.scores, self.labels, self.class_names)

    def __repr__(self) -> str:
        extra = f", clip_scores={self.clip_scores.shape}" if self.clip_scores is not None else ""
        return (f"ScoreSet({self.num_videos} videos × {self.num_classes} classes, "
                f"meta={json.dumps(self.meta, default=_json_default)[:200]}{extra})")

    # -- files ------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the ``.npz`` score file (layout in the module docstring) and return its path.

        The file is written under a temporary name and renamed, so a crash never leaves half a
        file. ``path`` is used as given (NumPy would silently append ``.npz`` otherwise).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta_json = json.dumps(self.meta, default=_json_default, sort_keys=True)
        arrays = {
            "scores": self.scores.astype(np.float32),
            "labels": self.labels.astype(np.int64),
            "video_ids": np.array(self.video_ids, dtype=np.str_).reshape(-1),
            "class_names": np.array(self.class_names, dtype=np.str_).reshape(-1),
            "meta_json": np.array(meta_json, dtype=np.str_),
            "format_version": np.array(SCORE_FORMAT_VERSION, dtype=np.int64),
        }
        if self.clip_scores is not None:
            arrays["clip_scores"] = self.clip_scores.astype(np.float32)
        if self.frame_indices is not None:
            arrays["frame_indices"] = self.frame_indices.astype(np.int64)
        if self.targets is not None:
            arrays["targets"] = self.targets.astype(np.uint8)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def load(cls, path) -> "ScoreSet":
        """Read a score file written by :meth:`save`; never unpickles anything.

        Raises :class:`~tsnlib.errors.DataError` naming the file when it is missing, not an
        ``.npz`` archive, lacks an array, holds pickled objects, or has inconsistent shapes.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError("score file not found", path=path)
        try:
            archive = np.load(path, allow_pickle=False)
        except ValueError as exc:  # neither .npz nor .npy: NumPy would have to unpickle it (e.g. a .pkl dump)
            raise DataError(
                "not a tsnlib score file: it is neither an .npz archive nor a .npy array, so NumPy would have to "
                "unpickle it (e.g. an MMAction2 --dump .pkl), which tsnlib never does because unpickling can run "
                f"arbitrary code ({exc})", path=path
            ) from None
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DataError(f"cannot read the score file ({exc})", path=path) from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError("not a tsnlib score file: expected an .npz archive, found a single .npy array", path=path)
        with archive:
            missing = [k for k in _REQUIRED_ARRAYS if k not in archive.files]
            if missing:
                raise DataError(
                    f"not a tsnlib score file: missing array(s) {missing} (it has {sorted(archive.files)}); "
                    "write score files with ScoreSet.save", path=path
                )
            data = {}
            for key in archive.files:
                try:
                    data[key] = archive[key]
                except ValueError as exc:
                    raise DataError(
                        f"array {key!r} holds pickled Python objects (dtype=object); tsnlib refuses to unpickle it "
                        f"because a score file must never run code. Re-save it with plain numeric/str arrays "
                        f"(ScoreSet.save) ({exc})", path=path
                    ) from None
        version = int(data["format_version"]) if "format_version" in data else SCORE_FORMAT_VERSION
        if version > SCORE_FORMAT_VERSION:
            raise DataError(f"score file format version {version} is newer than this tsnlib ({SCORE_FORMAT_VERSION})",
                            path=path)
        try:
            meta = json.loads(str(data["meta_json"]))
        except json.JSONDecodeError as exc:
            raise DataError(f"meta_json is not valid JSON ({exc})", path=path) from None
        if not isinstance(meta, dict):
            raise DataError(f"meta_json must hold a JSON object, found {type(meta).__name__}", path=path)
        for key in ("video_ids", "class_names"):
            if data[key].dtype.kind not in "U" and data[key].size:
                raise DataError(f"array {key!r} must be unicode strings, found dtype {data[key].dtype}", path=path)
        try:
            return cls(
                scores=data["scores"],
                labels=data["labels"],
                video_ids=data["video_ids"].reshape(-1).tolist(),
                class_names=data["class_names"].reshape(-1).tolist(),
                meta=meta,
                clip_scores=data.get("clip_scores"),
                frame_indices=data.get("frame_indices"),
                targets=data.get("targets"),
            )
        except ValueError as exc:
            raise DataError(f"inconsistent score file: {exc}", path=path) from None

    def to_csv(self, path, topk: int = 5) -> Path:
        """Write one row per video: ``video_id, label, class_name, predicted, predicted_name, correct,
        score, top5, top5_scores`` (``top5``: ``;``-separated class names, best first; scores are the
        averaged pre-softmax scores). Returns the path. Unknown labels (-1) leave ``class_name`` empty.
        A multi-label set with targets lists every true class in ``class_name`` (``;``-separated) and
        counts a video ``correct`` when its best class is one of them.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        k = max(1, min(int(topk), self.num_classes))
        # stable descending order: ties keep the lower class index first, as predictions do
        order = np.argsort(-self.scores, axis=1, kind="stable")[:, :k]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["video_id", "label", "class_name", "predicted", "predicted_name", "correct", "score",
                        f"top{k}", f"top{k}_scores"])
            for i in range(self.num_videos):
                y = int(self.labels[i])
                p = int(order[i, 0])
                true = (np.flatnonzero(self.targets[i]).tolist() if self.targets is not None
                        else [y] if 0 <= y < self.num_classes else [])
                w.writerow([
                    self.video_ids[i], y, ";".join(self.class_names[t] for t in true),
                    p, self.class_names[p], int(p in true), f"{self.scores[i, p]:.6g}",
                    ";".join(self.class_names[j] for j in order[i]),
                    ";".join(f"{self.scores[i, j]:.6g}" for j in order[i]),
                ])
        return path


# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------


def plot_confusion_matrix(cm, class_names: Sequence[str], normalize: bool = True, title: str | None = None,
                          max_labels: int = 40):
    """Draw a confusion matrix (rows = true class, columns = predicted) and return the figure.

    ``cm``: ``(num_classes, num_classes)`` counts from :func:`confusion_matrix`. ``normalize``
    divides each row by its number of videos (the diagonal is then the per-class accuracy; a class
    without videos stays 0). Class names label the axes up to ``max_labels`` classes, cell values
    are written up to 12 classes. Introduced in notebooks/03_train_rgb.ipynb.
    """
    import matplotlib.pyplot as plt  # matplotlib only when a figure is drawn: the metrics need NumPy alone

    setup_style()
    m = np.asarray(cm, dtype=np.float64)
    n = m.shape[0]
    if m.shape != (n, n) or len(class_names) != n:
        raise ValueError(f"confusion matrix {m.shape} and {len(class_names)} class names do not match")
    if normalize:
        rows = m.sum(axis=1, keepdims=True)
        m = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    side = min(12.0, max(4.0, 0.22 * n + 2.5))
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalize else None, interpolation="nearest")
    ax.grid(False)
    if n <= max_labels:
        ax.set_xticks(range(n), [str(c) for c in class_names], rotation=90, fontsize=8 if n <= 20 else 6)
        ax.set_yticks(range(n), [str(c) for c in class_names], fontsize=8 if n <= 20 else 6)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    ax.text(j, i, f"{m[i, j]:.2f}" if normalize else f"{int(m[i, j])}", ha="center", va="center",
                            fontsize=7, color="white" if m[i, j] > 0.6 * (m.max() or 1) else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or ("confusion matrix (rows normalised)" if normalize else "confusion matrix (counts)"))
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "videos")
    return fig


def plot_per_class_accuracy(per_class, class_names: Sequence[str], color: str | None = None, sort: bool = True,
                            title: str | None = None):
    """Horizontal bars of each class's accuracy, with the mean class accuracy as a dashed line.

    ``per_class``: float ``(num_classes,)`` from :func:`per_class_accuracy` (NaN = no test video:
    drawn as a grey "no videos" mark, left out of the mean). ``sort`` puts the worst classes at the
    top. ``color`` defaults to the RGB stream's colour (``STREAM_COLORS``). Returns the figure.
    Introduced in notebooks/03_train_rgb.ipynb.
    """
    import matplotlib.pyplot as plt  # matplotlib only when a figure is drawn: the metrics need NumPy alone

    setup_style()
    acc = np.asarray(per_class, dtype=np.float64)
    if acc.ndim != 1 or len(acc) != len(class_names):
        raise ValueError(f"{acc.shape} accuracies and {len(class_names)} class names do not match")
    order = np.arange(len(acc))
    if sort:
        order = np.argsort(np.where(np.isnan(acc), np.inf, acc), kind="stable")
    n = len(acc)
    fig, ax = plt.subplots(figsize=(7.0, max(2.0, 0.18 * n + 1.0)))
    y = np.arange(n)[::-1]
    vals = acc[order]
    ax.barh(y, np.nan_to_num(vals, nan=0.0), color=color or STREAM_COLORS["rgb"], height=0.75)
    for yy, v in zip(y, vals):
        if np.isnan(v):
            ax.text(0.01, yy, "no videos", va="center", fontsize=7, color="0.5")
    if np.isfinite(acc).any():
        mean = float(np.nanmean(acc))
        ax.axvline(mean, color="0.2", ls="--", lw=1.0, label=f"mean class accuracy {100 * mean:.1f}%")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [str(class_names[i]) for i in order], fontsize=8 if n <= 30 else 5)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("accuracy (recall of the class)")
    ax.grid(axis="y", visible=False)
    ax.set_title(title or "per-class accuracy")
    return fig
