"""One video explained: a heatmap per sampled snippet, tied to its frames, and its pictures.

:func:`explain_video` samples a video exactly as a dataset does (a :class:`tsnlib.datasets.TSNDataset`
of one record, so the frame indices are the real ones), scores every snippet, computes one heatmap
per snippet (:func:`~tsnlib.visualization.cam.view_cams`) and maps it from the network input back
to the frame it came from (:mod:`tsnlib.visualization.geometry`), for RGB and for flow (a flow
heatmap is drawn over the RGB frame where its stack sits in time).

Pictures: :func:`overlay_heatmap` blends a heatmap over a frame (OpenCV, so that writing a video
needs no figure), :func:`plot_segment_cams` shows one overlay per snippet, and
:func:`plot_score_timeline` each snippet's class scores along the video with the consensus.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from tsnlib.annotations import VideoRecord
from tsnlib.datasets import TSNDataset
from tsnlib.decoding import open_video
from tsnlib.frame_folders import count_frames, detect_start_index, read_rgb_frames
from tsnlib.models import unwrap_model
from tsnlib.plotting import ACTOR_BOX_COLOR, class_label
from tsnlib.sampling import FrameSampler
from tsnlib.visualization.cam import view_cams
from tsnlib.visualization.geometry import box_is_empty, cam_to_frame, input_region, scale_region, views_transform


def read_display_frames(path, indices, start_index: int | None = None, backend: str = "auto") -> np.ndarray:
    """RGB frames ``uint8 (N, H, W, 3)`` at 0-based ``indices`` of a video file or a frame folder.

    Used by :func:`explain_video` and :func:`~tsnlib.visualization.embeddings.plot_misclassified`.
    A video file is read with
    :func:`tsnlib.decoding.open_video` (exact frames, turned upright by its rotation flag, with
    ``backend``); a folder's ``img_*.jpg`` with
    :func:`tsnlib.frame_folders.read_rgb_frames` (``start_index`` detected when None).
    """
    path = Path(path)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if path.is_dir():
        start = detect_start_index(path) if start_index is None else int(start_index)
        return read_rgb_frames(path, idx, start_index=start)
    with open_video(path, backend=backend) as reader:
        return reader.get_frames(idx)


def _count_frames(path: Path, modality: str, backend: str = "auto") -> int:
    """Frames (flow fields for Flow) of a video file or a frame folder: what the sampler chose from."""
    if path.is_dir():
        counts = count_frames(path)
        return int(counts["flow_x"] if modality == "Flow" else counts["img"])
    with open_video(path, backend=backend) as reader:
        return int(reader.num_frames)


@dataclasses.dataclass
class VideoExplanation:
    """What :func:`explain_video` returns: one heatmap per sampled snippet, tied to its frames.

    * ``video``: the path explained; ``display_video``: where the shown RGB frames come from;
      ``modality``; ``num_frames``: frames (flow fields for Flow) the sampler chose from;
    * ``frame_indices``: int64 ``(K, L)``, the 0-based frames (flow fields) each snippet was built
      from, exactly as a :class:`~tsnlib.datasets.TSNDataset` read them;
    * ``display_indices``: int64 ``(K,)``, the RGB frame shown for each snippet: its middle frame
      (``frame_indices[:, L // 2]``; for a flow stack, the frame where its middle field starts);
    * ``frames``: uint8 ``(K, H, W, 3)``, those RGB frames;
    * ``cams``: float32 ``(K, h, w)`` in ``[0, 1]``, the heatmaps over the network input;
    * ``heatmaps``: float32 ``(K, H, W)``, the same mapped back onto the shown frames (0 where unseen);
    * ``region``: ``(top, left, height, width)`` of the shown frame that the input covers;
    * ``view_scores``: float32 ``(K, num_classes)``; ``video_scores``: float32 ``(num_classes,)``
      (the model's consensus); ``target_class``, ``target_layer``, ``method``, ``geometry``.
    """

    video: str
    display_video: str
    modality: str
    num_frames: int
    frame_indices: np.ndarray
    display_indices: np.ndarray
    frames: np.ndarray
    cams: np.ndarray
    heatmaps: np.ndarray
    region: tuple[int, int, int, int]
    view_scores: np.ndarray
    video_scores: np.ndarray
    target_class: int
    target_layer: str
    method: str
    geometry: str

    @property
    def num_segments(self) -> int:
        return int(self.frame_indices.shape[0])


def explain_video(model, video, num_segments: int | None = None, input_size: int = 224, scale_size: int | None = 256,
                  geometry: str = "center", mode: str = "val", target_class: int | None = None,
                  method: str = "gradcam", target_layer: str | None = None, display_video=None,
                  start_index: int | None = None, backend: str = "auto", max_views_per_forward: int = 16,
                  device=None) -> VideoExplanation:
    """Grad-CAM for every sampled snippet of one video, mapped back onto the frames it came from.

    Introduced in notebooks/06_model_visualization.ipynb.

    * ``model``: a :class:`tsnlib.models.TSN`; its ``modality`` and ``clip_len`` decide what is read.
    * ``video``: a video file (RGB, RGBDiff) or a frame folder (any modality; Flow reads the
      ``flow_x/flow_y`` JPEGs of a folder written by ``tsnlib flow``).
    * ``num_segments``: snippets (default: the model's ``num_segments``), sampled by
      :class:`tsnlib.sampling.FrameSampler` in ``mode`` ``"val"`` (segment centres, as validation)
      or ``"test"`` (the test protocol's evenly spaced snippets).
    * ``input_size``, ``scale_size``, ``geometry``: how frames become network inputs
      (:func:`views_transform`, :func:`input_region`); use the config's ``test.input_size`` /
      ``test.scale_size``.
    * ``target_class``, ``method``, ``target_layer``, ``max_views_per_forward``, ``device``: as in
      :func:`view_cams` (default class: the consensus prediction over these snippets).
    * ``display_video``: where to read the RGB frames shown (default: the frames already read for
      RGB / RGBDiff; for Flow the folder's own ``img_*.jpg``). Give the RGB video of a flow folder to
      draw on the original frames: the heatmap is scaled to that frame size.

    The frames are read by a :class:`tsnlib.datasets.TSNDataset` of this one record, with no
    random draw (val/test sampling), so ``frame_indices`` are the ones a test run uses.
    """
    tsn = unwrap_model(model)
    modality = str(getattr(tsn, "modality", "RGB"))
    clip_len = int(getattr(tsn, "clip_len", 1))
    k = int(num_segments or getattr(tsn, "num_segments", 3))
    path = Path(video)
    if modality == "Flow" and not path.is_dir():
        raise ValueError(f"a Flow model reads flow frame folders (tsnlib flow), not the video file '{path}'")
    record = VideoRecord(path=path, label=-1, num_frames=None, video_id=path.stem, source=None, num_flow_frames=None)
    sampler = FrameSampler(k, clip_len=clip_len, mode=mode)
    ds = TSNDataset([record], sampler, transform=None, modality=modality, source="auto", start_index=start_index,
                    backend=backend)
    item = ds[0]
    raw = item["imgs"]  # uint8 Video (T, C, H, W): the frames the sampler picked, in clip-major order
    idx = item["frame_indices"].numpy().astype(np.int64)  # (K, L), L = clip_len (+1 for RGBDiff)
    views = views_transform(modality, k, clip_len, input_size, scale_size, geometry)(raw)
    vc = view_cams(tsn, views, target_class=target_class, method=method, target_layer=target_layer,
                   max_views_per_forward=max_views_per_forward, device=device)

    col = idx.shape[1] // 2
    display_indices = idx[:, col].copy()
    if display_video is None and modality != "Flow":
        display_video = path
        rows = np.arange(k) * idx.shape[1] + col
        frames = raw.as_subclass(torch.Tensor)[rows].permute(0, 2, 3, 1).contiguous().numpy()
    else:
        display_video = path if display_video is None else Path(display_video)
        frames = read_display_frames(display_video, display_indices,
                                     start_index=start_index if Path(display_video) == path else None, backend=backend)
    src_size = (int(raw.shape[-2]), int(raw.shape[-1]))
    dst_size = (int(frames.shape[1]), int(frames.shape[2]))
    region = input_region(src_size, input_size, scale_size, geometry)
    if dst_size != src_size:
        region = scale_region(region, src_size, dst_size)
    heatmaps = np.stack([cam_to_frame(c, region, dst_size) for c in vc.cams])
    return VideoExplanation(
        video=str(path), display_video=str(display_video), modality=modality,
        num_frames=_count_frames(path, modality, backend), frame_indices=idx, display_indices=display_indices,
        frames=frames, cams=vc.cams, heatmaps=heatmaps, region=tuple(int(v) for v in region),
        view_scores=vc.view_scores, video_scores=vc.video_scores, target_class=vc.target_class,
        target_layer=vc.target_layer, method=vc.method, geometry=geometry,
    )


def overlay_heatmap(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5,
                    region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A heatmap blended over an RGB frame: uint8 ``(H, W, 3)``.

    Introduced in notebooks/06_model_visualization.ipynb. ``frame``: uint8 ``(H, W, 3)`` RGB;
    ``heatmap``: ``(H, W)`` in ``[0, 1]``, coloured with OpenCV's JET map (blue = low, red = high)
    and blended as ``(1 - alpha) * frame + alpha * colour``. Pixels outside ``region`` (``(top, left,
    height, width)``: the part the network saw) are shown darkened and uncoloured.
    """
    frame = np.asarray(frame)
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or heat.shape != frame.shape[:2]:
        raise ValueError(f"expected a uint8 (H, W, 3) frame and an (H, W) heatmap, got {frame.shape} {frame.dtype} "
                         f"and {heat.shape}")
    colour = cv2.cvtColor(cv2.applyColorMap(np.uint8(np.round(heat * 255)), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = (1.0 - alpha) * frame.astype(np.float32) + alpha * colour.astype(np.float32)
    if region is not None:
        top, left, h, w = region
        mask = np.zeros(heat.shape, bool)
        mask[top:top + h, left:left + w] = True
        out[~mask] = 0.45 * frame[~mask].astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def plot_segment_cams(expl: VideoExplanation, class_names: Sequence[str] | None = None, boxes=None,
                      alpha: float = 0.5, max_columns: int = 8, title: str | None = None):
    """One overlay per sampled snippet, titled with its frame index and scores; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``boxes``: optional ``(T, 4)`` boxes per
    frame (the synthetic truth), drawn in green at each shown frame (skipped when empty). The
    region the network saw is outlined (dashed) when it is not the whole frame. Each title gives the
    snippet's frame(s), the explained class's score in that snippet and the snippet's own top class.
    """
    k = expl.num_segments
    cols = min(k, int(max_columns))
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows * expl.frames.shape[1] / expl.frames.shape[2] + 0.9),
                             squeeze=False)
    c = expl.target_class
    top, left, h, w = expl.region
    full = (top, left, h, w) == (0, 0, expl.frames.shape[1], expl.frames.shape[2])
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        ax.imshow(overlay_heatmap(expl.frames[i], expl.heatmaps[i], alpha, None if full else expl.region))
        if not full:
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, ec="white", ls="--", lw=1))
        t = int(expl.display_indices[i])
        if boxes is not None and t < len(boxes) and not box_is_empty(boxes[t]):
            x0, y0, x1, y1 = (int(v) for v in boxes[t])
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=ACTOR_BOX_COLOR, lw=1.2))
        fi = expl.frame_indices[i]
        span = f"frame {int(fi[0])}" if len(fi) == 1 else f"frames {int(fi[0])}–{int(fi[-1])}"
        own = int(np.argmax(expl.view_scores[i]))
        ax.set_title(f"snippet {i + 1}: {span}\nscore {expl.view_scores[i, c]:.2f} · top {class_label(class_names, own)}",
                     fontsize=8)
    fig.suptitle(title or f"{expl.method} for '{class_label(class_names, c)}' ({expl.modality}, {expl.target_layer})",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_score_timeline(view_scores, frame_indices, num_frames: int, class_names: Sequence[str] | None = None,
                        classes: Sequence[int] | None = None, topk: int = 3, consensus=None, event_span=None,
                        color_of: dict | None = None, title: str | None = None):
    """Each snippet's class scores along the video, with the consensus on top; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``view_scores``: ``(K, num_classes)`` per-snippet scores (logits); ``frame_indices``: ``(K, L)``
    (each snippet is placed at the mean of its frames); ``num_frames``: the video's length.
    ``consensus``: the video scores (default: the mean over snippets, TSN's average consensus).
    ``classes``: which classes to draw (default: the ``topk`` of the consensus). Each class is a
    line through its snippet scores and a dashed horizontal line at its consensus score: the class
    with the highest dashed line is the decision, however the individual snippets vote.
    ``event_span``: ``(start, end)`` frames (inclusive) to shade, e.g. the synthetic truth's event.
    """
    s = np.asarray(view_scores, dtype=np.float64)
    pos = np.asarray(frame_indices, dtype=np.float64).reshape(s.shape[0], -1).mean(1)
    cons = s.mean(0) if consensus is None else np.asarray(consensus, dtype=np.float64)
    if classes is None:
        classes = list(np.argsort(-cons, kind="stable")[: max(1, int(topk))])
    order = np.argsort(pos, kind="stable")
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    if event_span is not None and int(event_span[0]) >= 0:
        ax.axvspan(int(event_span[0]) - 0.5, int(event_span[1]) + 0.5, color="0.85", zorder=0, label="event (truth)")
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, c in enumerate(classes):
        col = (color_of or {}).get(int(c), palette[j % len(palette)])
        ax.plot(pos[order], s[order, c], marker="o", ms=4, color=col, label=f"{class_label(class_names, int(c))}")
        ax.hlines(cons[c], 0, max(int(num_frames) - 1, 1), colors=col, linestyles="--", lw=1.4)
        ax.annotate(f"consensus {cons[c]:.2f}", (max(int(num_frames) - 1, 1), cons[c]), fontsize=7, color=col,
                    xytext=(2, 2), textcoords="offset points", ha="right")
    ax.set_xlim(-0.5, max(int(num_frames) - 0.5, 1))
    ax.set_xlabel("frame index (snippet position)")
    ax.set_ylabel("class score (logit)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    winner = int(np.argmax(cons))
    ax.set_title(title or f"{s.shape[0]} snippets; the consensus decides '{class_label(class_names, winner)}'")
    fig.tight_layout()
    return fig
