"""Group transforms: one random crop, scale and flip shared by every frame of a TSN sample.

Introduced in notebooks/02_segment_sampling.ipynb.

A training sample is ``K`` snippets of ``clip_len`` frames. TSN augments them as one *group*: the
same crop box, the same scale and the same flip for every frame, otherwise the snippets of a video
(and the consecutive frames of a flow stack) would no longer line up. With torchvision's v2
transforms this comes for free: the frames travel as one ``torchvision.tv_tensors.Video`` of shape
``(T, C, H, W)`` (``T = num_clips * clip_len`` frames in clip-major order, ``C = 3`` for RGB, ``C = 2``
for flow x/y, ``uint8``) and a v2 transform draws its random parameters once per call. This module
uses v2 where it does the job (``Resize``, ``RandomResizedCrop``, ``resize``, ``horizontal_flip``)
and adds what TSN needs that v2 lacks:

* :class:`MultiScaleCrop`: TSN's corner cropping with a random scale (section 3.4 of the
  reference notes), plus the pure functions :func:`multiscale_crop_sizes` and
  :func:`fixed_crop_offsets` behind it;
* :class:`RandomHorizontalFlip` that also inverts the x component of optical flow;
* :class:`ThreeCrop` / :class:`TenCrop` for the test protocol, adding a leading *view* dimension
  ``(V, T, C, h, w)``; ten-crop mirrors invert flow-x too (MMAction2 forgets this);
* :class:`NormalizeRGB`, :class:`NormalizeFlow`, :class:`RGBDiff` (uint8 → float32);
* :class:`FormatShape`: the network input ``(V * num_clips, clip_len * C, H, W)``, float32;
* presets :func:`train_transform`, :func:`val_transform`, :func:`test_transform`;
* :func:`normalize_views`: the normalisation moved to the model's device. With ``normalize=False``
  the presets stop at uint8 views and the TSN model normalises them where it runs, as MMAction2
  1.x's data preprocessor does; the training and test pipelines of :mod:`tsnlib.experiment` work
  this way (a quarter of the bytes from the loader workers to the model, no float work in them).

Crops are cut *before* resizing: the presets compute the crop box on the frame as it would be after
resizing its short side to ``scale_size`` (the geometry every reference uses), map the box back to
the decoded frame and resize only the crop, once, to ``input_size`` (one interpolation instead of
two). Random draws use torch's generator (as v2 does), so ``torch.manual_seed`` or a DataLoader's
per-worker seeding makes them reproducible.

What you read here is the whole computation, and the only route it takes. CPU fast paths that gave
the same values sooner were measured end to end on the course's jobs and removed when they saved under
5 % of one (``git log -- tsnlib/fast_transforms.py``): a fused crop-flip-normalise route and a
look-up-table normaliser (under 2 %), and last flow frames resized two per RGBA image (4.4-4.8 % of
the flow preset's three-crop test on a quiet machine, 0-3 % of its training epoch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


#: ImageNet statistics (RGB order, on ``[0, 1]`` values) used by every torchvision backbone.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Multi-scale crop scales of tsn-pytorch / Caffe TSN: RGB, and flow / RGB difference.
RGB_SCALES = (1.0, 0.875, 0.75, 0.66)
FLOW_SCALES = (1.0, 0.875, 0.75)

#: The modalities of the library (datasets deliver them, models take them), with the channels one frame of
#: each contributes (flow: x and y; RGB difference: 3): the one definition.
MODALITY_CHANNELS = {"RGB": 3, "Flow": 2, "RGBDiff": 3}
MODALITIES = tuple(MODALITY_CHANNELS)

_BILINEAR = v2.InterpolationMode.BILINEAR


# ---------------------------------------------------------------------------------------------
# pure geometry (testable, plottable)
# ---------------------------------------------------------------------------------------------


def resized_short_side_size(width: int, height: int, size: int) -> tuple[int, int]:
    """``(w, h)`` of a ``width x height`` frame after resizing its short side to ``size``.

    The long side is ``int(size * long / short)`` (truncated), as ``v2.Resize(size)`` and
    tsn-pytorch's ``GroupScale`` compute it: 320x240 → 341x256.
    Used by the crops and :class:`ResizeShortSide` to size the frame they see.
    """
    if width <= height:
        return int(size), int(size * height / width)
    return int(size * width / height), int(size)


def multiscale_crop_sizes(
    width: int,
    height: int,
    input_size: int = 224,
    scales: Sequence[float] = RGB_SCALES,
    max_distort: int = 1,
) -> list[tuple[int, int]]:
    """Candidate crop sizes ``[(crop_w, crop_h), ...]`` of TSN's multi-scale crop.

    Introduced in notebooks/02_segment_sampling.ipynb.

    In words: the base is the short side ``min(W, H)``; each scale gives a side ``int(base * s)``,
    snapped to ``input_size`` when within 3 px of it (so the common crop needs no resize); every
    (width, height) pair whose two scale indices differ by at most ``max_distort`` is a candidate
    (the aspect ratio is distorted by at most one scale step). Order: height index outer, width
    index inner, as tsn-pytorch ``GroupMultiScaleCrop`` / MMAction2 ``MultiScaleCrop``. Example
    340x256: sizes 256, 224, 192, 168 → ``(256,256) (224,256) (256,224) (224,224) (192,224)
    (224,192) (192,192) (168,192) (192,168) (168,168)``. Sides are clamped to the frame (a snap
    can otherwise exceed a short side just below ``input_size``, which tsn-pytorch pads black).
    """
    base = min(width, height)
    sides = [int(base * s) for s in scales]
    snapped = [input_size if abs(s - input_size) < 3 else s for s in sides]
    crop_w = [min(s, width) for s in snapped]
    crop_h = [min(s, height) for s in snapped]
    return [
        (w, h)
        for i, h in enumerate(crop_h)
        for j, w in enumerate(crop_w)
        if abs(i - j) <= max_distort
    ]


def fixed_crop_offsets(width: int, height: int, crop_w: int, crop_h: int, more_fix_crop: bool = True) -> list[tuple[int, int]]:
    """The fixed ``(x, y)`` top-left offsets of TSN's corner cropping: 5, or 13 with ``more_fix_crop``.

    Introduced in notebooks/02_segment_sampling.ipynb.

    In words: with quarter steps ``ws = (W - crop_w) // 4`` and ``hs = (H - crop_h) // 4``, the five
    positions are the corners and the centre ``(0,0) (4ws,0) (0,4hs) (4ws,4hs) (2ws,2hs)``; the
    eight more are ``(0,2hs) (4ws,2hs) (2ws,4hs) (2ws,0) (ws,hs) (3ws,hs) (ws,3hs) (3ws,3hs)``, in
    that order (tsn-pytorch ``fill_fix_offset``, Caffe ``fillFixOffset``). Example: a 224x224 crop
    of 340x256 has ``ws = 29, hs = 8`` → ``(0,0) (116,0) (0,32) (116,32) (58,16) ...``. The grid can
    stop up to 3 px short of the true corner (341x256: ``W - crop_w = 117`` but ``4ws = 116``).
    Duplicates are kept (uniform choice over the list, as the references do).
    """
    if crop_w > width or crop_h > height:
        raise ValueError(f"crop {crop_w}x{crop_h} is larger than the {width}x{height} frame")
    ws, hs = (width - crop_w) // 4, (height - crop_h) // 4
    offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
    if more_fix_crop:
        offsets += [
            (0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
            (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs),
        ]
    return offsets


def ten_crop_offsets(width: int, height: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
    """The five ``(x, y)`` offsets of the ten-crop test protocol, at the exact corners.

    Used by :class:`TenCrop`.

    Order: top-left ``(0, 0)``, top-right ``(W - cw, 0)``, bottom-left ``(0, H - ch)``, bottom-right
    ``(W - cw, H - ch)``, centre ``((W - cw) // 2, (H - ch) // 2)``: Caffe TSN's ``oversample``
    convention (the crops touch the frame borders). tsn-pytorch and MMAction2 use the quarter-step
    grid of :func:`fixed_crop_offsets` instead, which can stop up to 3 px short of the corners.
    """
    if crop_w > width or crop_h > height:
        raise ValueError(f"crop {crop_w}x{crop_h} is larger than the {width}x{height} frame; resize first")
    dx, dy = width - crop_w, height - crop_h
    return [(0, 0), (dx, 0), (0, dy), (dx, dy), (dx // 2, dy // 2)]


def three_crop_offsets(width: int, height: int, size: int) -> list[tuple[int, int]]:
    """The three ``(x, y)`` offsets of ``size x size`` squares along the long side, as MMAction2's ``ThreeCrop``.

    With ``step = (long - size) // 2``: left, right, middle (or top, bottom, middle for portrait
    frames) at ``0``, ``2 * step``, ``step``, in that order. When ``long - size`` is odd the right
    (bottom) square stops one pixel short of the edge, as MMAction2's does.
    Used by :class:`ThreeCrop`.
    """
    if size > width or size > height:
        raise ValueError(f"square {size}x{size} does not fit the {width}x{height} frame; resize first")
    if width >= height:
        step = (width - size) // 2
        return [(0, 0), (2 * step, 0), (step, 0)]
    step = (height - size) // 2
    return [(0, 0), (0, 2 * step), (0, step)]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _frame_size(flat_inputs) -> tuple[int, int]:
    """``(H, W)`` of the first tensor among the inputs of a v2 transform."""
    for inpt in flat_inputs:
        if isinstance(inpt, torch.Tensor):
            if inpt.ndim < 3:
                raise ValueError(f"expected frames (..., C, H, W), got a tensor of shape {tuple(inpt.shape)}")
            return int(inpt.shape[-2]), int(inpt.shape[-1])
    raise TypeError("expected a tensor of frames (T, C, H, W), e.g. a torchvision.tv_tensors.Video")


def _randint(n: int) -> int:
    return int(torch.randint(n, (1,)).item())


def _wrap(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Re-wrap a result as the tv_tensor type of ``like`` (Video stays Video), plain otherwise."""
    if isinstance(like, tv_tensors.TVTensor):
        return tv_tensors.wrap(out, like=like)
    return out


def _plain(x: torch.Tensor) -> torch.Tensor:
    return x.as_subclass(torch.Tensor)


def _map_box(x: int, y: int, w: int, h: int, sx: float, sy: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Map a box ``(x, y, w, h)`` from a resized frame to the decoded frame; returns ``(top, left, height, width)``."""
    left, right = round(x * sx), round((x + w) * sx)
    top, bottom = round(y * sy), round((y + h) * sy)
    left, top = min(max(left, 0), width - 1), min(max(top, 0), height - 1)
    right, bottom = min(max(right, left + 1), width), min(max(bottom, top + 1), height)
    return top, left, bottom - top, right - left


def _check_uint8_flow(x: torch.Tensor, who: str) -> None:
    if x.dtype != torch.uint8:
        raise TypeError(f"{who} inverts flow-x as 255 - x and needs uint8 flow frames, got {x.dtype}; flip before normalising")
    if x.ndim < 3 or x.shape[-3] != 2:
        raise ValueError(f"{who}: flow frames have 2 channels (x, y) at dim -3, got shape {tuple(x.shape)}")


def _resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bilinear resize of plain frames ``(..., C, H, W)`` to ``height x width`` (same tensor when no resize).

    ``F.resize(x, [height, width], antialias=True)``.
    """
    if (height, width) == tuple(x.shape[-2:]):
        return x
    return F.resize(x, [height, width], interpolation=_BILINEAR, antialias=True)


def _crop_resize(inpt: torch.Tensor, top: int, left: int, height: int, width: int, size: int) -> torch.Tensor:
    """Cut ``[top:top+height, left:left+width]`` from frames ``(..., C, H, W)`` and resize it to ``size x size``.

    Antialiased bilinear, through :func:`_resize`.
    """
    x = _resize(_plain(inpt)[..., top:top + height, left:left + width], size, size)
    return _wrap(x, inpt)


def _to_float(x: torch.Tensor) -> torch.Tensor:
    """float32 in the standard (channels-first) contiguous layout: the same values, converted exactly."""
    return x.to(torch.float32, memory_format=torch.contiguous_format)


def _invert_flow_x(x: torch.Tensor) -> torch.Tensor:
    """In place: ``x' = 255 - x`` on channel 0 (flow-x) of uint8 frames ``(..., 2, H, W)``; returns ``x``."""
    x[..., 0, :, :].bitwise_not_()  # for uint8, ~q == 255 - q
    return x


# ---------------------------------------------------------------------------------------------
# geometric transforms
# ---------------------------------------------------------------------------------------------


class ResizeShortSide(v2.Resize):
    """Resize every frame so its short side is ``size``, keeping the aspect ratio (antialiased bilinear).

    Input/output: frames ``(..., C, H, W)`` (a ``Video`` ``(T, C, H, W)`` or ``(V, T, C, H, W)``);
    320x240 → 341x256 for ``size=256`` (long side truncated, :func:`resized_short_side_size`).
    A thin ``v2.Resize`` with TSN's defaults; bilinear frames are resized by :func:`_resize`, as the
    crops are (same values). Used by :func:`test_transform` (10 crops).
    """

    def __init__(self, size: int = 256, interpolation=_BILINEAR):
        super().__init__(int(size), interpolation=interpolation, antialias=True)

    def transform(self, inpt, params):
        plain_frames = type(inpt) in (torch.Tensor, tv_tensors.Video, tv_tensors.Image) and inpt.ndim >= 3
        if self.interpolation != _BILINEAR or not plain_frames:
            return super().transform(inpt, params)
        w, h = resized_short_side_size(int(inpt.shape[-1]), int(inpt.shape[-2]), self.size[0])
        return _wrap(_resize(_plain(inpt), h, w), inpt)


class MultiScaleCrop(v2.Transform):
    """TSN's multi-scale corner crop, one draw for all frames, resized to ``input_size x input_size``.

    Introduced in notebooks/02_segment_sampling.ipynb.

    Draws a crop size uniformly from :func:`multiscale_crop_sizes`, then a position uniformly from
    the ``num_fixed_crops`` (13 as tsn-pytorch/Caffe, 5 as MMAction2) offsets of
    :func:`fixed_crop_offsets`, or uniformly anywhere with ``random_crop=True``; crops and resizes
    to ``input_size x input_size`` (antialiased bilinear, like tsn-pytorch's PIL resize).

    ``scale_size``: when given, the geometry is computed on the frame *as if* its short side had
    first been resized to ``scale_size`` (what ``ResizeShortSide(scale_size)`` then this crop would
    do), and the box is mapped back to the decoded frame (rounded to whole pixels), cut there and
    resized once: the same crop, one interpolation instead of two, and no full-frame resize.

    Input: frames ``(..., C, H, W)``, usually a uint8 ``Video`` ``(T, C, H, W)``.
    Output: ``(..., C, input_size, input_size)``, same dtype and type.
    """

    def __init__(
        self,
        input_size: int = 224,
        scales: Sequence[float] = RGB_SCALES,
        max_distort: int = 1,
        num_fixed_crops: int = 13,
        random_crop: bool = False,
        scale_size: int | None = None,
    ):
        super().__init__()
        if num_fixed_crops not in (5, 13):
            raise ValueError(f"num_fixed_crops must be 5 or 13, got {num_fixed_crops}")
        self.input_size = int(input_size)
        self.scales = tuple(float(s) for s in scales)
        self.max_distort = int(max_distort)
        self.num_fixed_crops = int(num_fixed_crops)
        self.random_crop = bool(random_crop)
        self.scale_size = None if scale_size is None else int(scale_size)
        self._geometry: dict = {}

    def _candidates(self, height: int, width: int) -> tuple:
        """``(vw, vh, [((cw, ch), [((x, y), decoded box (top, left, h, w)), ...]), ...])`` for a frame size.

        Pure geometry of the frame size and the settings, computed once per size (the random draws
        stay in :meth:`make_params`); recomputing it took a tenth of the augmentation time right
        after a video decode.
        """
        key = (height, width, self.input_size, self.scales, self.max_distort, self.num_fixed_crops,
               self.random_crop, self.scale_size)
        cache = self._geometry
        if key not in cache:
            if self.scale_size is None:
                vw, vh = width, height
            else:
                vw, vh = resized_short_side_size(width, height, self.scale_size)
            sx, sy = width / vw, height / vh
            table = []
            for cw, ch in multiscale_crop_sizes(vw, vh, self.input_size, self.scales, self.max_distort):
                offsets = [] if self.random_crop else fixed_crop_offsets(vw, vh, cw, ch, self.num_fixed_crops == 13)
                table.append(((cw, ch), [((x, y), _map_box(x, y, cw, ch, sx, sy, width, height)) for x, y in offsets]))
            if len(cache) > 64:  # many frame sizes (a mixed dataset): keep the cache small
                cache.clear()
            cache[key] = (vw, vh, table)
        return cache[key]

    def make_params(self, flat_inputs) -> dict:
        height, width = _frame_size(flat_inputs)
        vw, vh, table = self._candidates(height, width)
        (cw, ch), offsets = table[_randint(len(table))]
        if self.random_crop:
            x, y = _randint(vw - cw + 1), _randint(vh - ch + 1)
            top, left, h, w = _map_box(x, y, cw, ch, width / vw, height / vh, width, height)
        else:
            (x, y), (top, left, h, w) = offsets[_randint(len(offsets))]
        return dict(top=top, left=left, height=h, width=w, box=(x, y, cw, ch))

    def transform(self, inpt, params):
        return _crop_resize(inpt, params["top"], params["left"], params["height"], params["width"], self.input_size)


class ResizedCenterCrop(v2.Transform):
    """The centre ``size x size`` crop of the frame resized to short side ``scale_size``, cut before resizing.

    Used by :func:`val_transform` (validation and the 1-crop test).

    Equivalent to ``ResizeShortSide(scale_size)`` then ``v2.CenterCrop(size)`` (centre offset
    ``round((W' - size) / 2)`` as torchvision), computed as crop-then-resize: the box is mapped to
    the decoded frame and only the crop is resized. ``scale_size=None`` crops the decoded frame
    directly. Input ``(..., C, H, W)``; output ``(..., C, size, size)``, same dtype and type.
    """

    def __init__(self, size: int = 224, scale_size: int | None = 256):
        super().__init__()
        self.size = int(size)
        self.scale_size = None if scale_size is None else int(scale_size)

    def make_params(self, flat_inputs) -> dict:
        height, width = _frame_size(flat_inputs)
        if self.scale_size is None:
            vw, vh = width, height
        else:
            vw, vh = resized_short_side_size(width, height, self.scale_size)
        cw, ch = min(self.size, vw), min(self.size, vh)
        x, y = int(round((vw - cw) / 2.0)), int(round((vh - ch) / 2.0))
        top, left, h, w = _map_box(x, y, cw, ch, width / vw, height / vh, width, height)
        return dict(top=top, left=left, height=h, width=w)

    def transform(self, inpt, params):
        return _crop_resize(inpt, params["top"], params["left"], params["height"], params["width"], self.size)


class RandomHorizontalFlip(v2.Transform):
    """Mirror all frames with probability ``p`` (one draw per sample); for flow also invert x.

    Used by the presets (:func:`train_transform`, :func:`test_transform`), which
    notebooks/02_segment_sampling.ipynb shows.

    Mirroring an image reverses horizontal motion, so for optical flow (``flow=True``, frames
    ``(..., 2, H, W)`` uint8 with channels (x, y)) the x component becomes ``x' = 255 - x`` (the
    quantised ``-v``, 128 ↔ 127) on channel 0 of every frame, while y is only mirrored. This is
    Caffe's and tsn-pytorch's behaviour; MMAction2 1.x inverts whole frames ``imgs[0::2]`` of its
    stacked ``H x W x 2`` flow, i.e. x *and* y of every other time step (reference notes section 2,
    item 6), which we do not repeat. Output: same shape, dtype and type as the input.
    """

    def __init__(self, p: float = 0.5, flow: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self.flow = bool(flow)

    def make_params(self, flat_inputs) -> dict:
        return dict(flip=bool(torch.rand(1).item() < self.p))

    def transform(self, inpt, params):
        if self.flow:
            _check_uint8_flow(inpt, "RandomHorizontalFlip(flow=True)")
        if not params["flip"]:
            return inpt
        out = _plain(F.horizontal_flip(inpt))
        if self.flow:
            _invert_flow_x(out)
        return _wrap(out, inpt)


class ThreeCrop(v2.Transform):
    """Three ``size x size`` squares along the long side: a view dimension ``(3, T, C, size, size)``.

    Used by :func:`test_transform` (3 crops; MMAction2 0.x UCF101's test protocol), which
    notebooks/02_segment_sampling.ipynb shows.

    If the short side is not ``size``, the frames are first resized so it is (antialiased
    bilinear); the squares are then left / right / middle (top / bottom / middle for portrait
    frames) at MMAction2's offsets ``0, 2 * step, step`` with ``step = (long - size) // 2``
    (:func:`three_crop_offsets`): together they cover the frame, but for its last pixel column
    (row) when ``long - size`` is odd. Input: frames ``(T, C, H, W)``; output
    ``(3, T, C, size, size)``, view-major, same dtype and type.
    """

    def __init__(self, size: int = 224):
        super().__init__()
        self.size = int(size)

    def transform(self, inpt, params):
        if inpt.ndim != 4:
            raise ValueError(f"ThreeCrop expects frames (T, C, H, W), got shape {tuple(inpt.shape)}")
        x = _plain(inpt)
        if min(x.shape[-2:]) != self.size:
            w, h = resized_short_side_size(int(x.shape[-1]), int(x.shape[-2]), self.size)
            x = _resize(x, h, w)
        h, w = x.shape[-2:]
        s = self.size
        views = [x[..., oy:oy + s, ox:ox + s] for ox, oy in three_crop_offsets(w, h, s)]
        return _wrap(torch.stack(views, dim=0), inpt)


class TenCrop(v2.Transform):
    """Ten ``size x size`` views: 4 exact corners + centre, then the same five mirrored; ``(10, T, C, size, size)``.

    Introduced in notebooks/02_segment_sampling.ipynb (the paper's test protocol).

    Views 0-4 are top-left, top-right, bottom-left, bottom-right, centre at the exact corners of the
    frame (:func:`ten_crop_offsets`, Caffe TSN's convention; tsn-pytorch/MMAction2 use the
    quarter-step grid, up to 3 px short of the corners); views 5-9 are those five mirrored, in the
    same order. With ``flow=True`` the mirrored views also get ``x' = 255 - x`` on flow-x (channel 0),
    as Caffe and tsn-pytorch do; MMAction2's ``TenCrop`` forgets this. Input: frames
    ``(T, C, H, W)`` already resized (e.g. :class:`ResizeShortSide` 256); output
    ``(10, T, C, size, size)``, view-major, same dtype and type.
    """

    def __init__(self, size: int = 224, flow: bool = False):
        super().__init__()
        self.size = int(size)
        self.flow = bool(flow)

    def transform(self, inpt, params):
        if inpt.ndim != 4:
            raise ValueError(f"TenCrop expects frames (T, C, H, W), got shape {tuple(inpt.shape)}")
        if self.flow:
            _check_uint8_flow(inpt, "TenCrop(flow=True)")
        x = _plain(inpt)
        h, w = x.shape[-2:]
        s = self.size
        crops = [x[..., oy:oy + s, ox:ox + s] for ox, oy in ten_crop_offsets(w, h, s, s)]
        out = torch.stack(crops + [crop.flip(-1) for crop in crops], dim=0)
        if self.flow:
            _invert_flow_x(out[5:])
        return _wrap(out, inpt)


# ---------------------------------------------------------------------------------------------
# normalisation and formatting
# ---------------------------------------------------------------------------------------------


class NormalizeRGB(v2.Transform):
    """ImageNet normalisation: ``(x / 255 - mean) / std`` per RGB channel, to float32.

    Used by the presets (:func:`train_transform`, :func:`test_transform`), which
    notebooks/02_segment_sampling.ipynb shows.

    Input: RGB frames ``(..., 3, H, W)``, uint8 (0..255) or float in ``[0, 1]``. Output: float32, same
    shape and type. The statistics are torchvision's ImageNet ones (``IMAGENET_MEAN``,
    ``IMAGENET_STD``), matching the torchvision backbones; MMAction2 uses the same values on the
    0..255 scale. (Caffe BN-Inception models expect BGR minus ``[104, 117, 123]`` instead; using
    those with a torchvision ResNet was MMAction2's UCF101 normalisation bug, reference notes §2.11.)
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        m = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        s = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        self._m01, self._s01 = m, s
        self._m255, self._s255 = m * 255.0, s * 255.0

    def transform(self, inpt, params):
        if inpt.ndim < 3 or inpt.shape[-3] != 3:
            raise ValueError(f"NormalizeRGB expects RGB frames (..., 3, H, W), got shape {tuple(inpt.shape)}")
        x = _plain(inpt)
        if x.dtype == torch.uint8:
            out = _to_float(x).sub_(self._m255).div_(self._s255)
        elif x.is_floating_point():
            out = (_to_float(x) - self._m01).div_(self._s01)
        else:
            raise TypeError(f"NormalizeRGB expects uint8 or float frames, got {x.dtype}")
        return _wrap(out, inpt)


class NormalizeFlow(v2.Transform):
    """Flow normalisation ``(q - 128) / 128`` of the quantised flow, to float32 in ``[-1, 127/128]``.

    Used by the presets (:func:`train_transform`, :func:`test_transform`), which
    notebooks/02_segment_sampling.ipynb shows.

    ``q = 128`` (no motion) → 0.0, ``q = 255`` → 127/128, ``q = 0`` → -1.0. This is MMAction2's flow
    normalisation (mean 128, std 128). The other anchors differ only by a scale/shift the first
    layer absorbs: Caffe TSN and tsn-pytorch BN-Inception feed ``q - 128``, tsn-pytorch ResNet
    feeds ``(q / 255 - 0.5) / 0.226``. Input: uint8 flow frames ``(..., 2, H, W)``; output float32,
    same shape and type.
    """

    def transform(self, inpt, params):
        if inpt.ndim < 3 or inpt.shape[-3] != 2:
            raise ValueError(f"NormalizeFlow expects flow frames (..., 2, H, W), got shape {tuple(inpt.shape)}")
        if inpt.dtype != torch.uint8:
            raise TypeError(f"NormalizeFlow expects the uint8 quantised flow (0..255), got {inpt.dtype}")
        out = _to_float(_plain(inpt)).sub_(128.0).mul_(1.0 / 128.0)
        return _wrap(out, inpt)


class RGBDiff(v2.Transform):
    """RGB difference: ``clip_len + 1`` frames per snippet → ``clip_len`` consecutive differences.

    Used by the RGBDiff presets: the paper's RGB-difference stream, notebooks/05_two_stream_fusion.ipynb.

    Input: RGB frames ``(..., T, 3, H, W)`` with ``T = num_clips * (clip_len + 1)`` in clip-major
    order (sample them with ``clip_len + 1``), uint8 or float in ``[0, 1]``, already cropped.
    Output: float32 ``(..., num_clips * clip_len, 3, H, W)``, clip-major, where difference ``j`` of
    snippet ``k`` is ``(frame[k, j + 1] - frame[k, j]) / 255`` (values in ``[-1, 1]``), ``j = 0 ..
    clip_len - 1`` in time order. No further normalisation (tsn-pytorch uses none either).
    Follow with ``FormatShape(num_clips, clip_len)`` for ``3 * clip_len`` channels per snippet.
    """

    def __init__(self, num_clips: int, clip_len: int = 5):
        super().__init__()
        if num_clips < 1 or clip_len < 1:
            raise ValueError(f"num_clips and clip_len must be >= 1, got {num_clips}, {clip_len}")
        self.num_clips = int(num_clips)
        self.clip_len = int(clip_len)

    def transform(self, inpt, params):
        K, nl = self.num_clips, self.clip_len
        if inpt.ndim < 4 or inpt.shape[-3] != 3 or inpt.shape[-4] != K * (nl + 1):
            raise ValueError(
                f"RGBDiff(num_clips={K}, clip_len={nl}) expects (..., {K * (nl + 1)}, 3, H, W) "
                f"(clip_len + 1 frames per snippet), got shape {tuple(inpt.shape)}"
            )
        x = _plain(inpt)
        lead, (c, h, w) = x.shape[:-4], x.shape[-3:]
        x = _to_float(x).reshape(*lead, K, nl + 1, c, h, w)
        out = x[..., 1:, :, :, :] - x[..., :-1, :, :, :]
        if inpt.dtype == torch.uint8:
            out.mul_(1.0 / 255.0)
        return _wrap(out.reshape(*lead, K * nl, c, h, w), inpt)


class FormatShape(v2.Transform):
    """Final step: frames → network input ``(V * num_clips, clip_len * C, H, W)``, uint8 or float32.

    Used by the presets (:func:`train_transform`, :func:`test_transform`), which
    notebooks/02_segment_sampling.ipynb shows.

    Input: ``(T, C, H, W)`` (V = 1) or ``(V, T, C, H, W)`` (views from :class:`ThreeCrop` /
    :class:`TenCrop`) with ``T = num_clips * clip_len`` frames in clip-major order. Output rows are
    view-major (row ``v * num_clips + k``) and the ``clip_len`` frames of a snippet are stacked into
    channels in time order: ``[x_t, y_t, x_{t+1}, y_{t+1}, ...]`` for flow, ``[R, G, B, R, G, B, ...]``
    for RGB stacks (tsn-pytorch ``Stack``, Caffe, MMAction2 ``NCHW``). uint8 frames stay uint8 (the
    presets' ``normalize=False``: the model normalises them on its device, :func:`normalize_views`);
    any other dtype is converted to float32 without rescaling. Returns a plain contiguous
    ``torch.Tensor`` in the standard (planar) layout.
    """

    def __init__(self, num_clips: int, clip_len: int = 1):
        super().__init__()
        if num_clips < 1 or clip_len < 1:
            raise ValueError(f"num_clips and clip_len must be >= 1, got {num_clips}, {clip_len}")
        self.num_clips = int(num_clips)
        self.clip_len = int(clip_len)

    def transform(self, inpt, params):
        x = _plain(inpt)
        if x.ndim == 4:
            x = x.unsqueeze(0)
        if x.ndim != 5:
            raise ValueError(f"FormatShape expects (T, C, H, W) or (V, T, C, H, W), got shape {tuple(inpt.shape)}")
        v, t, c, h, w = x.shape
        K, nl = self.num_clips, self.clip_len
        if t != K * nl:
            raise ValueError(f"FormatShape(num_clips={K}, clip_len={nl}) expects {K * nl} frames, got {t} (shape {tuple(inpt.shape)})")
        if x.dtype == torch.uint8:
            return x.reshape(v * K, nl * c, h, w).contiguous()
        return x.reshape(v * K, nl * c, h, w).to(torch.float32).contiguous()


_VIEW_STATS: dict = {}


def _rgb_stats(clip_len: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """NormalizeRGB's ``mean * 255`` and ``std * 255`` (float32), tiled over a stack: ``(3 * clip_len, 1, 1)``."""
    key = (int(clip_len), str(device))
    if key not in _VIEW_STATS:
        m = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1) * 255.0
        s = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1) * 255.0
        _VIEW_STATS[key] = (m.repeat(clip_len, 1, 1).to(device), s.repeat(clip_len, 1, 1).to(device))
    return _VIEW_STATS[key]


def normalize_views(x: torch.Tensor, modality: str = "RGB", clip_len: int = 1,
                    out: torch.Tensor | None = None) -> torch.Tensor:
    """The network input from uint8 views, computed on the views' own device (a GPU, or the CPU).

    Introduced in notebooks/03_train_rgb.ipynb. The presets built with ``normalize=False`` (what
    :func:`tsnlib.experiment.build_datasets` uses) stop at uint8; the :class:`~tsnlib.models.TSN`
    model calls this on any uint8 input, after the batch has reached its device, as MMAction2 1.x's
    data preprocessor does. The loader workers then skip the float conversion, and a quarter of the
    bytes travel from the workers to the model (and to the GPU).

    ``x``: uint8 ``(..., C, H, W)`` stacked as :class:`FormatShape` stacks them, ``C = 3 * clip_len``
    (RGB), ``2 * clip_len`` (Flow) or ``3 * (clip_len + 1)`` (RGBDiff: the ``clip_len + 1`` raw
    frames of each snippet). Returns float32 ``(..., 3 * clip_len | 2 * clip_len, H, W)``:

    * RGB: ``(x - 255 mean) / (255 std)`` per channel (:class:`NormalizeRGB`);
    * Flow: ``(x - 128) / 128`` (:class:`NormalizeFlow`);
    * RGBDiff: ``(frame[j + 1] - frame[j]) / 255`` for ``j < clip_len`` (:class:`RGBDiff`).

    The same float32 operations on the same values as those transforms, so the result is
    bit-identical to the ``normalize=True`` presets (a test checks it). RGB and Flow keep the memory
    format of ``x`` (convert the uint8 views to channels-last first, which is 4x cheaper than
    converting the float ones). ``out``: a float32 tensor of the result's shape and memory format to
    write into (the test protocol reuses one for all its chunks of views).
    """
    if x.dtype != torch.uint8:
        raise TypeError(f"normalize_views expects the uint8 views of a normalize=False preset, got {x.dtype}")
    _check_modality(modality)
    nl = int(clip_len)
    c = int(x.shape[-3]) if x.ndim >= 3 else -1
    want = {"RGB": 3 * nl, "Flow": 2 * nl, "RGBDiff": 3 * (nl + 1)}[modality]
    if c != want:
        raise ValueError(f"normalize_views({modality!r}, clip_len={nl}) expects uint8 views (..., {want}, H, W), "
                         f"got shape {tuple(x.shape)}")
    result_shape = (*x.shape[:-3], 3 * nl if modality == "RGBDiff" else c, *x.shape[-2:])
    if out is not None and (out.dtype != torch.float32 or out.device != x.device or tuple(out.shape) != result_shape):
        raise ValueError(f"out must be a float32 tensor on {x.device} of the result's shape, got {out.dtype} "
                         f"{tuple(out.shape)} on {out.device}")
    if modality == "RGB":
        m, s = _rgb_stats(nl, x.device)
        y = out.copy_(x) if out is not None else x.to(torch.float32)
        return y.sub_(m).div_(s)
    if modality == "Flow":
        y = out.copy_(x) if out is not None else x.to(torch.float32)
        return y.sub_(128.0).mul_(1.0 / 128.0)
    frames = x.to(torch.float32).unflatten(-3, (nl + 1, 3))
    y = (frames[..., 1:, :, :, :] - frames[..., :-1, :, :, :]).mul_(1.0 / 255.0).flatten(-4, -3)
    return out.copy_(y) if out is not None else y


# ---------------------------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------------------------


def _check_modality(modality: str) -> None:
    if modality not in MODALITY_CHANNELS:
        raise ValueError(f"modality must be one of {tuple(MODALITY_CHANNELS)}, got {modality!r}")


def _finish(modality: str, num_clips: int, clip_len: int, normalize: bool = True) -> list:
    """Normalisation (or RGB difference) then FormatShape for a modality; only FormatShape (uint8) without."""
    if not normalize:  # uint8 out; RGBDiff keeps its clip_len + 1 raw frames per snippet
        return [FormatShape(num_clips, clip_len + (modality == "RGBDiff"))]
    if modality == "RGB":
        return [NormalizeRGB(), FormatShape(num_clips, clip_len)]
    if modality == "Flow":
        return [NormalizeFlow(), FormatShape(num_clips, clip_len)]
    return [RGBDiff(num_clips, clip_len), FormatShape(num_clips, clip_len)]


def train_transform(
    modality: str = "RGB",
    num_clips: int = 3,
    clip_len: int = 1,
    input_size: int = 224,
    scale_size: int | None = 256,
    crop: str = "multiscale",
    num_fixed_crops: int = 13,
    flip: bool = True,
    normalize: bool = True,
    scales: Sequence[float] | None = None,
    max_distort: int = 1,
) -> v2.Compose:
    """TSN training augmentation: one multi-scale corner crop (or RandomResizedCrop) + flip per sample.

    Introduced in notebooks/02_segment_sampling.ipynb.

    ``crop="multiscale"``: :class:`MultiScaleCrop` on the frame resized to short side
    ``scale_size`` (cut before resizing, see its docstring), scales ``RGB_SCALES`` for RGB and
    ``FLOW_SCALES`` for Flow / RGBDiff (tsn-pytorch, Caffe) unless ``scales`` is given (MMAction2's
    Moments in Time config: ``(1, 0.8)`` with ``max_distort=0``), ``num_fixed_crops`` 13
    (tsn-pytorch, Caffe) or 5 (MMAction2). ``crop="random_resized"``: ``v2.RandomResizedCrop(input_size)`` (area
    8-100 %, aspect 3/4-4/3, the MMAction2 0.x UCF101 config), applied to the decoded frame directly:
    its draw is relative to the frame, so resizing first would change nothing but the cost. Then
    :class:`RandomHorizontalFlip` (flow-x inverted for Flow), normalisation
    (:class:`NormalizeRGB` / :class:`NormalizeFlow` / :class:`RGBDiff`) and :class:`FormatShape`.

    Input: uint8 ``Video`` ``(T, C, H, W)``, ``T = num_clips * clip_len`` (RGBDiff:
    ``num_clips * (clip_len + 1)``). Output: float32 ``(num_clips, clip_len * C, input_size,
    input_size)`` with ``C = 3`` (RGB, RGBDiff) or 2 (Flow). ``normalize=False``: the same views
    left uint8, for the model to normalise on its device (:func:`normalize_views`; RGBDiff then
    keeps its ``clip_len + 1`` raw frames per snippet, ``3 * (clip_len + 1)`` channels).
    """
    _check_modality(modality)
    steps = []
    if crop == "multiscale":
        if not scales:
            scales = RGB_SCALES if modality == "RGB" else FLOW_SCALES
        steps.append(MultiScaleCrop(input_size, scales, max_distort, num_fixed_crops, scale_size=scale_size))
    elif crop == "random_resized":
        steps.append(v2.RandomResizedCrop((input_size, input_size), interpolation=_BILINEAR, antialias=True))
    else:
        raise ValueError(f"crop must be 'multiscale' or 'random_resized', got {crop!r}")
    if flip:
        steps.append(RandomHorizontalFlip(0.5, flow=modality == "Flow"))
    return v2.Compose(steps + _finish(modality, num_clips, clip_len, normalize))


def val_transform(
    modality: str = "RGB",
    num_clips: int = 3,
    clip_len: int = 1,
    input_size: int = 224,
    scale_size: int | None = 256,
    normalize: bool = True,
) -> v2.Compose:
    """Validation: resize the short side to ``scale_size``, centre crop ``input_size``, normalise.

    Introduced in notebooks/03_train_rgb.ipynb. Implemented as :class:`ResizedCenterCrop`
    (crop before resizing). Input: uint8 ``Video`` ``(T, C, H, W)`` as in :func:`train_transform`;
    output float32 ``(num_clips, clip_len * C, input_size, input_size)`` (uint8 with
    ``normalize=False``, as in :func:`train_transform`).
    """
    _check_modality(modality)
    return v2.Compose([ResizedCenterCrop(input_size, scale_size)] + _finish(modality, num_clips, clip_len, normalize))


def test_transform(
    modality: str = "RGB",
    num_clips: int = 25,
    clip_len: int = 1,
    input_size: int = 224,
    scale_size: int | None = 256,
    num_crops: int = 1,
    normalize: bool = True,
) -> v2.Compose:
    """Test-time views: 1 centre crop, 3 crops along the long side, or the paper's 10 crops.

    Introduced in notebooks/02_segment_sampling.ipynb.

    * ``num_crops=1``: as :func:`val_transform`.
    * ``num_crops=3``: :class:`ThreeCrop` (``input_size``): the short side resized to ``input_size``,
      three squares covering the frame (MMAction2 0.x UCF101 tests ``ThreeCrop(256)``: pass
      ``input_size=256``).
    * ``num_crops=10``: :class:`ResizeShortSide` (``scale_size``, skipped when None) then
      :class:`TenCrop` (``input_size``, exact corners, mirrored views invert flow-x).

    Input: uint8 ``Video`` ``(T, C, H, W)`` as in :func:`train_transform`. Output: float32
    ``(num_crops * num_clips, clip_len * C, input_size, input_size)``, view-major (row
    ``v * num_clips + k``), so a model's scores reshape to ``(num_crops, num_clips, classes)``;
    uint8 with ``normalize=False``, as in :func:`train_transform`.
    """
    _check_modality(modality)
    if num_crops == 1:
        return val_transform(modality, num_clips, clip_len, input_size, scale_size, normalize)
    if num_crops == 3:
        steps = [ThreeCrop(input_size)]
    elif num_crops == 10:
        steps = ([ResizeShortSide(scale_size)] if scale_size is not None else [])
        steps.append(TenCrop(input_size, flow=modality == "Flow"))
    else:
        raise ValueError(f"num_crops must be 1, 3 or 10, got {num_crops}")
    return v2.Compose(steps + _finish(modality, num_clips, clip_len, normalize))


# ``test_transform`` is a preset, not a test: keep pytest from collecting it when a test module imports it.
test_transform.__test__ = False
