"""CPU fast path of :mod:`tsnlib.transforms`: the very values of the plain code, computed sooner.

Read :mod:`tsnlib.transforms` to learn what the transforms compute; this module only changes how
one step runs on the CPU, and stays only while a benchmark shows that it pays on the course's own
pipelines (``benchmarks/bench_fast_transforms.py``):

* :func:`resize`: uint8 optical-flow frames ``(T, 2, H, W)`` resized two at a time, packed as one
  RGBA image. ``tsn_r8_synthetic_flow``'s three-crop test resizes every flow frame it reads, and
  this saves about 5 % of its CPU time (4.4-7.5 % over five runs of the benchmark, median 4.8 %,
  2026-12-07); on the training epochs 0-3 %, on the RGB presets nothing (they resize no flow).

It returns None where it does not apply (another dtype, device, layout or channel count, or a CPU
without AVX2); the caller then takes the plain path. It is bit-identical to the plain path
(``tests/test_fast_transforms.py``). ``ENABLED = False`` switches it off, so that the plain path
runs everywhere (the benchmark and the tests compare the two that way).

Used by :func:`tsnlib.transforms._resize` (every resize of the transforms).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

#: False: every function here returns None, and the plain path of :mod:`tsnlib.transforms` runs.
ENABLED = True

#: PyTorch's uint8 antialiased resize works on 4-byte pixels with AVX2 (see :func:`resize`).
_HAS_AVX2 = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


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
