"""Optical flow between two frames: one call for every method, built once and reused.

Methods, all behind one :class:`FlowEstimator`:

* ``"dis"`` (default): OpenCV's Dense Inverse Search, fast preset, on grayscale. Fast on a CPU.
* ``"farneback"``: OpenCV's polynomial-expansion flow, on grayscale.
* ``"tvl1"``: OpenCV's Dual TV-L1 (``cv2.optflow``), the paper's choice; needs the *contrib*
  build of OpenCV (``opencv-contrib-python-headless`` instead of ``opencv-python-headless``) and
  is slow on a CPU.
* ``"raft"``: torchvision's RAFT (small or large) when its weights are already on disk; nothing
  is ever downloaded.

Any of them gives *warped* flow with ``warp=True`` (:mod:`tsnlib.camera_motion`). Frames are uint8
``(H, W, 3)`` RGB (or ``(H, W)`` grey); flow is float32 ``(H, W, 2)``, ``(dx, dy)`` in pixels.

Part of :mod:`tsnlib.flow`, which notebooks/04_optical_flow_stream.ipynb introduces
(as ``flow.<name>``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tsnlib.camera_motion import warped_flow
from tsnlib.utils import get_device

#: The method names :class:`FlowEstimator` accepts.
FLOW_METHODS = ("dis", "farneback", "tvl1", "raft")

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


def _to_gray(img: np.ndarray, name: str) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"{name}: expected uint8 frames, got {img.dtype}")
    if img.ndim == 2:
        return np.ascontiguousarray(img)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    raise ValueError(f"{name}: expected an RGB frame (H, W, 3) or a grey frame (H, W), got shape {img.shape}")


def _hub_checkpoint_dir() -> Path:
    import torch  # noqa: PLC0415 - heavy, and only RAFT needs it: extraction workers with DIS never load it

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
        optflow = getattr(cv2, "optflow", None)
        if optflow is None or not hasattr(optflow, "DualTVL1OpticalFlow_create"):
            raise FlowUnavailableError(_TVL1_INSTALL)
        self._impl = optflow.DualTVL1OpticalFlow_create(**options)
        self._gray = True

    def _build_raft(self, options: dict) -> None:
        import torch  # noqa: PLC0415 - RAFT only: torch and torchvision are loaded when RAFT is built
        import torchvision.models.optical_flow as tv_flow  # noqa: PLC0415

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
            device = get_device(verbose=False)
        self._device = torch.device(device)
        self._impl = model.eval().to(self._device)
        self._gray = False
        self.weights_path = path

    # -- call -----------------------------------------------------------------------------------
    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        if self.warp:
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
        import torch  # noqa: PLC0415 - RAFT only, see _build_raft
        import torch.nn.functional as F  # noqa: PLC0415

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


def available_flow_methods() -> dict[str, bool | str]:
    """``{method: True or the reason it cannot run}`` for :data:`FLOW_METHODS`, for ``tsnlib info``.

    Introduced in notebooks/04_optical_flow_stream.ipynb.
    """
    status: dict[str, bool | str] = {}
    status["dis"] = True if hasattr(cv2, "DISOpticalFlow_create") else "this OpenCV build has no DIS optical flow"
    status["farneback"] = True if hasattr(cv2, "FarnebackOpticalFlow_create") else "this OpenCV build has no Farneback flow"
    optflow = getattr(cv2, "optflow", None)
    status["tvl1"] = True if optflow is not None and hasattr(optflow, "DualTVL1OpticalFlow_create") else _TVL1_INSTALL
    try:
        import torchvision.models.optical_flow  # noqa: F401, PLC0415 - RAFT only, see _build_raft

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
