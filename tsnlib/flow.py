"""Optical flow for the temporal stream: estimation, JPEG quantisation, frame folders, quality.

Introduced in notebooks/04_optical_flow_stream.ipynb.

The temporal stream of TSN does not see videos: it reads *flow frames*, two grayscale JPEGs per
pair of consecutive frames (``flow_x_00001.jpg``, ``flow_y_00001.jpg``), each pixel the flow
component clipped to ``[-bound, bound]`` pixels and mapped to ``0..255`` (§3.6 of the reference
notes). This module produces exactly that layout, so the frame folders it writes can be read by
every TSN codebase (original Caffe TSN, tsn-pytorch, TSM, MMAction2 with ``start_index=1``):

    <out>/<video_id>/img_00001.jpg ... img_<N>.jpg            N RGB frames
    <out>/<video_id>/flow_x_00001.jpg ... flow_x_<N-1>.jpg    N-1 flow frames (x component)
    <out>/<video_id>/flow_y_00001.jpg ... flow_y_<N-1>.jpg    N-1 flow frames (y component)

Flow frame ``i`` (1-based) is the forward flow from RGB frame ``i`` to frame ``i + 1``. These are
the counts of open-mmlab ``denseflow`` (N RGB, N-1 flow) with the 1-based names of the original
``dense_flow`` tool (open-mmlab ``denseflow`` itself names files from 0, which breaks loaders that
default to ``start_index=1``; the original ``dense_flow`` writes N-1 RGB images, dropping the
first frame). List files therefore carry two counts: the RGB list the RGB count N, the flow list
the flow count N-1 (tsn-pytorch issue #84 is what happens otherwise). For a UCF101 / HMDB51
root (the synthetic set included), :func:`prepare_flow_dataset` (``tsnlib flow ROOT --out DIR``)
does all of it: frame folders of a split's videos, both lists, and a ``flow.json`` stamp of the
settings, so that a folder never mixes two kinds of flow.

Methods, all behind one call :func:`compute_flow` / one reusable :class:`FlowEstimator`:

* ``"dis"`` (default): OpenCV's Dense Inverse Search, fast preset, on grayscale. Fast on a CPU.
* ``"farneback"``: OpenCV's polynomial-expansion flow, on grayscale.
* ``"tvl1"``: OpenCV's Dual TV-L1 (``cv2.optflow``), the paper's choice; needs the *contrib*
  build of OpenCV (``opencv-contrib-python-headless`` instead of ``opencv-python-headless``) and
  is slow on a CPU.
* ``"raft"``: torchvision's RAFT (small or large) when its weights are already on disk; nothing
  is ever downloaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tsnlib.annotations import VIDEO_EXTENSIONS
from tsnlib.decoding import (
    BACKENDS,
    add_resize_arguments,
    atomic_folder,
    count_frames,
    extraction_settings,
    iter_frames,
    open_video,
    parse_size,
    remove_stale_tmp,
    resized_size,
    write_jpeg,
)
from tsnlib.errors import DataError
from tsnlib.utils import guard_settings, read_stamp, stamp_changes, write_stamp

#: The method names :class:`FlowEstimator` accepts.
FLOW_METHODS = ("dis", "farneback", "tvl1", "raft")

#: The bound (pixels) used by every TSN flow release: ``bound=20`` in the extraction scripts.
DEFAULT_BOUND = 20.0

#: The file-name templates of a frame folder (1-based numbers).
RGB_TEMPLATE = "img_{:05d}.jpg"
FLOW_X_TEMPLATE = "flow_x_{:05d}.jpg"
FLOW_Y_TEMPLATE = "flow_y_{:05d}.jpg"

_TVL1_INSTALL = (
    "TV-L1 flow needs OpenCV's contrib modules (cv2.optflow), which the plain "
    "'opencv-python-headless' wheel lacks. Replace it by the contrib build of the same version: "
    "pip uninstall -y opencv-python-headless && pip install opencv-contrib-python-headless "
    "(the two packages both provide cv2 and must not be installed together). "
    "Or use method='dis' (fast) or 'farneback'."
)

#: torchvision RAFT checkpoints: variant -> (builder name, file name in the torch hub cache, URL).
_RAFT_CHECKPOINTS = {
    "small": ("raft_small", "raft_small_C_T_V2-01064c6d.pth", "https://download.pytorch.org/models/raft_small_C_T_V2-01064c6d.pth"),
    "large": ("raft_large", "raft_large_C_T_SKHT_V2-ff5fadd5.pth", "https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth"),
}


class FlowUnavailableError(RuntimeError):
    """A flow method that cannot run here (missing OpenCV contrib build, missing RAFT weights).

    The message says what to install or where to put the file.
    """


# ----------------------------------------------------------------------------------------------
# Quantisation (§3.6)
# ----------------------------------------------------------------------------------------------


def quantize_flow(flow: np.ndarray, bound: float = DEFAULT_BOUND, rounding: str = "round") -> np.ndarray:
    """Map flow in pixels to the grey levels stored in flow JPEGs: float ``(..., 2)`` -> uint8 ``(..., 2)``.

    ``q = 255 * (clip(v, -b, b) + b) / (2b)``, **rounded** to the nearest integer and saturated:
    the ``CAST`` macro of ``dense_flow`` / open-mmlab ``denseflow``
    (``v > b ? 255 : v < -b ? 0 : cvRound(255 * (v + b) / (2 * b))``). ``cvRound`` is ``lrint`` in
    the default floating-point mode, i.e. round half to even, which is what ``np.rint`` does
    (``v = 0`` gives 127.5, stored as 128). The arithmetic is done in float64, as in the C++.

    ``rounding="truncate"`` reproduces MMAction2's CPU script ``tools/misc/flow_extraction.py``,
    which casts with ``astype(uint8)`` and so truncates: ``v = 0`` becomes 127 and ``v = -10``
    becomes 63 instead of 128 and 64, a bias of half a grey level (0.078 px at ``b = 20``). It is
    there to show the difference; do not use it to make new data.

    Spot values at ``b = 20``: ``v = -10 -> 64``, ``0 -> 128``, ``10 -> 191``, ``|v| >= 20 -> 0 / 255``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    if bound <= 0:
        raise ValueError(f"bound must be positive, got {bound}")
    v = np.asarray(flow, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError("flow contains NaN or infinite values; cannot quantise it")
    scaled = 255.0 * (np.clip(v, -bound, bound) + bound) / (2.0 * bound)
    if rounding == "round":
        scaled = np.rint(scaled)
    elif rounding == "truncate":
        scaled = np.floor(scaled)
    else:
        raise ValueError(f"rounding must be 'round' or 'truncate', got {rounding!r}")
    return np.clip(scaled, 0, 255).astype(np.uint8)


def dequantize_flow(q: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Grey levels back to pixels: uint8 ``(..., 2)`` -> float32 ``(..., 2)``, ``v = q * 2b / 255 - b``.

    One grey level is ``2b / 255`` pixels (0.157 px at ``b = 20``), so for ``|v| <= b`` the
    round trip ``dequantize_flow(quantize_flow(v))`` is within ``b / 255`` of ``v``. Note that
    ``q = 128`` decodes to +0.078 px, not 0: zero motion has no exact code.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    q = np.asarray(q)
    return (q.astype(np.float64) * (2.0 * bound / 255.0) - bound).astype(np.float32)


def flip_flow_x(q: np.ndarray) -> np.ndarray:
    """Horizontal flip of quantised flow ``(..., H, W, 2)`` uint8: mirror, then ``x' = 255 - x``.

    Mirroring the image left-right reverses horizontal motion, so the x component must be negated.
    In grey levels negation is ``255 - x`` (exactly: ``dequantize(255 - q) == -dequantize(q)``,
    the code is symmetric around 127.5); the y component is mirrored only. This is what Caffe TSN
    and tsn-pytorch do on every flip; MMAction2's ``TenCrop`` never inverts x, and its 1.x ``Flip``
    inverts the wrong channels (reference notes §2.6). Float flow ``(..., H, W, 2)`` is accepted
    too and gets ``x' = -x``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    q = np.asarray(q)
    if q.ndim < 3 or q.shape[-1] != 2:
        raise ValueError(f"expected flow of shape (..., H, W, 2), got {q.shape}")
    out = q[..., ::-1, :].copy()
    if q.dtype == np.uint8:
        out[..., 0] = 255 - out[..., 0]
    elif np.issubdtype(q.dtype, np.floating):
        out[..., 0] = -out[..., 0]
    else:
        raise TypeError(f"flip_flow_x expects uint8 (quantised) or float flow, got {q.dtype}")
    return out


# ----------------------------------------------------------------------------------------------
# Estimation
# ----------------------------------------------------------------------------------------------


def _cv2():
    import cv2

    return cv2


def _to_gray(img: np.ndarray, name: str) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"{name}: expected uint8 frames, got {img.dtype}")
    if img.ndim == 2:
        return np.ascontiguousarray(img)
    if img.ndim == 3 and img.shape[2] == 3:
        return _cv2().cvtColor(np.ascontiguousarray(img), _cv2().COLOR_RGB2GRAY)
    raise ValueError(f"{name}: expected an RGB frame (H, W, 3) or a grey frame (H, W), got shape {img.shape}")


def _hub_checkpoint_dir() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def raft_weights_path(variant: str = "small") -> Path:
    """Where torchvision keeps RAFT weights (``<torch hub dir>/checkpoints/<file>.pth``); may not exist.

    tsnlib never downloads them. To use RAFT, download the URL named in the error of
    :class:`FlowEstimator` by hand into this path, or pass ``weights=<path>``.
    """
    if variant not in _RAFT_CHECKPOINTS:
        raise ValueError(f"RAFT variant must be one of {sorted(_RAFT_CHECKPOINTS)}, got {variant!r}")
    return _hub_checkpoint_dir() / _RAFT_CHECKPOINTS[variant][1]


class FlowEstimator:
    """A flow method, built once and reused for many frame pairs.

    ``FlowEstimator(method, **options)(prev_rgb, next_rgb) -> float32 (H, W, 2)``: the forward flow
    ``(dx, dy)`` in pixels at each pixel of ``prev_rgb``, so that ``prev[y, x]`` moves to
    ``next[y + dy, x + dx]``. Frames are uint8 ``(H, W, 3)`` RGB (or ``(H, W)`` grey), same shape.

    ``warp=True`` (any method) gives *warped* flow instead, the paper's fourth modality: the camera's
    motion is fitted as a homography to the flow and the flow is computed again after warping
    ``next_rgb`` back by it (:func:`tsnlib.camera_motion.warped_flow`; twice the cost).

    Methods and options:

    * ``"dis"``: ``preset="fast"`` (``"ultrafast"``, ``"fast"``, ``"medium"``), OpenCV
      ``DISOpticalFlow_create(DISOPTICAL_FLOW_PRESET_FAST)`` on grayscale. The default.
    * ``"farneback"``: ``pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
      poly_sigma=1.2`` (OpenCV's documented example values), on grayscale.
    * ``"tvl1"``: keyword options of ``cv2.optflow.DualTVL1OpticalFlow_create`` (OpenCV defaults:
      tau 0.25, lambda 0.15, theta 0.3, 5 scales, 5 warps, epsilon 0.01, as the GPU TV-L1 used by
      ``dense_flow``). Raises :class:`FlowUnavailableError` without the OpenCV contrib build.
    * ``"raft"``: ``variant="small"|"large"``, ``weights=None`` (a ``.pth`` state dict; default:
      torchvision's file in the torch hub cache, see :func:`raft_weights_path`),
      ``num_flow_updates=12``, ``device=None`` (:func:`tsnlib.utils.get_device`). Loaded with
      ``torch.load(..., weights_only=True)``; never downloaded: a missing file raises
      :class:`FlowUnavailableError` saying where to put it. Frames are padded (edge pixels
      repeated, right and bottom) to multiples of 8 and at least 128 x 128, which RAFT needs.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """

    def __init__(self, method: str = "dis", **options):
        self.method = str(method).lower()
        if self.method in ("raft_small", "raft_large"):
            options.setdefault("variant", self.method.split("_")[1])
            self.method = "raft"
        self.options = dict(options)
        self.warp = bool(options.pop("warp", False))
        build = {
            "dis": self._build_dis,
            "farneback": self._build_farneback,
            "tvl1": self._build_tvl1,
            "raft": self._build_raft,
        }.get(self.method)
        if build is None:
            raise ValueError(f"unknown flow method {method!r}; choose one of {', '.join(FLOW_METHODS)}")
        build(dict(options))

    # -- builders -------------------------------------------------------------------------------
    @staticmethod
    def _reject_unknown(method: str, options: dict) -> None:
        if options:
            raise TypeError(f"flow method {method!r} got unknown option(s): {', '.join(sorted(options))}")

    def _build_dis(self, options: dict) -> None:
        cv2 = _cv2()
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        preset = options.pop("preset", "fast")
        self._reject_unknown("dis", options)
        if preset not in presets:
            raise ValueError(f"DIS preset must be one of {sorted(presets)}, got {preset!r}")
        self._impl = cv2.DISOpticalFlow_create(presets[preset])
        self._gray = True

    def _build_farneback(self, options: dict) -> None:
        cv2 = _cv2()
        params = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2}
        for key in list(options):
            if key in params:
                params[key] = options.pop(key)
        self._reject_unknown("farneback", options)
        self._impl = cv2.FarnebackOpticalFlow_create(
            numLevels=int(params["levels"]),
            pyrScale=float(params["pyr_scale"]),
            fastPyramids=False,
            winSize=int(params["winsize"]),
            numIters=int(params["iterations"]),
            polyN=int(params["poly_n"]),
            polySigma=float(params["poly_sigma"]),
            flags=0,
        )
        self._gray = True

    def _build_tvl1(self, options: dict) -> None:
        cv2 = _cv2()
        optflow = getattr(cv2, "optflow", None)
        if optflow is None or not hasattr(optflow, "DualTVL1OpticalFlow_create"):
            raise FlowUnavailableError(_TVL1_INSTALL)
        self._impl = optflow.DualTVL1OpticalFlow_create(**options)
        self._gray = True

    def _build_raft(self, options: dict) -> None:
        import torch
        import torchvision.models.optical_flow as tv_flow

        variant = options.pop("variant", "small")
        weights = options.pop("weights", None)
        self._num_flow_updates = int(options.pop("num_flow_updates", 12))
        device = options.pop("device", None)
        self._reject_unknown("raft", options)
        if variant not in _RAFT_CHECKPOINTS:
            raise ValueError(f"RAFT variant must be 'small' or 'large', got {variant!r}")
        builder, _, url = _RAFT_CHECKPOINTS[variant]
        path = Path(weights).expanduser() if weights is not None else raft_weights_path(variant)
        if not path.is_file():
            where = "the file passed as weights=" if weights is not None else "torchvision's cache file"
            raise FlowUnavailableError(
                f"RAFT-{variant} weights not found: {where} {path} does not exist. tsnlib never downloads "
                f"weights; download {url} by hand to {raft_weights_path(variant)} or pass weights=<path to .pth>. "
                "Or use method='dis' (no weights needed)."
            )
        model = getattr(tv_flow, builder)(weights=None, progress=False)
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise FlowUnavailableError(f"{path} is not a RAFT-{variant} state dict: {exc}") from exc
        if device is None:
            from tsnlib.utils import get_device

            device = get_device(verbose=False)
        self._device = torch.device(device)
        self._impl = model.eval().to(self._device)
        self._gray = False
        self.weights_path = path

    # -- call -----------------------------------------------------------------------------------
    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        if self.warp:
            from tsnlib.camera_motion import warped_flow

            return warped_flow(prev_rgb, next_rgb, self._flow)[0]
        return self._flow(prev_rgb, next_rgb)

    def _flow(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        prev_rgb = np.asarray(prev_rgb)
        next_rgb = np.asarray(next_rgb)
        if prev_rgb.shape != next_rgb.shape:
            raise ValueError(f"frames differ in shape: {prev_rgb.shape} vs {next_rgb.shape}")
        if self.method == "raft":
            return self._raft(prev_rgb, next_rgb)
        a = _to_gray(prev_rgb, "prev_rgb")
        b = _to_gray(next_rgb, "next_rgb")
        flow = self._impl.calc(a, b, None)
        return np.asarray(flow, dtype=np.float32)

    def _raft(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        if prev_rgb.ndim == 2:
            prev_rgb = np.repeat(prev_rgb[..., None], 3, axis=2)
            next_rgb = np.repeat(next_rgb[..., None], 3, axis=2)
        if prev_rgb.dtype != np.uint8 or prev_rgb.ndim != 3 or prev_rgb.shape[2] != 3:
            raise ValueError(f"RAFT expects uint8 (H, W, 3) frames, got {prev_rgb.dtype} {prev_rgb.shape}")
        h, w = prev_rgb.shape[:2]
        pair = torch.from_numpy(np.stack([prev_rgb, next_rgb])).permute(0, 3, 1, 2).float()
        pair = pair / 127.5 - 1.0  # torchvision's RAFT preprocessing: [-1, 1]
        # RAFT needs sides that are multiples of 8 and at least 128 (its correlation pyramid)
        pad_h, pad_w = max(128, h + (-h) % 8) - h, max(128, w + (-w) % 8) - w
        if pad_h or pad_w:
            pair = F.pad(pair, (0, pad_w, 0, pad_h), mode="replicate")
        pair = pair.to(self._device)
        with torch.inference_mode():
            flows = self._impl(pair[:1], pair[1:], num_flow_updates=self._num_flow_updates)
        flow = flows[-1][0, :, :h, :w].permute(1, 2, 0)
        return flow.float().cpu().numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"FlowEstimator({self.method!r}{', ' + opts if opts else ''})"


def compute_flow(prev_rgb: np.ndarray, next_rgb: np.ndarray, method: str = "dis", **options) -> np.ndarray:
    """Forward optical flow from ``prev_rgb`` to ``next_rgb``: uint8 ``(H, W, 3)`` x 2 -> float32 ``(H, W, 2)``.

    Channel 0 is the horizontal displacement ``dx`` and channel 1 the vertical ``dy``, in pixels.
    Builds a :class:`FlowEstimator` for this one pair; for many pairs build one and call it.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    return FlowEstimator(method, **options)(prev_rgb, next_rgb)


def available_flow_methods() -> dict[str, bool | str]:
    """``{method: True or the reason it cannot run}`` for :data:`FLOW_METHODS`, for ``tsnlib info``."""
    status: dict[str, bool | str] = {}
    try:
        cv2 = _cv2()
    except Exception as exc:  # noqa: BLE001 - report any import failure
        reason = f"OpenCV not importable: {exc}"
        status.update(dis=reason, farneback=reason, tvl1=reason)
    else:
        status["dis"] = True if hasattr(cv2, "DISOpticalFlow_create") else "this OpenCV build has no DIS optical flow"
        status["farneback"] = True if hasattr(cv2, "FarnebackOpticalFlow_create") else "this OpenCV build has no Farneback flow"
        optflow = getattr(cv2, "optflow", None)
        status["tvl1"] = True if optflow is not None and hasattr(optflow, "DualTVL1OpticalFlow_create") else _TVL1_INSTALL
    try:
        import torchvision.models.optical_flow  # noqa: F401

        found = [v for v in ("small", "large") if raft_weights_path(v).is_file()]
        if found:
            status["raft"] = True
        else:
            status["raft"] = (
                f"no RAFT weights in {_hub_checkpoint_dir()} (expected {_RAFT_CHECKPOINTS['small'][1]} or "
                f"{_RAFT_CHECKPOINTS['large'][1]}); tsnlib never downloads them: fetch by hand or pass weights=<path>"
            )
    except Exception as exc:  # noqa: BLE001
        status["raft"] = f"torchvision RAFT not importable: {exc}"
    return status


# ----------------------------------------------------------------------------------------------
# Visualisation
# ----------------------------------------------------------------------------------------------


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel picture of flow: float ``(H, W, 2)`` (pixels) -> uint8 ``(H, W, 3)`` RGB.

    Hue is the direction, saturation the speed (white = no motion), the Middlebury colour wheel of
    ``torchvision.utils.flow_to_image``. By default the fastest pixel of *this* frame gets full
    colour (torchvision's normalisation), which makes noise in a still frame look like motion; pass
    ``max_magnitude`` (pixels, e.g. the quantisation bound 20) to use one fixed scale for a whole
    video: speeds above it are clipped.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    import torch
    from torchvision.utils import flow_to_image

    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected flow (H, W, 2), got {flow.shape}")
    t = torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1)
    if max_magnitude is not None:
        if max_magnitude <= 0:
            raise ValueError("max_magnitude must be positive")
        mag = torch.linalg.vector_norm(t, dim=0, keepdim=True)
        t = t * torch.clamp(max_magnitude / torch.clamp(mag, min=1e-12), max=1.0)
        # torchvision scales by the largest speed in the picture: add one guard row whose first
        # pixel moves at exactly max_magnitude so that the scale is fixed, then drop the row.
        guard = torch.zeros(2, 1, t.shape[2])
        guard[0, 0, 0] = max_magnitude
        img = flow_to_image(torch.cat([t, guard], dim=1))[:, :-1]
    else:
        img = flow_to_image(t)
    return img.permute(1, 2, 0).numpy().copy()


def plot_flow_pair(prev_rgb: np.ndarray, next_rgb: np.ndarray, flow: np.ndarray, bound: float = DEFAULT_BOUND,
                   title: str | None = None, max_magnitude: float | None = None, stretch: bool = True):
    """One figure for one pair: the two frames, the colour-coded flow and the two flow JPEGs.

    ``prev_rgb``/``next_rgb`` uint8 ``(H, W, 3)``; ``flow`` float32 ``(H, W, 2)`` in pixels. The colour
    panel uses :func:`flow_to_color` (``max_magnitude=None``: the fastest pixel of this pair gets
    full colour). The last two panels are what the network reads: ``flow_x`` and ``flow_y``
    quantised with ``bound`` (grey 128 = no motion). Motions of a pixel or two use only a few of
    the 256 grey levels (one level is ``2 * bound / 255`` px), which looks uniformly grey on the full
    0..255 scale; ``stretch=True`` displays the levels ``128 - d .. 128 + d`` (``d`` the largest
    deviation from 128 in either panel, named in the titles) black to white, without changing
    them. Returns the matplotlib figure.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    import matplotlib.pyplot as plt

    q = quantize_flow(flow, bound)
    lo, hi = 0, 255
    if stretch:
        d = max(1, int(np.abs(q.astype(np.int16) - 128).max()))
        lo, hi = 128 - d, 128 + d
    scale = f", shown {lo}..{hi}" if stretch else ""
    panels = [
        (prev_rgb, "frame t", None),
        (next_rgb, "frame t+1", None),
        (flow_to_color(flow, max_magnitude=max_magnitude), "flow (colour wheel)", None),
        (q[..., 0], f"flow_x (bound {bound:g}{scale})", "gray"),
        (q[..., 1], f"flow_y (bound {bound:g}{scale})", "gray"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.0))
    for ax, (img, name, cmap) in zip(axes, panels):
        ax.imshow(img, cmap=cmap, vmin=lo if cmap else None, vmax=hi if cmap else None)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Frame folders
# ----------------------------------------------------------------------------------------------


def is_complete_flow_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a finished frame folder: ``img_00001..N``, ``flow_x/y_00001..N-1``, N >= 2.

    Only the rename at the end of :func:`extract_video_flow` creates the final folder, so a
    folder that fails this check came from elsewhere (or was damaged later) and is redone on resume.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    c = count_frames(folder)
    n = c["img"]
    if n < 2 or c["flow_x"] != n - 1 or c["flow_y"] != n - 1:
        return False
    # the counts could match with a gap in the numbering: check the last names exist
    return (
        (folder / RGB_TEMPLATE.format(n)).is_file()
        and (folder / FLOW_X_TEMPLATE.format(n - 1)).is_file()
        and (folder / FLOW_Y_TEMPLATE.format(n - 1)).is_file()
    )


def write_flow_folder(
    frames: Iterable[np.ndarray],
    out_dir: str | os.PathLike,
    method: str = "dis",
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    estimator: FlowEstimator | None = None,
    source: str | os.PathLike | None = None,
) -> dict:
    """Write one frame folder from RGB frames (an iterable of uint8 ``(H, W, 3)``), atomically.

    Files go to the temporary sibling ``<out_dir>.tmp-<pid>``; only when every file is written is it
    renamed to ``out_dir`` (replacing an older folder there). An interruption leaves at worst a
    ``*.tmp-*`` folder, which the next run deletes, never a half-written ``out_dir``.
    Frames are resized first when ``short_side`` or ``size=(W, H)`` is given, RGB and flow alike,
    with ``cv2.INTER_LINEAR`` (sizes as :func:`tsnlib.decoding.resized_size`).
    Returns ``{"num_frames": N, "num_flow": N - 1, "height": h, "width": w}``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    cv2 = _cv2()
    out_dir = Path(out_dir)
    where = source if source is not None else out_dir
    estimator = estimator or FlowEstimator(method)
    prev = None
    n = 0
    h = w = None
    with atomic_folder(out_dir) as tmp:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise DataError(f"frame {n} is not uint8 (H, W, 3) RGB: {frame.dtype} {frame.shape}", path=where)
            if h is None:
                h, w = resized_size(frame.shape[0], frame.shape[1], short_side, size)
            if frame.shape[:2] != (h, w):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
            n += 1
            write_jpeg(tmp / RGB_TEMPLATE.format(n), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), jpeg_quality)
            if prev is not None:
                q = quantize_flow(estimator(prev, frame), bound)
                write_jpeg(tmp / FLOW_X_TEMPLATE.format(n - 1), q[..., 0], jpeg_quality)
                write_jpeg(tmp / FLOW_Y_TEMPLATE.format(n - 1), q[..., 1], jpeg_quality)
            prev = frame
        if n < 2:
            raise DataError(f"optical flow needs at least 2 frames, got {n}", path=where)
    return {"num_frames": n, "num_flow": n - 1, "height": h, "width": w}


def extract_video_flow(
    video_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    method: str = "dis",
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    estimator: FlowEstimator | None = None,
    backend: str = "auto",
) -> dict:
    """Decode one video and write its frame folder: N ``img_*.jpg`` and N-1 ``flow_{x,y}_*.jpg``.

    Names are 1-based (``img_00001.jpg``); flow frame ``i`` is the flow from RGB frame ``i`` to
    ``i + 1``, quantised with ``bound`` (:func:`quantize_flow`). Frames come from the exact sequential
    decode :func:`tsnlib.decoding.iter_frames` (``backend``; streamed, never the whole video in
    memory; turned upright by the file's rotation flag); a
    truncated or unreadable video raises :class:`~tsnlib.errors.DecodeError` naming it. The folder appears atomically (see
    :func:`write_flow_folder`). Returns ``{"num_frames": N, "num_flow": N - 1, "height", "width"}``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    video_path = Path(video_path)
    return write_flow_folder(
        iter_frames(video_path, backend=backend), out_dir, method=method, bound=bound, short_side=short_side, size=size,
        jpeg_quality=jpeg_quality, estimator=estimator, source=video_path,
    )


# -- dataset-level extraction (worker processes) ----------------------------------------------

_WORKER_ESTIMATOR: FlowEstimator | None = None


def _init_worker(method: str, options: dict) -> None:
    """Process-pool initialiser: one OpenCV thread per process, one estimator per process."""
    global _WORKER_ESTIMATOR
    cv2 = _cv2()
    cv2.setNumThreads(1)
    _WORKER_ESTIMATOR = FlowEstimator(method, **options)


def _extract_one(video_path: str, out_dir: str, kwargs: dict) -> dict:
    return extract_video_flow(video_path, out_dir, estimator=_WORKER_ESTIMATOR, **kwargs)


def _as_record(item):
    """A VideoRecord-like object for a record or a bare path."""
    if hasattr(item, "path") and hasattr(item, "video_id"):
        return item
    from tsnlib.annotations import VideoRecord

    p = Path(item)
    return VideoRecord(path=p, label=-1, num_frames=None, video_id=p.stem, source=None, num_flow_frames=None)


def _target_folder(record, out_root: Path, level: int) -> Path:
    name = getattr(record, "folder_name", None) or record.video_id  # a segment: the folder of its whole video
    if level == 1:
        return out_root / name
    if level == 2:
        return out_root / Path(record.path).parent.name / name
    raise ValueError(f"level must be 1 (out/<video>) or 2 (out/<class folder>/<video>), got {level}")


def _frame_record(record, folder: Path, num_frames: int, num_flow: int):
    if dataclasses.is_dataclass(record):
        return dataclasses.replace(record, path=folder, num_frames=num_frames, num_flow_frames=num_flow)
    from tsnlib.annotations import VideoRecord

    return VideoRecord(path=folder, label=record.label, num_frames=num_frames, video_id=record.video_id,
                       source=getattr(record, "source", None), num_flow_frames=num_flow)


def extract_dataset_flow(
    records: Sequence,
    out_root: str | os.PathLike,
    method: str = "dis",
    workers: int | None = None,
    bound: float = DEFAULT_BOUND,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    jpeg_quality: int = 95,
    progress: bool = True,
    resume: bool = True,
    level: int = 2,
    backend: str = "auto",
    **method_options,
):
    """Extract frame folders for many videos in parallel, resumably; never stop at the first failure.

    ``records``: :class:`tsnlib.annotations.VideoRecord` objects (or plain video paths). Each video
    goes to ``<out_root>/<class folder>/<video_id>`` (``level=2``, the default: MMAction2's
    layout, the one ``tsnlib frames`` writes and ``tsnlib lists --kind frames`` reads; the class
    folder is the name of the folder holding the video) or ``<out_root>/<video_id>`` (``level=1``,
    the flat layout of the original Caffe TSN).

    * Parallel across videos with worker processes (``workers=None``: one per CPU core, at most one
      per video; ``workers`` 0 or 1: in this process), each with ``cv2.setNumThreads(1)`` and one
      :class:`FlowEstimator`.
    * Resumable (``resume=True``): a finished folder (:func:`is_complete_flow_folder`) is kept as
      it is; half-written ``*.tmp-*`` folders are deleted and those videos redone. ``resume=False``
      redoes everything. Two extractions into the same ``out_root`` at once are not supported.
    * A video that fails is listed and the others go on; at the end a summary of the failures is
      printed. Videos that would share a folder (``clip.mp4`` and ``clip.avi`` in one class
      folder) are failures too, each naming the other (:func:`tsnlib.utils.folder_conflicts`).
    * ``backend``: the video decoder (:func:`tsnlib.decoding.iter_frames`).
    * The method, its options, the bound, the sizes and the JPEG quality are kept in
      ``out_root/flow.json`` (:data:`FLOW_STAMP`, :func:`tsnlib.utils.guard_settings`, the check
      ``tsnlib frames`` makes too): a later run with other ones raises
      :class:`~tsnlib.errors.DataError` naming them, unless ``resume=False`` (everything again).

    Workers are started with the ``spawn`` method (safe after torch, CUDA or OpenCV threads
    started in this process), which re-imports the main module: a *script* that calls this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard (notebooks do not).

    Returns ``(frame_records, failures)``: ``frame_records`` in input order without the failed
    videos, each a copy of its record with ``path`` = the frame folder, ``num_frames`` = N RGB
    frames and ``num_flow_frames`` = N-1; ``failures`` a list of ``(video path, error message)``.
    Write list files from them with :func:`write_flow_lists`.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    from tsnlib.utils import folder_conflicts, run_per_video

    out_root = Path(out_root)
    recs = [_as_record(r) for r in records]
    targets = [_target_folder(r, out_root, level) for r in recs]
    conflicts = folder_conflicts([r.path for r in recs], targets)
    # fail early, in this process, on a method that cannot run (missing contrib build, weights)
    FlowEstimator(method, **method_options)
    settings = extraction_settings(short_side, size, method=str(method).lower(), bound=float(bound),
                                   options={k: method_options[k] for k in sorted(method_options)},
                                   jpeg_quality=int(jpeg_quality))
    guard_settings(out_root, FLOW_STAMP, settings, redo=not resume,
                   hint="keep the old settings, choose another output folder, or pass resume=False (tsnlib flow "
                        "--no-resume) to extract everything again")

    results: dict[int, dict] = {}
    todo: list[int] = []
    for i, t in enumerate(targets):
        if i in conflicts:
            continue
        if resume and is_complete_flow_folder(t):
            c = count_frames(t)
            results[i] = {"num_frames": c["img"], "num_flow": c["flow_x"]}
            remove_stale_tmp(t)
        else:
            todo.append(i)
    kwargs = dict(bound=bound, short_side=short_side, size=size, jpeg_quality=jpeg_quality, backend=backend)
    out_root.mkdir(parents=True, exist_ok=True)
    jobs = {i: (str(recs[i].path), str(targets[i]), kwargs) for i in todo}
    extracted, failures = run_per_video(_extract_one, jobs, {i: recs[i].path for i in todo}, workers=workers,
                                        desc=f"flow ({method})", show_progress=progress, initializer=_init_worker,
                                        initargs=(method, dict(method_options)))
    failures = [(str(recs[i].path), message) for i, message in conflicts.items()] + failures
    results.update(extracted)

    frame_records = [
        _frame_record(recs[i], targets[i], results[i]["num_frames"], results[i]["num_flow"])
        for i in range(len(recs)) if i in results
    ]
    skipped = len(recs) - len(todo) - len(conflicts)
    summary = f"flow: {len(recs)} videos, {len(extracted)} extracted, {skipped} already done, {len(failures)} failed"
    if progress or failures:
        print(summary)
    for path, message in failures:
        print(f"  FAILED {path}: {message}")
    return frame_records, failures


def write_flow_lists(
    frame_records: Sequence,
    rgb_list: str | os.PathLike,
    flow_list: str | os.PathLike,
    root: str | os.PathLike | None = None,
) -> tuple[Path, Path]:
    """Write the rawframe list and the flow list: lines ``<frame_dir> <count> <label>``.

    The RGB list uses each record's ``num_frames`` (N), the flow list its ``num_flow_frames``
    (N-1): one list with the RGB count would make a flow loader read one frame past the end
    (tsn-pytorch issue #84). Written by :func:`tsnlib.annotations.write_list_file`
    (``kind="frames"`` and ``kind="flow"``): ``frame_dir`` relative to ``root`` (default: each
    list's own folder), ``/`` separators; a record without a label or count raises
    :class:`~tsnlib.errors.DataError`. Returns the two paths.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    from tsnlib.annotations import write_list_file

    frame_records = list(frame_records)
    rgb = write_list_file(frame_records, rgb_list, kind="frames", root=root)
    flow = write_list_file(frame_records, flow_list, kind="flow", root=root)
    return Path(rgb), Path(flow)


# -- a whole dataset, ready for the temporal stream ------------------------------------------

#: The stamp :func:`prepare_flow_dataset` keeps in a frames folder: how its flow was made, from what.
FLOW_STAMP = "flow.json"


def _source_identity(root: Path) -> dict:
    """What the frame folders were made from: a synthetic dataset's generator key, else the root's path."""
    from tsnlib.synthetic import MANIFEST

    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            m = {}
        keys = ("generator", "version", "layout", "size", "seed", "codec", "videos_per_class", "num_videos")
        return {"synthetic": {k: m.get(k) for k in keys}}
    return {"root": str(root.resolve())}


def prepare_flow_dataset(
    root: str | os.PathLike,
    frames_root: str | os.PathLike | None = None,
    split: int = 1,
    method: str = "dis",
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
    bound: float = DEFAULT_BOUND,
    jpeg_quality: int = 95,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    backend: str = "auto",
    **method_options,
) -> dict:
    """Everything the temporal stream needs from a UCF101 / HMDB51 root: frame folders, flow, lists.

    ``root``: a dataset in the UCF101 or HMDB51 layout (the synthetic set included). Every video of
    the train and test lists of ``split`` (and of the val list, where the root has one: the synthetic
    UCF101 layout's ``vallist0N.txt``) is extracted by :func:`extract_dataset_flow` into
    ``frames_root/<class folder>/<video_id>/`` (default ``frames_root = root/rawframes``, MMAction2's
    place; ``img_*.jpg``, ``flow_x_*.jpg``, ``flow_y_*.jpg``, 1-based), resumably and in parallel
    (``workers``); then :func:`tsnlib.annotations.build_lists` writes into ``frames_root``
    ``classInd.txt`` and, per subset (train, test, and val with a val list),
    ``<dataset>_<subset>_split_<split>_rawframes.txt`` (RGB counts) and ``..._flow.txt`` (flow
    counts). A config then reads them with ``data.dataset=list``, ``data.root=<frames_root>``,
    ``data.source=frames`` (the ``tsn_*_flow`` presets). ``backend``: the video decoder
    (:func:`tsnlib.decoding.iter_frames`; not part of the stamp below).

    ``frames_root/flow.json`` records how the flow was made (method, bound, sizes, quality, method
    options) and from what (a synthetic dataset's generator version, size and seed; else the root's
    path). On the next call:

    * same stamp: finished videos are skipped (a second call costs only the folder checks);
    * the synthetic dataset was regenerated (another generator version, size or seed): the frame
      folders belong to videos that no longer exist and are deleted, then extracted again;
    * other extraction settings: :class:`~tsnlib.errors.DataError`, so that hours of extracted flow
      are never replaced by accident; pass another ``frames_root``, or ``overwrite=True`` (CLI:
      ``--no-resume``), which extracts every video again.

    A folder without a stamp (frames from elsewhere, e.g. denseflow) is resumed as it is. A video that
    fails does not stop the others; the failures are then raised together as one
    :class:`~tsnlib.errors.DataError` (the finished videos are kept: fix and call again).

    Returns ``{"frames_root", "lists" (paths written), "videos", "extracted", "reused", "seconds",
    "stamp"}``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    from tsnlib.annotations import available_subsets, build_lists, detect_layout, load_annotations

    root = Path(root)
    layout = detect_layout(root)
    if layout not in ("ucf101", "hmdb51"):
        raise DataError(f"prepare_flow_dataset needs a UCF101 or HMDB51 root with official splits, found layout "
                        f"{layout!r}; for other datasets use extract_dataset_flow and write_flow_lists", path=root)
    frames_root = Path(frames_root) if frames_root is not None else root / "rawframes"
    FlowEstimator(method, **method_options)  # fail early on a method that cannot run here
    stamp = {
        "method": str(method).lower(),
        "options": {k: method_options[k] for k in sorted(method_options)},
        "bound": float(bound),
        "short_side": None if short_side is None else int(short_side),
        "size": None if size is None else [int(size[0]), int(size[1])],
        "jpeg_quality": int(jpeg_quality),
        "source": _source_identity(root),
        "layout": layout,
    }
    old = read_stamp(frames_root / FLOW_STAMP)
    if old is not None and old != stamp:
        settings = {k: v for k, v in stamp.items() if k != "source"}
        old_settings = {k: v for k, v in old.items() if k != "source"}
        regenerated = "synthetic" in old.get("source", {}) and old.get("source") != stamp["source"]
        if overwrite or (regenerated and settings == old_settings):
            why = "overwrite=True" if overwrite else (
                f"the synthetic dataset changed ({old['source']['synthetic']} -> {stamp['source'].get('synthetic')})")
            if progress:
                print(f"flow: removing the frame folders in {frames_root}: {why}")
            shutil.rmtree(frames_root)
        else:
            raise DataError(
                f"these frame folders were extracted with other settings ({stamp_changes(old, stamp)}); keep the old "
                "settings, choose another frames_root, or pass overwrite=True (tsnlib flow --no-resume) to extract "
                "everything again", path=frames_root / FLOW_STAMP)
    start = time.perf_counter()
    records: dict[Path, object] = {}
    for subset in available_subsets(root, split, layout):
        for r in load_annotations(root, split=split, subset=subset, kind=layout)[0]:
            records.setdefault(Path(r.path), r)
    recs = list(records.values())
    done = 0 if overwrite else sum(is_complete_flow_folder(_target_folder(r, frames_root, 2)) for r in recs)
    write_stamp(frames_root / FLOW_STAMP, stamp)
    _, failures = extract_dataset_flow(recs, frames_root, method=method, workers=workers, bound=bound,
                                       short_side=short_side, size=size, jpeg_quality=jpeg_quality,
                                       progress=progress, resume=not overwrite, level=2, backend=backend,
                                       **method_options)
    if failures:
        listed = "; ".join(f"{p}: {m}" for p, m in failures[:5])
        raise DataError(f"flow extraction failed for {len(failures)} of {len(recs)} videos ({listed}); the others "
                        "are done and kept: fix or remove those videos, then call again", path=root)
    lists = build_lists(root, frames_root, kind="frames", splits=[int(split)], dataset=layout, frames_root=frames_root)
    return {"frames_root": frames_root, "lists": lists, "videos": len(recs), "extracted": len(recs) - done,
            "reused": done, "seconds": time.perf_counter() - start, "stamp": stamp}


# ----------------------------------------------------------------------------------------------
# Quality against the synthetic ground truth
# ----------------------------------------------------------------------------------------------


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
    from tsnlib.synthetic import actor_mask, load_truth, true_flow, true_flow_mask

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


# ----------------------------------------------------------------------------------------------
# Command line: tsnlib flow
# ----------------------------------------------------------------------------------------------


def add_flow_arguments(parser) -> None:
    """Arguments of ``tsnlib flow ROOT_OR_LIST --out DIR [--method dis] [--workers N] ...``."""
    parser.add_argument("source", help="a dataset root or list file (read with tsnlib.annotations), or a folder of videos")
    parser.add_argument("--out", required=True, help="output root: one frame folder per video")
    parser.add_argument("--method", default="dis", choices=FLOW_METHODS, help="flow method (default: dis)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core)")
    add_resize_arguments(parser)
    parser.add_argument("--warp", action="store_true",
                        help="warped flow (the camera's motion, fitted as a homography, removed; TSN's fourth "
                             "modality): write it to its own --out folder")
    parser.add_argument("--bound", type=float, default=DEFAULT_BOUND, help="quantisation bound in pixels (default: 20)")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="JPEG quality (default: 95)")
    parser.add_argument("--split", type=int, default=1, help="split number for UCF101/HMDB51 roots (default: 1)")
    parser.add_argument("--subset", default=None, help="train, val or test (default: all the dataset has)")
    parser.add_argument("--level", type=int, default=2, choices=(1, 2),
                        help="2: out/<class>/<video> (default, as tsnlib frames), 1: out/<video>")
    parser.add_argument("--no-resume", action="store_true", help="redo videos whose folders are already complete")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="video decoder: auto (PyAV's sequential decode, the reference), pyav or decord")


def _records_from_source(source: Path, split: int, subset: str | None) -> list:
    """Records for ``tsnlib flow``: what :func:`tsnlib.annotations.load_annotations` reads from
    ``source`` (every subset it has, :func:`tsnlib.annotations.available_subsets`: train, test and
    val where there is a val list, unless one is named; each video once), else the videos of a
    plain folder, unlabelled (label -1)."""
    from tsnlib.annotations import available_subsets, load_annotations

    if not source.exists():
        raise DataError("path not found", path=source, hint="give a dataset folder, a list file or a folder of videos")
    try:
        records = []
        for s in [subset] if subset else available_subsets(source, split):
            records.extend(load_annotations(source, split=split, subset=s)[0])
    except (DataError, OSError) as exc:
        videos = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS) \
            if source.is_dir() else []
        if not videos:
            raise DataError(f"neither a dataset tsnlib.annotations can read ({exc}) nor a folder of videos",
                            path=source) from exc
        print(f"{source}: not an annotated dataset ({exc}); extracting its {len(videos)} videos without labels")
        return [_as_record(p) for p in videos]
    unique: dict[Path, object] = {}
    for r in records:
        unique.setdefault(Path(r.path), r)
    return list(unique.values())


def _warp_option(args) -> dict:
    """``{"warp": True}`` for ``tsnlib flow --warp`` (a method option: it goes into the settings stamp), else ``{}``."""
    return {"warp": True} if getattr(args, "warp", False) else {}


def cli_flow(args) -> int:
    """``tsnlib flow``: extract frame folders, then write the list files into ``--out``.

    For a UCF101/HMDB51 root with ``--level 2`` and no ``--subset``: :func:`prepare_flow_dataset`
    (every subset of split ``--split``, val included where the root has a val list, the settings
    stamp ``flow.json``, and the official lists
    ``<dataset>_<subset>_split_<n>_rawframes.txt`` with RGB counts, ``..._flow.txt`` with flow
    counts, and ``classInd.txt``, by :func:`tsnlib.annotations.build_lists`); for a benchmark root
    (Kinetics, ActivityNet, ...; ``--level 2``, no ``--subset``), every video of every subset, then
    its official lists by :func:`tsnlib.annotations.build_lists` (ActivityNet at clip level, HVU's
    action tags: ``tsnlib lists --kind frames`` writes the others); otherwise ``rgb_list.txt`` and
    ``flow_list.txt`` (:func:`write_flow_lists`), when every video has a label.
    Returns 1 when a video failed (the others are done and listed), else 0.
    """
    from tsnlib.annotations import BENCHMARK_LAYOUTS, build_lists, detect_layout
    resize = extraction_settings(args.short_side, args.size)
    short_side, size = resize["short_side"], parse_size(resize["size"])
    source = Path(args.source)
    out = Path(args.out)
    try:
        layout = detect_layout(source)
    except Exception:  # noqa: BLE001 - a plain folder of videos has no layout
        layout = None
    if layout in ("ucf101", "hmdb51") and args.level == 2 and args.subset is None:
        # the whole split, with the stamp that protects the folder from mixed settings
        try:
            info = prepare_flow_dataset(
                source, out, split=args.split, method=args.method, short_side=short_side,
                size=size, bound=args.bound, jpeg_quality=args.jpeg_quality,
                workers=args.workers, overwrite=args.no_resume, backend=getattr(args, "backend", "auto"),
                **_warp_option(args))
        except DataError as exc:
            print(f"error: {exc}")
            return 1
        for p in info["lists"]:
            print(f"wrote {p}")
        return 0
    records = _records_from_source(source, args.split, args.subset)
    frame_records, failures = extract_dataset_flow(
        records, out, method=args.method, workers=args.workers, bound=args.bound,
        short_side=short_side, size=size, jpeg_quality=args.jpeg_quality, resume=not args.no_resume,
        level=args.level, backend=getattr(args, "backend", "auto"), **_warp_option(args),
    )
    if failures:
        print("no list files written: some videos failed (fix or remove them, then run again: done videos are kept)")
        return 1
    if layout in BENCHMARK_LAYOUTS and args.level == 2 and args.subset is None:
        for p in build_lists(source, out, kind="frames", dataset=layout, frames_root=out):
            print(f"wrote {p}")
        return 0
    if frame_records and all(r.label >= 0 for r in frame_records):
        rgb, flow = write_flow_lists(frame_records, out / "rgb_list.txt", out / "flow_list.txt", root=out)
        print(f"wrote {rgb} (RGB counts) and {flow} (flow counts), {len(frame_records)} lines each, paths relative to {out}")
    elif frame_records:
        print("no list files written: the videos have no labels (give a dataset root, list file or class folders)")
    return 0
