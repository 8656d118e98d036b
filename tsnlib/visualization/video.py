"""Videos: writing frames to ``.mp4`` or ``.gif``, and a video with the model's labels and heatmaps.

:func:`write_video` writes RGB frames (PyAV for ``.mp4``, Pillow for ``.gif``), atomically.
:func:`write_prediction_video`, what ``tsnlib predict VIDEO --checkpoint CKPT --out OUT.mp4`` calls,
explains a few snippets (:func:`~tsnlib.visualization.explain.explain_video`), interpolates their
heatmaps in time over every frame and draws each frame with its overlay, a panel of the top labels
and a timeline strip (OpenCV).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from tsnlib.decoding import frame_times, iter_frames, open_video
from tsnlib.frame_folders import count_frames, detect_start_index, read_rgb_frames
from tsnlib.evaluation import softmax
from tsnlib.models import unwrap_model
from tsnlib.visualization.explain import VideoExplanation, explain_video, overlay_heatmap


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame by one replicated row/column where needed so both sides are even (yuv420p needs it)."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def _frame_times(times: Sequence[float], n: int) -> list[float]:
    """The first ``n`` of ``times`` as floats; ValueError when there are fewer."""
    out = [float(t) for t in list(times)[:n]]
    if len(out) < n:
        raise ValueError(f"write_video: {len(out)} times for {n} frames")
    return out


def write_video(frames: Iterable[np.ndarray], path, fps: float = 25.0, times: Sequence[float] | None = None) -> int:
    """Write RGB frames (uint8 ``(H, W, 3)``, all the same size) to ``.mp4`` or ``.gif``; returns the count.

    Used by :func:`write_prediction_video` (``tsnlib predict --out``).

    ``times``: when each frame is shown, in seconds (e.g. :func:`tsnlib.decoding.frame_times` of a
    variable-frame-rate source), at least one per frame; default: every ``1 / fps`` seconds.

    * ``.mp4``: PyAV, H.264 (``libx264``; MPEG-4 Part 2 when that encoder is missing), ``yuv420p``
      (plays everywhere), odd sides padded by one pixel;
    * ``.gif``: Pillow, an adaptive palette per frame, looping forever, ``1000 / fps`` ms per frame
      (GIF counts in 10 ms steps). Pillow merges identical consecutive frames into one longer frame
      (the playback is the same).

    The file appears atomically (written under a temporary name, then renamed).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".mp4", ".gif"):
        raise ValueError(f"write_video writes .mp4 or .gif files, got '{path.name}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{ext}")
    n = 0
    try:
        if ext == ".gif":
            images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8)) for f in frames]
            if not images:
                raise ValueError("write_video: no frames to write")
            n = len(images)
            step = 1000.0 / float(fps)
            if times is None:
                duration = max(20, int(round(step)))
            else:
                ms = [1000.0 * float(t) for t in _frame_times(times, n)]
                duration = [max(20, int(round(b - a))) for a, b in zip(ms, ms[1:] + [ms[-1] + step])]
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
        else:
            codec = "libx264"
            try:
                av.codec.Codec(codec, "w")
            except Exception:  # noqa: BLE001 - an FFmpeg build without x264
                codec = "mpeg4"
            rate = Fraction(float(fps)).limit_denominator(1001)
            tick = Fraction(1, 1000) if times is not None else 1 / rate  # millisecond timestamps for given times
            shown = iter(times) if times is not None else None
            with av.open(str(tmp), mode="w", format="mp4") as container:
                stream = None
                for frame in frames:
                    frame = _even(np.ascontiguousarray(frame, dtype=np.uint8))
                    if stream is None:
                        stream = container.add_stream(codec, rate=rate)
                        stream.width, stream.height = frame.shape[1], frame.shape[0]
                        stream.pix_fmt = "yuv420p"
                        stream.codec_context.time_base = tick
                    out = av.VideoFrame.from_ndarray(frame, format="rgb24")
                    if shown is not None:
                        t = next(shown, None)
                        if t is None:
                            raise ValueError(f"write_video: {len(times)} times for more frames")
                        out.pts, out.time_base = int(round(float(t) / tick)), tick
                    else:
                        out.pts, out.time_base = n, tick
                    for packet in stream.encode(out):
                        container.mux(packet)
                    n += 1
                if stream is None:
                    raise ValueError("write_video: no frames to write")
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def _iter_rgb(path: Path, backend: str = "auto"):
    """RGB frames of a video file (sequential decode, upright) or of a frame folder's ``img_*.jpg``, in order."""
    if path.is_dir():
        start = detect_start_index(path)
        for i in range(count_frames(path)["img"]):
            yield read_rgb_frames(path, [i], start_index=start)[0]
    else:
        yield from iter_frames(path, backend=backend)


def _interpolated_heatmap(expl: VideoExplanation, t: int, order: np.ndarray) -> np.ndarray:
    """The heatmap at frame ``t``: linear in time between the two nearest sampled frames (held at the ends)."""
    d = expl.display_indices[order]
    j = int(np.searchsorted(d, t, side="right"))
    if j == 0:
        return expl.heatmaps[order[0]]
    if j >= len(d):
        return expl.heatmaps[order[-1]]
    a, b = d[j - 1], d[j]
    w = 0.0 if b == a else (t - a) / float(b - a)
    return (1.0 - w) * expl.heatmaps[order[j - 1]] + w * expl.heatmaps[order[j]]


def _annotate(frame: np.ndarray, labels: Sequence[tuple[str, float]], t: int, n: int, sampled: np.ndarray,
              footer: str) -> np.ndarray:
    """The overlaid frame with a side panel of the top labels and a timeline strip under both."""
    h, w = frame.shape[:2]
    scale = float(np.clip(h / 420.0, 0.32, 0.7))
    line = int(round(26 * scale / 0.5))
    pw = int(max(150, round(300 * scale / 0.5)))
    panel = np.full((h, pw, 3), 24, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    y = line
    cv2.putText(panel, "top-%d" % len(labels), (6, y), font, scale, (200, 200, 200), 1, cv2.LINE_AA)
    for name, p in labels:
        y += line
        if y > h - 4:
            break
        bar = int(round((pw - 12) * float(p)))
        cv2.rectangle(panel, (6, y - line + 6), (6 + bar, y + 2), (60, 90, 160), -1)
        cv2.putText(panel, f"{name[:16]} {p:.2f}", (8, y - 2), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if y + line < h:
        cv2.putText(panel, footer, (6, h - 6), font, scale * 0.8, (170, 170, 170), 1, cv2.LINE_AA)
    strip_h = max(8, h // 16)
    strip = np.full((strip_h, w + pw, 3), 40, np.uint8)
    span = max(n - 1, 1)
    for s in sampled:
        x = int(round(s / span * (w - 1)))
        cv2.line(strip, (x, 1), (x, strip_h - 2), (255, 200, 0), 1)
    x = int(round(t / span * (w - 1)))
    cv2.rectangle(strip, (max(x - 1, 0), 0), (min(x + 1, w - 1), strip_h - 1), (255, 255, 255), -1)
    cv2.putText(strip, f"{t}", (w + 4, strip_h - 2), font, max(0.25, strip_h / 30.0), (220, 220, 220), 1, cv2.LINE_AA)
    return np.vstack([np.hstack([frame, panel]), strip])


def write_prediction_video(model, video, out, class_names: Sequence[str], predictions=None, num_snippets: int = 8,
                           topk: int = 5, method: str = "gradcam", target_layer: str | None = None,
                           input_size: int = 224, scale_size: int | None = 256, geometry: str = "full",
                           alpha: float = 0.45, fps: float | None = None, max_frames: int | None = None,
                           max_views_per_forward: int = 16, device=None, backend: str = "auto") -> dict:
    """Write ``video`` with the model's top labels and its Grad-CAM heatmap over every frame.

    What ``tsnlib predict VIDEO --checkpoint CKPT --out OUT.mp4|OUT.gif`` calls; section 8 of
    notebooks/06_model_visualization.ipynb runs that command.

    * ``model``: an RGB (or RGBDiff) :class:`tsnlib.models.TSN`; ``video``: a video file (or an RGB
      frame folder).
    * ``predictions``: ``[(class name, probability), ...]`` to print (e.g. what
      :func:`tsnlib.inference.predict_video` returned with the full test protocol); default: the
      softmax of the consensus over the explained snippets, top ``topk``. The heatmap explains the
      first of them.
    * ``num_snippets``: snippets explained (test sampling: evenly spaced); every other frame's heatmap
      is interpolated linearly in time between the two nearest explained frames.
    * ``geometry``: ``"full"`` (default: the whole frame) or ``"center"`` (the test crop; the rest is
      darkened); ``input_size``, ``scale_size``: the config's ``test.input_size`` /
      ``test.scale_size``.
    * Output frames: the overlaid frame, a panel of the labels on its right, and a timeline strip
      below (yellow ticks: explained frames; white: the current frame). ``fps``: default the
      video's own timing (each frame shown when the source shows it, :func:`tsnlib.decoding.frame_times`,
      so a variable-frame-rate video keeps its duration; the nominal rate when the file has no
      usable timestamps); ``max_frames``: stop early.
    * ``backend``: the video decoder (:func:`tsnlib.decoding.open_video`). Heatmaps and shown frames
      come from the same upright frames (the file's rotation flag is applied to both).

    Returns ``{"path", "frames", "predictions", "target_class", "target_layer", "method",
    "display_indices"}``.
    """
    tsn = unwrap_model(model)
    if str(getattr(tsn, "modality", "RGB")) == "Flow":
        raise ValueError("write_prediction_video draws on RGB frames: use an RGB (or RGBDiff) checkpoint; a flow "
                         "network's heatmaps can be drawn with explain_video(..., display_video=<the RGB video>)")
    names = list(class_names)
    target = None
    if predictions is not None:
        predictions = [(str(n), float(p)) for n, p in predictions]
        if predictions and predictions[0][0] in names:
            target = names.index(predictions[0][0])
    expl = explain_video(tsn, video, num_segments=num_snippets, input_size=input_size, scale_size=scale_size,
                         geometry=geometry, mode="test", target_class=target, method=method, target_layer=target_layer,
                         max_views_per_forward=max_views_per_forward, device=device, backend=backend)
    if predictions is None:
        probs = softmax(expl.video_scores)
        top = np.argsort(-probs, kind="stable")[: max(1, int(topk))]
        predictions = [(names[int(c)], float(probs[c])) for c in top]
    path = Path(video)
    times = None
    if fps is None:
        fps = 25.0
        if not path.is_dir():
            with open_video(path, backend=backend) as reader:
                fps = float(reader.fps) or 25.0
            times = frame_times(path)
            if times is not None and len(times) != expl.num_frames:
                times = None  # the packets and the decoder disagree: keep the nominal rate
    order = np.argsort(expl.display_indices, kind="stable")
    full = expl.region == (0, 0, expl.frames.shape[1], expl.frames.shape[2])
    footer = f"{expl.method}: {names[expl.target_class][:14]}"

    def frames():
        for t, frame in enumerate(_iter_rgb(path, backend)):
            if max_frames is not None and t >= int(max_frames):
                return
            heat = _interpolated_heatmap(expl, t, order)
            if heat.shape != frame.shape[:2]:
                heat = cv2.resize(heat, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
            over = overlay_heatmap(frame, heat, alpha, None if full else expl.region)
            yield _annotate(over, predictions, t, expl.num_frames, expl.display_indices, footer)

    n = write_video(frames(), out, fps=fps, times=times)
    return {"path": str(out), "frames": n, "predictions": predictions, "target_class": expl.target_class,
            "target_layer": expl.target_layer, "method": expl.method,
            "display_indices": expl.display_indices.tolist()}
