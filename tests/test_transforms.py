"""Group transforms: §3.4 crop geometry, one draw per sample, flow flips, views, normalisation, shapes."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from tsnlib import transforms as T


def ramp_video(T_: int, H: int, W: int, dtype=torch.float32) -> tv_tensors.Video:
    """Frames whose channel 0 is the x coordinate, channel 1 the y coordinate, channel 2 the frame number."""
    x = torch.arange(W, dtype=dtype).view(1, 1, W).expand(T_, H, W)
    y = torch.arange(H, dtype=dtype).view(1, H, 1).expand(T_, H, W)
    t = torch.arange(T_, dtype=dtype).view(T_, 1, 1).expand(T_, H, W)
    return tv_tensors.Video(torch.stack([x, y, t], dim=1).contiguous())


def random_video(T_: int, C: int, H: int, W: int, seed: int = 0) -> tv_tensors.Video:
    g = torch.Generator().manual_seed(seed)
    return tv_tensors.Video(torch.randint(0, 256, (T_, C, H, W), dtype=torch.uint8, generator=g))


# ---------------------------------------------------------------------------------------------
# §3.4 geometry
# ---------------------------------------------------------------------------------------------


def test_multiscale_crop_sizes_340x256():
    assert T.multiscale_crop_sizes(340, 256, input_size=224) == [
        (256, 256), (224, 256), (256, 224), (224, 224), (192, 224),
        (224, 192), (192, 192), (168, 192), (192, 168), (168, 168),
    ]
    flow = T.multiscale_crop_sizes(340, 256, 224, scales=T.FLOW_SCALES)
    assert flow == [(256, 256), (224, 256), (256, 224), (224, 224), (192, 224), (224, 192), (192, 192)]
    assert T.multiscale_crop_sizes(340, 256, 224, max_distort=0) == [(256, 256), (224, 224), (192, 192), (168, 168)]


def test_multiscale_crop_sizes_snap_within_3px():
    # base 258: int(258 * .875) = 225 -> snapped to 224; int(258 * .75) = 193 stays
    sides = sorted({w for w, _ in T.multiscale_crop_sizes(400, 258, 224)}, reverse=True)
    assert sides == [258, 224, 193, 170]
    # base 222 would snap 222 -> 224, larger than the frame: clamped to the frame
    assert T.multiscale_crop_sizes(300, 222, 224)[0] == (224, 222)


def test_fixed_crop_offsets_224_of_340x256():
    offsets = T.fixed_crop_offsets(340, 256, 224, 224, more_fix_crop=True)
    assert offsets == [
        (0, 0), (116, 0), (0, 32), (116, 32), (58, 16),
        (0, 16), (116, 16), (58, 32), (58, 0), (29, 8), (87, 8), (29, 24), (87, 24),
    ]
    assert T.fixed_crop_offsets(340, 256, 224, 224, more_fix_crop=False) == offsets[:5]


def test_fixed_offsets_stop_short_of_the_corner_but_ten_crop_does_not():
    # 320x240 resized to short side 256 -> 341x256: W - cw = 117, but 4 * ws = 116
    assert T.resized_short_side_size(320, 240, 256) == (341, 256)
    assert T.fixed_crop_offsets(341, 256, 224, 224)[1] == (116, 0)
    assert T.ten_crop_offsets(341, 256, 224, 224) == [(0, 0), (117, 0), (0, 32), (117, 32), (58, 16)]
    with pytest.raises(ValueError, match="larger"):
        T.fixed_crop_offsets(200, 150, 224, 224)


def test_three_crop_offsets():
    # MMAction2 ThreeCrop: left, right, middle at 0, 2 * step, step with step = (long - size) // 2
    assert T.three_crop_offsets(341, 256, 256) == [(0, 0), (84, 0), (42, 0)]
    assert T.three_crop_offsets(256, 341, 256) == [(0, 0), (0, 84), (0, 42)]
    assert T.three_crop_offsets(340, 256, 256) == [(0, 0), (84, 0), (42, 0)]
    assert T.three_crop_offsets(256, 256, 256) == [(0, 0)] * 3
    assert T.resized_short_side_size(240, 320, 256) == (256, 341)


# ---------------------------------------------------------------------------------------------
# one draw for all frames
# ---------------------------------------------------------------------------------------------


def test_multiscale_crop_shares_one_offset_across_frames():
    # scales (1,) and no distortion: always a 256x256 crop of a 340x256 frame, never resized, so the
    # x-ramp at the crop's top-left pixel is exactly the crop offset
    tf = T.MultiScaleCrop(input_size=256, scales=(1.0,), max_distort=0, num_fixed_crops=13)
    video = ramp_video(4, 256, 340)
    torch.manual_seed(0)
    lefts = set()
    for _ in range(200):
        out = tf(video)
        assert out.shape == (4, 3, 256, 256) and isinstance(out, tv_tensors.Video)
        x0 = out[:, 0, 0, 0]
        assert torch.all(x0 == x0[0])  # same crop for every frame
        assert torch.equal(out[:, 2, 0, 0], torch.arange(4.0))  # frames kept in order
        lefts.add(int(x0[0]))
    ws = (340 - 256) // 4
    assert lefts == {0, ws, 2 * ws, 3 * ws, 4 * ws}  # the 13 offsets hold 5 distinct x positions


@pytest.mark.parametrize(
    "tf",
    [
        T.MultiScaleCrop(224, scale_size=256),
        T.MultiScaleCrop(224, random_crop=True),
        T.MultiScaleCrop(224, num_fixed_crops=5),
        v2.RandomResizedCrop((224, 224), antialias=True),
        T.RandomHorizontalFlip(0.5),
    ],
    ids=["multiscale-scaled", "multiscale-random", "multiscale-5", "random-resized", "flip"],
)
def test_random_transforms_apply_one_draw_to_every_frame(tf):
    # every frame holds the same picture (ramps); only channel 2 (the frame number) differs
    video = ramp_video(3, 240, 320)
    torch.manual_seed(1)
    for _ in range(20):
        out = tf(video)
        assert out.shape[0] == 3
        assert torch.equal(out[1, :2], out[0, :2]) and torch.equal(out[2, :2], out[0, :2])
        for t in range(3):
            torch.testing.assert_close(out[t, 2], torch.full_like(out[t, 2], float(t)))


def test_multiscale_crop_candidates_and_scaled_geometry():
    # decoded 160x120, geometry of the 341x256 frame: the drawn box is one of the §3.4 candidates
    tf = T.MultiScaleCrop(224, scale_size=256)
    sizes = set(T.multiscale_crop_sizes(341, 256, 224))
    video = random_video(1, 3, 120, 160)
    torch.manual_seed(2)
    for _ in range(100):
        p = tf.make_params([video])
        x, y, cw, ch = p["box"]
        assert (cw, ch) in sizes
        assert (x, y) in T.fixed_crop_offsets(341, 256, cw, ch)
        assert abs(p["left"] - x * 160 / 341) <= 0.5 and abs(p["top"] - y * 120 / 256) <= 0.5
        assert abs(p["width"] - cw * 160 / 341) <= 1 and abs(p["height"] - ch * 120 / 256) <= 1
        assert p["left"] + p["width"] <= 160 and p["top"] + p["height"] <= 120


def test_crop_before_resize_matches_resize_then_crop():
    """Cutting the mapped box from the decoded frame gives (nearly) the crop of the resized frame."""
    video = ramp_video(2, 120, 160)
    fused = T.MultiScaleCrop(224, scale_size=256)
    plain = T.MultiScaleCrop(224)
    for seed in range(10):
        torch.manual_seed(seed)
        params = fused.make_params([video])
        a = fused.transform(video, params)
        resized = T.ResizeShortSide(256)(video)
        b = plain.transform(resized, dict(top=params["box"][1], left=params["box"][0],
                                          height=params["box"][3], width=params["box"][2]))
        # ramps in decoded pixels: the two paths agree to about a pixel of the decoded frame
        assert (a[:, :2] - b[:, :2]).abs().mean() < 0.6
    c = T.ResizedCenterCrop(224, 256)(video)
    d = v2.CenterCrop(224)(T.ResizeShortSide(256)(video))
    assert (c[:, :2] - d[:, :2]).abs().mean() < 0.6


# ---------------------------------------------------------------------------------------------
# flips
# ---------------------------------------------------------------------------------------------


def test_flow_flip_inverts_x_and_mirrors_y():
    video = random_video(5, 2, 8, 12, seed=3)
    out = T.RandomHorizontalFlip(p=1.0, flow=True)(video)
    assert out.dtype == torch.uint8 and isinstance(out, tv_tensors.Video)
    assert torch.equal(out[:, 0], 255 - video[:, 0].flip(-1))  # x: mirrored and inverted
    assert torch.equal(out[:, 1], video[:, 1].flip(-1))  # y: mirrored only
    assert torch.equal(out[0, 0, 0, 0], 255 - video[0, 0, 0, -1])
    # 128 (no motion) <-> 127, the quantised negation
    still = tv_tensors.Video(torch.full((2, 2, 4, 4), 128, dtype=torch.uint8))
    assert torch.all(T.RandomHorizontalFlip(1.0, flow=True)(still)[:, 0] == 127)
    assert torch.equal(T.RandomHorizontalFlip(p=0.0, flow=True)(video), video)


def test_rgb_flip_does_not_invert_and_input_is_untouched():
    video = random_video(3, 3, 8, 12, seed=4)
    before = video.clone()
    out = T.RandomHorizontalFlip(p=1.0)(video)
    assert torch.equal(out, video.flip(-1))
    assert torch.equal(video, before)
    flow = random_video(3, 2, 8, 12, seed=5)
    flow_before = flow.clone()
    T.RandomHorizontalFlip(p=1.0, flow=True)(flow)
    assert torch.equal(flow, flow_before)


def test_flip_is_all_or_nothing_and_about_half_the_time():
    video = random_video(4, 2, 6, 6, seed=6)
    tf = T.RandomHorizontalFlip(0.5, flow=True)
    torch.manual_seed(0)
    flipped = 0
    for _ in range(200):
        out = tf(video)
        per_frame = [torch.equal(out[t], video[t]) for t in range(4)]
        assert all(per_frame) or not any(per_frame)
        flipped += not per_frame[0]
    assert 70 < flipped < 130


def test_flow_flip_needs_uint8_two_channel_frames():
    with pytest.raises(TypeError, match="uint8"):
        T.RandomHorizontalFlip(1.0, flow=True)(tv_tensors.Video(torch.zeros(2, 2, 4, 4)))
    with pytest.raises(ValueError, match="2 channels"):
        T.RandomHorizontalFlip(1.0, flow=True)(random_video(2, 3, 4, 4))


# ---------------------------------------------------------------------------------------------
# test-time views
# ---------------------------------------------------------------------------------------------


def test_ten_crop_positions_and_mirrors():
    video = ramp_video(2, 256, 341)
    out = T.TenCrop(224)(video)
    assert out.shape == (10, 2, 3, 224, 224) and isinstance(out, tv_tensors.Video)
    corners = [(int(out[v, 0, 0, 0, 0]), int(out[v, 0, 1, 0, 0])) for v in range(5)]
    assert corners == [(0, 0), (117, 0), (0, 32), (117, 32), (58, 16)]  # exact corners
    for v in range(5):
        assert torch.equal(out[5 + v], out[v].flip(-1))  # RGB mirrors: no inversion


def test_ten_crop_flow_mirrors_invert_x_only():
    video = random_video(3, 2, 40, 50, seed=7)
    out = T.TenCrop(32, flow=True)(video)
    assert out.shape == (10, 3, 2, 32, 32)
    for v in range(5):
        assert torch.equal(out[5 + v, :, 0], 255 - out[v, :, 0].flip(-1))
        assert torch.equal(out[5 + v, :, 1], out[v, :, 1].flip(-1))
    assert torch.equal(out[0], video[:, :, :32, :32])
    with pytest.raises(ValueError, match="resize first"):
        T.TenCrop(64)(video)


def test_three_crop_takes_mmaction2s_squares():
    video = ramp_video(2, 256, 341)
    out = T.ThreeCrop(256)(video)
    assert out.shape == (3, 2, 3, 256, 256)
    assert [int(out[v, 0, 0, 0, 0]) for v in range(3)] == [0, 84, 42]
    portrait = T.ThreeCrop(32)(random_video(2, 3, 96, 48))  # short side 48 -> resized to 32 (32x64)
    assert portrait.shape == (3, 2, 3, 32, 32)


# ---------------------------------------------------------------------------------------------
# normalisation, RGB difference, FormatShape
# ---------------------------------------------------------------------------------------------


def test_normalize_flow_values():
    q = tv_tensors.Video(torch.tensor([0, 127, 128, 255], dtype=torch.uint8).view(1, 2, 1, 2))
    out = T.NormalizeFlow()(q)
    assert out.dtype == torch.float32
    assert out.flatten().tolist() == [-1.0, -1 / 128, 0.0, 127 / 128]
    with pytest.raises(TypeError, match="uint8"):
        T.NormalizeFlow()(q.float())


def test_normalize_rgb_values():
    mean = torch.tensor(T.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(T.IMAGENET_STD).view(3, 1, 1)
    video = random_video(2, 3, 5, 7, seed=8)
    out = T.NormalizeRGB()(video)
    assert out.dtype == torch.float32 and out.shape == video.shape
    torch.testing.assert_close(out, (video.float() / 255 - mean) / std)
    torch.testing.assert_close(T.NormalizeRGB()(video.float() / 255), out)  # float input in [0, 1]
    white = tv_tensors.Video(torch.full((1, 3, 1, 1), 255, dtype=torch.uint8))
    torch.testing.assert_close(T.NormalizeRGB()(white).flatten(), ((1 - mean) / std).flatten())
    with pytest.raises(ValueError, match="3, H, W"):
        T.NormalizeRGB()(random_video(1, 2, 4, 4))


def test_rgb_diff_layout():
    K, nl = 2, 3
    # frame j of snippet k is filled with 10*k + j*j (so consecutive differences are 2j + 1)
    vals = torch.tensor([10 * k + j * j for k in range(K) for j in range(nl + 1)], dtype=torch.uint8)
    video = tv_tensors.Video(vals.view(-1, 1, 1, 1).expand(-1, 3, 2, 2).contiguous())
    out = T.RGBDiff(K, nl)(video)
    assert out.shape == (K * nl, 3, 2, 2) and out.dtype == torch.float32
    expected = torch.tensor([(2 * j + 1) / 255 for k in range(K) for j in range(nl)])
    torch.testing.assert_close(out[:, 0, 0, 0], expected)
    with pytest.raises(ValueError, match="clip_len \\+ 1"):
        T.RGBDiff(K, nl)(random_video(K * nl, 3, 2, 2))


def test_format_shape_channel_order():
    K, nl, C = 2, 3, 2
    # frame (k, j), channel c holds 100k + 10j + c
    vals = torch.tensor([[100 * k + 10 * j + c for c in range(C)] for k in range(K) for j in range(nl)])
    frames = vals.view(K * nl, C, 1, 1).float()
    out = T.FormatShape(K, nl)(tv_tensors.Video(frames))
    assert out.shape == (K, nl * C, 1, 1) and out.dtype == torch.float32
    assert type(out) is torch.Tensor and out.is_contiguous()
    assert out[0].flatten().tolist() == [0, 1, 10, 11, 20, 21]  # [x_t, y_t, x_t+1, y_t+1, ...]
    assert out[1].flatten().tolist() == [100, 101, 110, 111, 120, 121]
    # with a view dimension: rows are view-major, v * K + k
    views = torch.stack([frames, frames + 1000])
    out = T.FormatShape(K, nl)(tv_tensors.Video(views))
    assert out.shape == (2 * K, nl * C, 1, 1)
    assert out[:, 0, 0, 0].tolist() == [0, 100, 1000, 1100]
    with pytest.raises(ValueError, match="expects 6 frames"):
        T.FormatShape(K, nl)(tv_tensors.Video(frames[:5]))


# ---------------------------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------------------------


CASES = [("RGB", 3, 1, 0), ("Flow", 2, 5, 0), ("RGBDiff", 3, 2, 1)]


@pytest.mark.parametrize("modality, C, nl, extra", CASES, ids=[c[0] for c in CASES])
def test_preset_shapes(modality, C, nl, extra):
    K, size, scale = 3, 32, 40
    video = random_video(K * (nl + extra), C, 48, 64, seed=9)
    before = video.clone()
    chans = nl * C
    presets = {
        "train": T.train_transform(modality, K, nl, input_size=size, scale_size=scale),
        "train-5": T.train_transform(modality, K, nl, input_size=size, scale_size=scale, num_fixed_crops=5),
        "train-rrc": T.train_transform(modality, K, nl, input_size=size, crop="random_resized"),
        "train-noflip": T.train_transform(modality, K, nl, input_size=size, scale_size=scale, flip=False),
        "val": T.val_transform(modality, K, nl, input_size=size, scale_size=scale),
        "test1": T.test_transform(modality, K, nl, input_size=size, scale_size=scale, num_crops=1),
        "test3": T.test_transform(modality, K, nl, input_size=size, scale_size=scale, num_crops=3),
        "test10": T.test_transform(modality, K, nl, input_size=size, scale_size=scale, num_crops=10),
    }
    views = {"test3": 3, "test10": 10}
    for name, tf in presets.items():
        out = tf(video)
        assert out.shape == (views.get(name, 1) * K, chans, size, size), name
        assert out.dtype == torch.float32 and type(out) is torch.Tensor, name
        assert torch.isfinite(out).all(), name
    assert torch.equal(video, before)  # presets never modify their input


def test_default_rgb_presets_at_full_size():
    video = random_video(3, 3, 240, 320, seed=10)
    torch.manual_seed(0)
    a = T.train_transform("RGB", 3, 1)(video)
    torch.manual_seed(0)
    b = T.train_transform("RGB", 3, 1)(video)
    assert a.shape == (3, 3, 224, 224) and torch.equal(a, b)  # reproducible under torch.manual_seed
    assert T.val_transform("RGB", 3, 1)(video).shape == (3, 3, 224, 224)
    assert T.test_transform("RGB", 3, 1, num_crops=10)(video).shape == (30, 3, 224, 224)
    assert T.train_transform("Flow", 3, 5).transforms[0].scales == T.FLOW_SCALES
    assert T.train_transform("RGB", 3, 1).transforms[0].scales == T.RGB_SCALES


def test_channels_last_frames_give_the_same_result():
    """Decoded (T, H, W, C) frames permuted to (T, C, H, W) without a copy work as well (and faster)."""
    hwc = torch.randint(0, 256, (3, 120, 160, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(11))
    cl = tv_tensors.Video(hwc.permute(0, 3, 1, 2))
    cf = tv_tensors.Video(hwc.permute(0, 3, 1, 2).contiguous())
    tf = T.train_transform("RGB", 3, 1)
    torch.manual_seed(5)
    a = tf(cl)
    torch.manual_seed(5)
    b = tf(cf)
    torch.testing.assert_close(a, b, atol=0.02, rtol=0)  # at most one grey level apart


def test_normalize_rgb_is_the_formula_exactly_in_every_memory_layout():
    """uint8 frames in any layout (planar, channels-last, a crop view, views from ThreeCrop) normalise to
    exactly ``(x - 255 mean) / (255 std)`` in float32, contiguous."""
    hwc = torch.randint(0, 256, (4, 40, 50, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    mean = torch.tensor(T.IMAGENET_MEAN).view(3, 1, 1) * 255
    std = torch.tensor(T.IMAGENET_STD).view(3, 1, 1) * 255
    cl = hwc.permute(0, 3, 1, 2)
    cases = {
        "planar": cl.contiguous(),
        "channels-last": cl,
        "crop view": cl[..., 3:33, 5:45],
        "views": torch.stack([cl[..., :30, :30], cl[..., 10:40, 20:50]]),  # (V, T, C, h, w)
    }
    for name, x in cases.items():
        out = T.NormalizeRGB()(tv_tensors.Video(x))
        assert type(out) is tv_tensors.Video and out.dtype == torch.float32 and out.is_contiguous(), name
        ref = (x.to(torch.float32) - mean) / std
        assert torch.equal(out.as_subclass(torch.Tensor), ref), name
    flow = hwc[..., :2].permute(0, 3, 1, 2)  # interleaved (x, y)
    assert torch.equal(T.NormalizeFlow()(flow), (flow.to(torch.float32) - 128) / 128)


@pytest.mark.parametrize("num_frames", [1, 4, 5])
def test_flow_resize_gives_torchvision_values(num_frames):
    """Flow frames resized by the transforms are exactly torchvision's antialiased bilinear resize of the 2-channel
    frames, up or down, odd or even frame counts, as decoded (channels-last) or planar."""
    hw2 = torch.randint(0, 256, (num_frames, 30, 44, 2), dtype=torch.uint8, generator=torch.Generator().manual_seed(4))
    for flow in (hw2.permute(0, 3, 1, 2), hw2.permute(0, 3, 1, 2).contiguous()):  # as decoded, and planar
        for size in (20, 36):  # short side down, up
            out = T.ResizeShortSide(size)(tv_tensors.Video(flow))
            ref = v2.Resize(size, antialias=True)(tv_tensors.Video(flow))
            assert type(out) is tv_tensors.Video and out.shape == ref.shape
            assert torch.equal(out.as_subclass(torch.Tensor), ref.as_subclass(torch.Tensor))
        msc = T.MultiScaleCrop(24, T.FLOW_SCALES, scale_size=None)
        resized = 0
        for seed in range(6):
            torch.manual_seed(seed)
            p = msc.make_params([flow])
            box = flow[..., p["top"]:p["top"] + p["height"], p["left"]:p["left"] + p["width"]]
            resized += (p["height"], p["width"]) != (24, 24)
            assert torch.equal(msc.transform(flow, p), F.resize(box, [24, 24], antialias=True))
        assert resized  # the crops 30x30 / 26x26 / ... were really resized


@pytest.mark.parametrize("preset", ["train", "train_fixed5", "val", "train_uint8", "val_uint8", "train_uint8_noflip"])
def test_presets_give_contiguous_tensors_and_leave_their_input_untouched(preset):
    """For decoded (channels-last) and planar frames, crops that need a resize and crops that do not, flips or
    not: the presets return a plain contiguous tensor of the right dtype, reproducibly under a seed, and never
    modify their input."""
    tf = {
        "train": lambda: T.train_transform("RGB", 3, 1, 48, 56),
        "train_fixed5": lambda: T.train_transform("RGB", 2, 2, 40, None, num_fixed_crops=5),
        "val": lambda: T.val_transform("RGB", 3, 1, 48, 56),
        "train_uint8": lambda: T.train_transform("RGB", 3, 1, 48, 56, normalize=False),
        "val_uint8": lambda: T.val_transform("RGB", 3, 1, 48, 56, normalize=False),
        "train_uint8_noflip": lambda: T.train_transform("RGB", 2, 2, 40, None, flip=False, normalize=False),
    }[preset]()
    n = tf.transforms[-1].num_clips * tf.transforms[-1].clip_len
    for h, w in ((48, 64), (56, 80), (42, 48)):
        hwc = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(h + w))
        for video in (tv_tensors.Video(hwc.permute(0, 3, 1, 2)), tv_tensors.Video(hwc.permute(0, 3, 1, 2).contiguous())):
            before = video.clone()
            for seed in range(10):
                torch.manual_seed(seed)
                out = tf(video)
                torch.manual_seed(seed)
                again = tf(video)
                assert type(out) is torch.Tensor and out.is_contiguous()
                assert out.dtype == (torch.uint8 if "uint8" in preset else torch.float32)
                assert torch.equal(out, again), (preset, h, w, seed)
            assert torch.equal(video, before)  # the input is never modified (the flips of flow-x are on copies)


def test_transforms_pass_other_inputs_through():
    """A lone tensor takes the short path; (frames, label) structures still go through v2's generic one."""
    video = random_video(3, 3, 60, 80, seed=6)
    tf = T.train_transform("RGB", 3, 1, 32, 36)
    torch.manual_seed(3)
    alone = tf(video)
    torch.manual_seed(3)
    pair = tf(video, 7)
    assert pair[1] == 7 and torch.equal(pair[0], alone)
    torch.manual_seed(3)
    assert torch.equal(tf({"imgs": video, "label": 7})["imgs"], alone)


def test_preset_argument_errors():
    with pytest.raises(ValueError, match="modality"):
        T.train_transform("Depth")
    with pytest.raises(ValueError, match="crop"):
        T.train_transform("RGB", crop="center")
    with pytest.raises(ValueError, match="num_crops"):
        T.test_transform("RGB", num_crops=5)
    with pytest.raises(ValueError, match="num_fixed_crops"):
        T.MultiScaleCrop(224, num_fixed_crops=7)


def test_ten_crop_rgb_preset_is_resize_ten_crop_normalise_format():
    """The RGB 10-crop preset is its steps: resize the short side, ten views, normalise, format."""
    from torchvision.transforms import v2
    from torchvision import tv_tensors

    from tsnlib.transforms import FormatShape, NormalizeRGB, ResizeShortSide, TenCrop, test_transform

    g = torch.Generator().manual_seed(0)
    video = tv_tensors.Video(torch.randint(0, 256, (5, 3, 120, 150), dtype=torch.uint8, generator=g))
    preset = test_transform("RGB", 5, 1, 112, 128, num_crops=10)(video)
    steps = v2.Compose([ResizeShortSide(128), TenCrop(112), NormalizeRGB(), FormatShape(5, 1)])(video)
    assert preset.shape == (50, 3, 112, 112) and preset.dtype == torch.float32
    assert torch.equal(torch.as_tensor(preset), torch.as_tensor(steps))


# ---------------------------------------------------------------------------------------------
# uint8 views, normalised on the model's device
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("modality,clip_len", [("RGB", 1), ("RGB", 2), ("Flow", 5), ("RGBDiff", 2)])
@pytest.mark.parametrize("preset", ["train", "val", "test3", "test10"])
def test_uint8_presets_then_normalize_views_equal_the_float_presets(modality, clip_len, preset):
    """normalize=False stops at uint8; normalize_views of that is bit-identical to normalize=True, in any layout."""
    K = 3
    frames = random_video(K * (clip_len + (modality == "RGBDiff")), T.MODALITY_CHANNELS[modality], 90, 130, seed=3)
    frames = tv_tensors.Video(frames.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2))  # decoder layout (T, H, W, C)
    make = {
        "train": lambda n: T.train_transform(modality, K, clip_len, 64, 72, normalize=n),
        "val": lambda n: T.val_transform(modality, K, clip_len, 64, 72, normalize=n),
        "test3": lambda n: T.test_transform(modality, K, clip_len, 64, 72, num_crops=3, normalize=n),
        "test10": lambda n: T.test_transform(modality, K, clip_len, 64, 72, num_crops=10, normalize=n),
    }[preset]
    torch.manual_seed(11)
    ref = make(True)(frames)
    torch.manual_seed(11)
    raw = make(False)(frames)
    views = {"train": K, "val": K, "test3": 3 * K, "test10": 10 * K}[preset]
    raw_channels = {"RGB": 3 * clip_len, "Flow": 2 * clip_len, "RGBDiff": 3 * (clip_len + 1)}[modality]
    assert raw.dtype == torch.uint8 and tuple(raw.shape) == (views, raw_channels, 64, 64) and raw.is_contiguous()
    assert ref.dtype == torch.float32 and tuple(ref.shape) == (views, ref.shape[1], 64, 64)
    assert torch.equal(T.normalize_views(raw, modality, clip_len), ref)
    cl = T.normalize_views(raw.contiguous(memory_format=torch.channels_last), modality, clip_len)
    assert torch.equal(cl, ref)
    if modality != "RGBDiff":
        assert cl.is_contiguous(memory_format=torch.channels_last)


def test_normalize_views_values_and_bad_input():
    x = torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(1, 2, 1, 3).contiguous()
    flow = T.normalize_views(x, "Flow", 1)
    assert flow[0, 0, 0].tolist() == [-1.0, 0.0, 127 / 128]
    rgb = T.normalize_views(torch.full((2, 3, 1, 1), 255, dtype=torch.uint8), "RGB", 1)
    expect = [(1 - m) / s for m, s in zip(T.IMAGENET_MEAN, T.IMAGENET_STD)]
    assert rgb[1, :, 0, 0].tolist() == pytest.approx(expect, rel=1e-6)
    frames = torch.tensor([10, 20, 30, 250, 0, 30], dtype=torch.uint8).view(1, 6, 1, 1)  # two RGB frames
    diff = T.normalize_views(frames, "RGBDiff", 1)
    assert diff.shape == (1, 3, 1, 1) and diff.flatten().tolist() == pytest.approx([240 / 255, -20 / 255, 0.0])
    with pytest.raises(TypeError, match="uint8"):
        T.normalize_views(torch.zeros(1, 3, 4, 4), "RGB", 1)
    with pytest.raises(ValueError, match=r"\(\.\.\., 9, H, W\)"):
        T.normalize_views(torch.zeros(1, 6, 4, 4, dtype=torch.uint8), "RGBDiff", 2)
    with pytest.raises(ValueError, match="modality"):
        T.normalize_views(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "Depth", 1)


def test_normalize_views_routes_and_out_buffer():
    """Planar, channels-last and strided views give the formula's values bit for bit; ``out`` is written and
    returned."""
    raw = random_video(6, 6, 20, 24, seed=9)  # 6 views of an RGB stack of 2 frames, planar
    ref = T.normalize_views(raw.clone(), "RGB", 2)
    strided = torch.zeros(6, 6, 20, 48, dtype=torch.uint8)
    strided[..., ::2] = raw
    assert torch.equal(T.normalize_views(strided[..., ::2], "RGB", 2), ref)  # neither layout: the torch route
    m = torch.tensor(T.IMAGENET_MEAN * 2).view(6, 1, 1) * 255.0
    s = torch.tensor(T.IMAGENET_STD * 2).view(6, 1, 1) * 255.0
    assert torch.equal(ref, (raw.float() - m) / s)
    cl = raw.contiguous(memory_format=torch.channels_last)
    buf = torch.empty(6, 6, 20, 24, memory_format=torch.channels_last)
    got = T.normalize_views(cl, "RGB", 2, out=buf)
    assert got.data_ptr() == buf.data_ptr() and torch.equal(got, ref)
    flow = random_video(4, 4, 8, 8, seed=1)
    assert torch.equal(T.normalize_views(flow, "Flow", 2), (flow.float() - 128) / 128)
    assert torch.equal(T.normalize_views(flow.contiguous(memory_format=torch.channels_last), "Flow", 2),
                       (flow.float() - 128) / 128)
    with pytest.raises(ValueError, match="out must be"):
        T.normalize_views(cl, "RGB", 2, out=torch.empty(6, 6, 20, 24, dtype=torch.float64))


def test_ten_crop_views_are_the_crops_and_their_exact_mirrors():
    video = random_video(4, 3, 40, 50, seed=5)
    out = T.TenCrop(32)(video)
    for i, (ox, oy) in enumerate(T.ten_crop_offsets(50, 40, 32, 32)):
        crop = video[..., oy:oy + 32, ox:ox + 32]
        assert torch.equal(out[i], crop) and torch.equal(out[5 + i], crop.flip(-1))
    channels_last = tv_tensors.Video(video.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2))
    assert torch.equal(T.TenCrop(32)(channels_last), out)
    as_float = T.TenCrop(32)(tv_tensors.Video(video.float()))
    assert as_float.dtype == torch.float32 and torch.equal(as_float, out.float())
