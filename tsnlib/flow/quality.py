"""How good a flow method is: end-point errors against the synthetic set's true motion, and its speed.

Part of :mod:`tsnlib.flow`, which notebooks/04_optical_flow_stream.ipynb introduces
(as ``flow.<name>``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence

import numpy as np

from tsnlib.decoding import open_video
from tsnlib.errors import DataError
from tsnlib.flow.estimation import FlowEstimator, FlowUnavailableError, available_flow_methods
from tsnlib.flow.quantization import DEFAULT_BOUND, dequantize_flow, quantize_flow
from tsnlib.synthetic import actor_mask, load_truth, true_flow, true_flow_mask


def endpoint_error(flow: np.ndarray, true_flow: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean end-point error in pixels: ``mean ||flow - true_flow||_2`` over pixels (``mask`` True ones).

    ``flow``, ``true_flow``: float ``(H, W, 2)``; ``mask``: bool ``(H, W)`` or None (all pixels).

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    flow = np.asarray(flow, dtype=np.float64)
    true_flow = np.asarray(true_flow, dtype=np.float64)
    if flow.shape != true_flow.shape or flow.shape[-1] != 2:
        raise ValueError(f"flow {flow.shape} and true flow {true_flow.shape} must both be (H, W, 2)")
    err = np.sqrt(((flow - true_flow) ** 2).sum(axis=-1))
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != err.shape:
            raise ValueError(f"mask {mask.shape} does not match flow {err.shape[:2]}")
        if not mask.any():
            raise ValueError("mask selects no pixel")
        err = err[mask]
    return float(err.mean())


def score_flow_methods(
    video_paths: Sequence[str | os.PathLike],
    methods: Sequence[str] | None = None,
    max_pairs: int | None = 20,
    bound: float = DEFAULT_BOUND,
    method_options: dict[str, dict] | None = None,
) -> list[dict]:
    """Speed and accuracy of flow methods on synthetic videos, whose true flow is known.

    For each method, the first ``max_pairs`` consecutive frame pairs of each video (``None``: all)
    are decoded at their stored size (never resized: the truth is in the stored frames' pixels),
    flow is computed and compared with :func:`tsnlib.synthetic.true_flow`. The error is averaged
    over the pixels where the truth can be checked against the images
    (:func:`tsnlib.synthetic.true_flow_mask`: not on a layer edge, not occluded, not leaving the
    frame) and, as ``epe_all``, over every pixel. Returns one dict per method:

    ``method``, ``pairs`` (number scored), ``pairs_per_s`` (flow computation only, in this process,
    no decoding), ``epe`` (mean end-point error in pixels, checkable pixels), ``epe_quantized``
    (the same after quantise -> dequantise with ``bound``: what the network sees), ``epe_all``
    (all pixels), ``epe_zero`` (error of predicting no motion, the baseline to beat),
    ``epe_actor`` / ``epe_actor_zero`` (the same two on the checkable pixels of the actor alone,
    :func:`tsnlib.synthetic.actor_mask`; the whole-frame numbers are dominated by the slowly
    drifting, weakly textured background, the actor is what the classes are about; pairs without a
    visible actor are left out) and ``note`` (why a method was not run; its numbers are NaN).
    ``methods=None``: every method of :func:`available_flow_methods` that can run here.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    if methods is None:
        methods = [m for m, ok in available_flow_methods().items() if ok is True]
    method_options = method_options or {}

    # decode once, share between methods
    clips = []
    for path in video_paths:
        truth = load_truth(path)
        reader = open_video(path)
        n = int(reader.num_frames)
        pairs = n - 1 if max_pairs is None else min(n - 1, int(max_pairs))
        if pairs < 1:
            continue
        frames = np.asarray(reader.get_frames(np.arange(pairs + 1)))
        truths = []
        for t in range(pairs):
            tf = np.asarray(true_flow(truth, t), dtype=np.float32)
            if tf.shape != frames.shape[1:3] + (2,):
                raise DataError(
                    f"true flow of frame {t} has shape {tf.shape} but the decoded frames are {frames.shape[1:3]}: "
                    "score flow at the stored size", path=path)
            mask = np.asarray(true_flow_mask(truth, t), dtype=bool)
            actor = mask & np.asarray(actor_mask(truth, t), dtype=bool)
            truths.append((tf, mask if mask.any() else None, actor if actor.any() else None))
        clips.append((frames, truths))

    rows = []
    for method in methods:
        row = {"method": method, "pairs": 0, "pairs_per_s": math.nan, "epe": math.nan, "epe_quantized": math.nan,
               "epe_all": math.nan, "epe_zero": math.nan, "epe_actor": math.nan, "epe_actor_zero": math.nan,
               "note": ""}
        try:
            est = FlowEstimator(method, **method_options.get(method, {}))
        except (FlowUnavailableError, ImportError) as exc:
            row["note"] = str(exc)
            rows.append(row)
            continue
        elapsed = 0.0
        errs: dict[str, list[float]] = {"epe": [], "epe_quantized": [], "epe_all": [], "epe_zero": [],
                                        "epe_actor": [], "epe_actor_zero": []}
        for frames, truths in clips:
            for t, (tf, mask, actor) in enumerate(truths):
                start = time.perf_counter()
                flow = est(frames[t], frames[t + 1])
                elapsed += time.perf_counter() - start
                errs["epe"].append(endpoint_error(flow, tf, mask))
                errs["epe_quantized"].append(endpoint_error(dequantize_flow(quantize_flow(flow, bound), bound), tf, mask))
                errs["epe_all"].append(endpoint_error(flow, tf))
                errs["epe_zero"].append(endpoint_error(np.zeros_like(tf), tf, mask))
                if actor is not None:
                    errs["epe_actor"].append(endpoint_error(flow, tf, actor))
                    errs["epe_actor_zero"].append(endpoint_error(np.zeros_like(tf), tf, actor))
        if errs["epe"]:
            row.update({k: float(np.mean(v)) if v else math.nan for k, v in errs.items()})
            row.update(pairs=len(errs["epe"]), pairs_per_s=len(errs["epe"]) / max(elapsed, 1e-9))
        rows.append(row)
    return rows


def format_flow_scores(rows: Sequence[dict]) -> str:
    """The rows of :func:`score_flow_methods` as a plain-text table (errors in pixels).

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    lines = [f"{'method':<10} {'pairs':>5} {'pairs/s':>9} {'EPE':>7} {'EPE quant':>9} {'EPE all px':>10} {'EPE zero':>8} "
             f"{'actor EPE':>9} {'actor zero':>10}  note"]
    for r in rows:
        lines.append(
            f"{r['method']:<10} {r['pairs']:>5} {r['pairs_per_s']:>9.1f} {r['epe']:>7.3f} {r['epe_quantized']:>9.3f} "
            f"{r['epe_all']:>10.3f} {r['epe_zero']:>8.3f} {r.get('epe_actor', math.nan):>9.3f} "
            f"{r.get('epe_actor_zero', math.nan):>10.3f}  {r.get('note', '')[:60]}"
        )
    return "\n".join(lines)
