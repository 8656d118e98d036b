"""A number to go with the pictures: how much of a heatmap falls on the synthetic actor.

:func:`cam_mass_in_box` gives the share of a heatmap's mass inside a box, against the box's share
of the area the network saw (what a uniform heatmap would get); :func:`cam_box_scores` measures it
over many synthetic videos with the generator's actor boxes (:func:`tsnlib.synthetic.load_truth`);
:func:`plot_mass_vs_share` plots one point per frame. The formula is derived in
notebooks/06_model_visualization.ipynb, section 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from tsnlib.plotting import STREAM_COLORS
from tsnlib.synthetic import load_truth
from tsnlib.visualization.explain import explain_video
from tsnlib.visualization.geometry import box_is_empty


def cam_mass_in_box(heatmap: np.ndarray, box, region: tuple[int, int, int, int] | None = None) -> tuple[float, float]:
    """``(mass in box, uniform share)``: how much of a heatmap falls in a box, and what chance would give.

    The formula of notebooks/06_model_visualization.ipynb, section 2; used by :func:`cam_box_scores`.

    ``heatmap``: non-negative ``(H, W)`` in frame coordinates (:func:`cam_to_frame`); ``box``:
    ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive (the synthetic set's
    ``load_truth(video)["boxes"][t]``); ``region``: ``(top, left, height, width)`` of the frame the
    network saw (default: the whole frame). Returns

        mass    = sum(heatmap[box ∩ region]) / sum(heatmap[region])
        uniform = area(box ∩ region) / area(region)

    i.e. the share a uniform heatmap over the seen region would put in the box. ``mass > uniform``
    means the map concentrates on the box. Both are NaN when the box is empty inside the region (an
    actor off-screen or outside the crop: skip such frames) or the heatmap has no mass there.
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.ndim != 2:
        raise ValueError(f"heatmap must be (H, W), got {heat.shape}")
    if (heat < 0).any():
        raise ValueError("heatmap must be non-negative")
    H, W = heat.shape
    top, left, h, w = region if region is not None else (0, 0, H, W)
    x0, y0, x1, y1 = (int(v) for v in box)
    bx0, by0 = max(x0, left, 0), max(y0, top, 0)
    bx1, by1 = min(x1, left + w, W), min(y1, top + h, H)
    seen = heat[top:top + h, left:left + w]
    total = float(seen.sum())
    if bx1 <= bx0 or by1 <= by0 or total <= 0.0 or h * w <= 0:
        return float("nan"), float("nan")
    inside = float(heat[by0:by1, bx0:bx1].sum())
    return inside / total, (bx1 - bx0) * (by1 - by0) / float(h * w)


def cam_box_scores(model, videos: Sequence, targets: Sequence[int] | None = None, truth_videos: Sequence | None = None,
                   num_segments: int | None = None, input_size: int = 224, scale_size: int | None = 256,
                   geometry: str = "full", method: str = "gradcam", target_layer: str | None = None,
                   max_views_per_forward: int = 16, device=None) -> dict:
    """Heatmap mass inside the synthetic actor's box, per sampled frame of many videos.

    Introduced in notebooks/06_model_visualization.ipynb.

    For every video, :func:`explain_video` (``mode="val"``: the K segment centres) gives one heatmap
    per snippet on the RGB frame where the snippet sits; the actor's box at that frame comes from
    the generator's truth (:func:`tsnlib.synthetic.load_truth` of ``truth_videos[i]``, default the
    video itself: for a flow folder pass the RGB video it was extracted from); frames whose box is
    empty (the actor off-screen) or outside the seen region are skipped. ``targets``: the class
    explained per video (e.g. the true labels; default: each video's predicted class).

    Returns ``{"mass", "uniform"}`` float64 arrays ``(n,)`` over the kept frames
    (:func:`cam_mass_in_box`), ``"video"`` (index into ``videos``) and ``"frame"`` (frame index) int64
    ``(n,)``, ``"skipped"``: the number of frames left out, of which ``"no_heat"`` had a visible actor
    but an all-zero heatmap (no positive evidence for the class anywhere: nothing to locate).
    """
    videos = list(videos)
    truth_videos = list(truth_videos) if truth_videos is not None else videos
    if len(truth_videos) != len(videos) or (targets is not None and len(targets) != len(videos)):
        raise ValueError("videos, truth_videos and targets must have the same length")
    mass, uniform, vids, frames = [], [], [], []
    skipped = no_heat = 0
    for i, (video, truth_video) in enumerate(zip(videos, truth_videos)):
        truth = load_truth(truth_video)
        expl = explain_video(model, video, num_segments=num_segments, input_size=input_size, scale_size=scale_size,
                             geometry=geometry, mode="val", target_class=None if targets is None else int(targets[i]),
                             method=method, target_layer=target_layer, display_video=truth_video,
                             max_views_per_forward=max_views_per_forward, device=device)
        for k, t in enumerate(expl.display_indices):
            box = truth["boxes"][int(t)]
            m, u = (float("nan"), float("nan")) if box_is_empty(box) else cam_mass_in_box(expl.heatmaps[k], box, expl.region)
            if math.isnan(m):
                skipped += 1
                no_heat += int(not box_is_empty(box) and not expl.heatmaps[k].any())
                continue
            mass.append(m)
            uniform.append(u)
            vids.append(i)
            frames.append(int(t))
    return {"mass": np.asarray(mass, np.float64), "uniform": np.asarray(uniform, np.float64),
            "video": np.asarray(vids, np.int64), "frame": np.asarray(frames, np.int64), "skipped": skipped,
            "no_heat": no_heat}


def plot_mass_vs_share(results: dict, colors: dict | None = None, title: str | None = None):
    """Heatmap mass in the box against the box's share of the frame, one point per frame; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``results``: ``{stream name: the dict of
    :func:`cam_box_scores`}``; ``colors``: ``{stream name: colour}`` (default:
    :data:`tsnlib.plotting.STREAM_COLORS` by lower-case name). Points above the diagonal are frames
    where the map concentrates on the actor more than a uniform map would; the legend gives the means.
    """
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    top = 0.05
    for name, r in results.items():
        col = (colors or {}).get(name, STREAM_COLORS.get(str(name).lower(), None))
        ax.scatter(r["uniform"], r["mass"], s=12, alpha=0.6, color=col,
                   label=f"{name}: mass {np.mean(r['mass']):.2f} vs share {np.mean(r['uniform']):.2f} "
                         f"({len(r['mass'])} frames)")
        if len(r["mass"]):
            top = max(top, float(np.max(r["mass"])), float(np.max(r["uniform"])))
    top = min(1.0, top * 1.05)
    ax.plot([0, top], [0, top], color="0.4", ls="--", lw=1, label="uniform heatmap")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("box share of the seen frame (uniform heatmap)")
    ax.set_ylabel("heatmap mass inside the box")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title or "does the heatmap sit on the actor?")
    fig.tight_layout()
    return fig
