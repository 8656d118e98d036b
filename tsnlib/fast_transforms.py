"""CPU fast paths of :mod:`tsnlib.transforms`: the very values of the plain code, computed sooner.

Read :mod:`tsnlib.transforms` to learn what the transforms compute; this module only changes how
two steps run on the CPU, and stays only because a benchmark shows that each pays on the course's
own pipelines (``benchmarks/bench_fast_transforms.py``: about 6 % of the CPU time of the test
protocol of the course presets, one path each; on the training pipelines both are within 1-2 %):

* :func:`resize`: uint8 optical-flow frames ``(T, 2, H, W)`` resized two at a time, packed as one
  RGBA image (``tsn_r8_synthetic_flow``'s three-crop test resizes every flow frame);
* :func:`normalize_views`: RGB and flow views normalised by a 256-entry look-up table per channel
  (``tsn_r8_synthetic_rgb``'s 25 x 10 test views, normalised by the model on the CPU).

Each function returns None where it does not apply (another dtype, device or layout); the caller
then takes the plain path. Both are bit-identical to the plain path (``tests/test_fast_transforms.py``).
``ENABLED = False`` switches them off, so that the plain path runs everywhere (the benchmark and the
tests compare the two that way).

Used by :mod:`tsnlib.transforms` (``_resize``, ``normalize_views``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

#: False: every function here returns None, and the plain path of :mod:`tsnlib.transforms` runs.
ENABLED = True

#: PyTorch's uint8 antialiased resize works on 4-byte pixels with AVX2 (see :func:`resize`).
_HAS_AVX2 = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")

_TABLES: dict = {}


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor | None:
    """``F.resize(x, [height, width], antialias=True)`` of uint8 flow frames ``(T, 2, H, W)`` on the CPU; else None.

    On CPUs with AVX2, PyTorch resizes uint8 frames with ``C <= 4`` channels in a kernel that works
    on 4-byte pixels: channels-last RGB and RGBA are read as they are, anything else is first
    unpacked pixel by pixel into 4-byte pixels (each channel is filtered on its own). Flow frames
    (``C = 2``) would be unpacked with half of every pixel padding; packing two frames' ``(x, y)``
    into one RGBA image with ``cv2.merge`` does that unpacking for it, with no padding, and
    ``cv2.split`` turns the result back into planar frames: the same kernel on the same 4-byte
    pixels, so the same values, about twice as fast. Output: planar ``(T, 2, height, width)`` uint8.
    """
    if not (ENABLED and _HAS_AVX2 and x.ndim == 4 and x.dtype == torch.uint8 and x.device.type == "cpu"
            and x.shape[1] == 2 and x.numel() > 0):
        return None
    t, _, h, w = x.shape
    pairs = (t + 1) // 2
    hwc = x.permute(0, 2, 3, 1).numpy()  # (T, H, W, 2) views, any strides
    rgba = np.empty((pairs, h, w, 4), np.uint8)
    for p in range(pairs):
        second = hwc[2 * p + 1] if 2 * p + 1 < t else np.zeros((h, w, 2), np.uint8)
        row = rgba[p]
        packed = cv2.merge((hwc[2 * p], second), row)
        if packed is not row:  # cv2 writes into the given row; copy if it ever allocated
            np.copyto(row, packed)
    small = F.resize(torch.from_numpy(rgba).permute(0, 3, 1, 2), [height, width],
                     interpolation=InterpolationMode.BILINEAR, antialias=True)
    quads = small.permute(0, 2, 3, 1).numpy()  # (pairs, height, width, 4), channels-last output of the kernel
    out = torch.empty((pairs * 2, 2, height, width), dtype=torch.uint8)
    planes = out.numpy()
    for p in range(pairs):
        dst = [planes[2 * p, 0], planes[2 * p, 1], planes[2 * p + 1, 0], planes[2 * p + 1, 1]]
        got = cv2.split(quads[p], dst)
        for plane, res in zip(dst, got):
            if res is not plane:
                np.copyto(plane, res)
    return out[:t]


def _table(modality: str, clip_len: int, channels: int, plain: Callable) -> np.ndarray:
    """Every uint8 value's normalised float32 value, per channel: ``(1, 256, C)``, or ``(1, 256)`` when
    every channel has the same table (flow).

    Made by ``plain`` itself (the plain normaliser) on the 256 values of every channel, so that a
    look-up gives exactly its values.
    """
    key = (modality, int(clip_len), int(channels))
    if key not in _TABLES:
        values = torch.arange(256, dtype=torch.uint8).view(1, 1, 256, 1).expand(1, channels, 256, 1)
        table = plain(values, modality, clip_len).reshape(channels, 256).T.contiguous()  # (256, C)
        if bool((table == table[:, :1]).all()):
            _TABLES[key] = np.ascontiguousarray(table[:, 0].numpy()).reshape(1, 256)
        else:
            _TABLES[key] = np.ascontiguousarray(table.numpy()).reshape(1, 256, channels)
    return _TABLES[key]


def normalize_views(x: torch.Tensor, modality: str, clip_len: int, out: torch.Tensor | None,
                    plain: Callable) -> torch.Tensor | None:
    """:func:`tsnlib.transforms.normalize_views` of checked uint8 RGB or flow views on the CPU by look-up table; else None.

    ``plain(views, modality, clip_len)`` is the plain normaliser; it makes the table
    (:func:`_table`). OpenCV's ``LUT`` maps each uint8 to its float32 value in one pass that reads
    a byte and writes a float, instead of a conversion, a subtraction and a division over the float
    tensor (about twice as fast, and no temporary). Works on channels-last (interleaved) views and
    on planar ones, into ``out`` when given; returns None for any other layout, modality or device.
    """
    if not ENABLED or modality not in ("RGB", "Flow") or x.device.type != "cpu" or x.ndim < 3:
        return None
    c, h, w = x.shape[-3:]
    try:
        x4 = x.view(-1, c, h, w)
    except RuntimeError:
        return None
    interleaved = x4.is_contiguous(memory_format=torch.channels_last)
    if not (interleaved or x4.is_contiguous()) or c > 512 or x4.numel() == 0:
        return None
    fmt = torch.channels_last if interleaved else torch.contiguous_format
    if out is None:
        out = torch.empty(x4.shape, dtype=torch.float32, memory_format=fmt)
    out4 = out.view(x4.shape)
    if not out4.is_contiguous(memory_format=fmt):
        return None
    lut = _table(modality, clip_len, c, plain)
    n = x4.shape[0]
    if interleaved:  # (N * H, W) pixels of C channels, a C-channel table (or one table for all)
        pixels = (n * h, w, c)
        pairs = [(x4.permute(0, 2, 3, 1).numpy().reshape(pixels), out4.permute(0, 2, 3, 1).numpy().reshape(pixels), lut)]
    elif lut.ndim == 2:  # planar, one table for every channel
        pairs = [(x4.numpy().reshape(n * c, h * w), out4.numpy().reshape(n * c, h * w), lut)]
    else:  # planar, channel k's planes with channel k's table (rows of the view are C planes apart)
        src, dst = x4.numpy().reshape(n, c, h * w), out4.numpy().reshape(n, c, h * w)
        pairs = [(src[:, k], dst[:, k], np.ascontiguousarray(lut[0, :, k]).reshape(1, 256)) for k in range(c)]
    for src, dst, table in pairs:
        got = cv2.LUT(src, table, dst)
        if got is not dst:  # cv2 writes into the given array; copy if it ever allocated
            np.copyto(dst, got)
    return out.view(x.shape) if out.shape != x.shape else out
