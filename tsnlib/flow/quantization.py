"""Flow as the temporal stream stores it: quantised to grey levels, and flipped.

The temporal stream of TSN reads *flow frames*, two grayscale JPEGs per pair of consecutive frames
(``flow_x_00001.jpg``, ``flow_y_00001.jpg``), each pixel the flow component clipped to
``[-bound, bound]`` pixels and mapped to ``0..255`` (§3.6 of the reference notes). These small pure
functions are that mapping, its inverse, and the horizontal flip that must negate ``x``.

Layouts: flow in pixels is float ``(..., H, W, 2)`` with channels ``(dx, dy)``; quantised flow is
uint8 of the same shape.

Part of :mod:`tsnlib.flow`, which notebooks/04_optical_flow_stream.ipynb introduces
(as ``flow.<name>``).
"""

from __future__ import annotations

import numpy as np

#: The bound (pixels) used by every TSN flow release: ``bound=20`` in the extraction scripts.
DEFAULT_BOUND = 20.0


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
