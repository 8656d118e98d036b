"""tsnlib.fast_transforms gives exactly the plain path's values: the RGBA-packed resize of flow frames."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

from tsnlib import fast_transforms, transforms as T


def _uint8(shape, seed):
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _layouts(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``(N, C, H, W)`` uint8 in the layouts the pipelines make: decoded (channels-last), planar, a crop of each."""
    cl = x.contiguous(memory_format=torch.channels_last)
    return {"channels-last": cl, "planar": x.contiguous(), "crop of channels-last": cl[..., 1:-2, 2:-1],
            "crop of planar": x.contiguous()[..., 1:-2, 2:-1]}


@pytest.mark.parametrize("num_frames", [1, 2, 5, 10])
def test_resize_of_flow_frames_equals_torchvision(num_frames):
    flow = _uint8((num_frames, 30, 44, 2), num_frames).permute(0, 3, 1, 2)  # as decoded: (T, 2, H, W), interleaved
    for name, x in _layouts(flow).items():
        for size in ((20, 24), (36, 52), (27, 27)):  # down, up, square
            fast = fast_transforms.resize(x, *size)
            if not fast_transforms._HAS_AVX2:  # the route exists for PyTorch's AVX2 kernel only
                assert fast is None
                continue
            plain = F.resize(x, list(size), antialias=True)
            assert fast is not None and fast.is_contiguous(), name
            assert fast.shape == plain.shape and torch.equal(fast, plain), (name, size)


def test_resize_declines_what_it_does_not_handle():
    assert fast_transforms.resize(_uint8((3, 3, 20, 20), 0), 10, 10) is None  # RGB: the plain kernel's own case
    assert fast_transforms.resize(_uint8((3, 2, 20, 20), 0).float(), 10, 10) is None  # not uint8
    assert fast_transforms.resize(_uint8((2, 3, 2, 20, 20), 0), 10, 10) is None  # not (T, 2, H, W)


@pytest.mark.parametrize("modality, clip_len, num_crops", [("RGB", 1, 10), ("RGB", 1, 3), ("Flow", 5, 3),
                                                           ("Flow", 5, 10), ("RGB", 1, 1)])
def test_test_protocols_give_the_same_views_with_and_without_the_fast_path(modality, clip_len, num_crops, monkeypatch):
    """The course's test protocol (uint8 views, normalised as the model does) with the fast path and without."""
    k = 3
    frames = tv_tensors.Video(_uint8((k * clip_len, 60, 80, T.MODALITY_CHANNELS[modality]), 7).permute(0, 3, 1, 2))
    tf = T.test_transform(modality, k, clip_len, input_size=48, scale_size=54, num_crops=num_crops, normalize=False)

    def run():
        views = tf(frames)
        return views, T.normalize_views(views.contiguous(memory_format=torch.channels_last), modality, clip_len)

    fast = run()
    monkeypatch.setattr(fast_transforms, "ENABLED", False)
    plain = run()
    assert torch.equal(fast[0], plain[0]) and torch.equal(fast[1], plain[1])
    assert fast[1].stride() == plain[1].stride()


@pytest.mark.parametrize("modality, clip_len", [("RGB", 1), ("Flow", 5)])
def test_training_augmentation_gives_the_same_views_with_and_without_the_fast_path(modality, clip_len, monkeypatch):
    """The course's training augmentation (multi-scale crops resized to 48, flips) under the same seeds."""
    k = 3
    frames = tv_tensors.Video(_uint8((k * clip_len, 54, 72, T.MODALITY_CHANNELS[modality]), 3).permute(0, 3, 1, 2))
    tf = T.train_transform(modality, k, clip_len, input_size=48, scale_size=54, normalize=False)

    def run():
        out = []
        for seed in range(12):
            torch.manual_seed(seed)
            out.append(tf(frames))
        return out

    fast = run()
    monkeypatch.setattr(fast_transforms, "ENABLED", False)
    assert all(torch.equal(a, b) for a, b in zip(fast, run()))
