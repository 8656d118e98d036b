"""Segment sampling against the worked vectors of the reference notes (§3.1-3.3, tsn-pytorch column)."""

from __future__ import annotations

import numpy as np
import pytest

from tsnlib import sampling
from tsnlib.sampling import (
    FrameSampler,
    sample_dense_indices,
    sample_test_indices,
    sample_train_indices,
    sample_val_indices,
)


def one_based_starts(idx: np.ndarray) -> list[int]:
    return (idx[:, 0] + 1).tolist()


# ---------------------------------------------------------------------------------------------
# worked vectors (§3.3 table, tsn-pytorch column; 1-based there, 0-based here)
# ---------------------------------------------------------------------------------------------


def test_val_rgb_L100_K3():
    idx = sample_val_indices(100, 3)
    assert idx.dtype == np.int64 and idx.shape == (3, 1)
    assert idx[:, 0].tolist() == [16, 50, 83]
    assert one_based_starts(idx) == [17, 51, 84]


def test_test_rgb_L100_K25():
    idx = sample_test_indices(100, 25)
    assert idx.shape == (25, 1)
    assert one_based_starts(idx) == list(range(3, 100, 4))  # 3, 7, 11, ..., 99


def test_test_flow_L99_K25_stack5():
    idx = sample_test_indices(99, 25, clip_len=5)
    assert idx.shape == (25, 5)
    # tick = 95 / 25 = 3.8, start_n = int(1.9 + 3.8 n) (+1 for 1-based)
    assert one_based_starts(idx) == [2, 6, 10, 14, 18, 21, 25, 29, 33, 37, 40, 44, 48, 52, 56, 59, 63,
                                     67, 71, 75, 78, 82, 86, 90, 94]
    assert (idx[0] + 1).tolist() == [2, 3, 4, 5, 6]
    assert (idx[-1] + 1).tolist() == [94, 95, 96, 97, 98]  # the mm2 0.x column's last stack
    assert np.all(np.diff(idx, axis=1) == 1)


def test_short_video_L2_K3():
    assert one_based_starts(sample_val_indices(2, 3)) == [1, 1, 1]
    assert one_based_starts(sample_test_indices(2, 3)) == [1, 2, 2]


def test_val_and_test_match_scalar_tsn_pytorch_formulas():
    """The vectorised code equals tsn-pytorch's per-segment loops (1-based) on a grid of videos."""
    for L in [1, 2, 3, 4, 7, 10, 25, 26, 99, 100, 301]:
        for K in [1, 2, 3, 7, 25]:
            for nl in [1, 5]:
                tick = (L - nl + 1) / float(K)
                if L > K + nl - 1:
                    val = [int(tick / 2.0 + tick * x) + 1 for x in range(K)]
                else:
                    val = [1] * K
                test = [int(tick / 2.0 + tick * x) + 1 for x in range(K)] if L > nl - 1 else [1] * K
                assert one_based_starts(sample_val_indices(L, K, clip_len=nl)) == val, (L, K, nl)
                assert one_based_starts(sample_test_indices(L, K, clip_len=nl)) == test, (L, K, nl)


# ---------------------------------------------------------------------------------------------
# training sampling (§3.1)
# ---------------------------------------------------------------------------------------------


def test_train_indices_inside_their_segments_and_cover_them():
    rng = np.random.default_rng(0)
    L, K = 100, 3
    avg = L // K  # 33 start positions per segment
    seen = [set() for _ in range(K)]
    for _ in range(2000):
        idx = sample_train_indices(L, K, rng=rng)
        assert idx.shape == (K, 1) and idx.dtype == np.int64
        for k in range(K):
            assert k * avg <= idx[k, 0] < (k + 1) * avg
            seen[k].add(int(idx[k, 0]))
    for k in range(K):  # every position of every segment gets drawn
        assert seen[k] == set(range(k * avg, (k + 1) * avg))


def test_train_stacks_inside_segments_of_start_positions():
    rng = np.random.default_rng(1)
    L, K, nl = 100, 3, 5
    avg = (L - nl + 1) // K  # 32
    for _ in range(300):
        idx = sample_train_indices(L, K, clip_len=nl, rng=rng)
        assert idx.shape == (K, nl)
        assert np.all(np.diff(idx, axis=1) == 1)
        for k in range(K):
            assert k * avg <= idx[k, 0] < (k + 1) * avg
        assert idx.max() <= L - 1


def test_train_frame_interval():
    idx = sample_train_indices(200, 4, clip_len=3, frame_interval=4, rng=np.random.default_rng(2))
    assert idx.shape == (4, 3)
    assert np.all(np.diff(idx, axis=1) == 4)
    avg = (200 - 12 + 1) // 4
    assert all(k * avg <= idx[k, 0] < (k + 1) * avg for k in range(4))


def test_train_draws_match_documented_rng_calls():
    """The draws are rng.integers(0, avg, K) (normal branch) and sorted rng.integers(0, L-ori+1, K)."""
    L, K = 100, 3
    expected = np.arange(K) * 33 + np.random.default_rng(7).integers(0, 33, size=K)
    assert sample_train_indices(L, K, rng=np.random.default_rng(7))[:, 0].tolist() == expected.tolist()
    # short branch: L=10, K=8, ori=5 -> avg = 6 // 8 = 0 and L > max(K, ori): sorted draws in 0..5
    expected = np.sort(np.random.default_rng(7).integers(0, 6, size=8))
    got = sample_train_indices(10, 8, clip_len=5, rng=np.random.default_rng(7))
    assert got[:, 0].tolist() == expected.tolist()
    assert np.all(np.diff(got[:, 0]) >= 0)


def test_train_short_video_branches():
    # avg == 0 and not L > max(K, ori): rounded even spread, whatever the rng
    for seed in range(5):
        assert sample_train_indices(2, 3, rng=np.random.default_rng(seed))[:, 0].tolist() == [0, 1, 1]
    # L=4, K=3, clip_len=5: L - ori + 1 = 0 -> avg == 0 -> all start at 0, clamped to the last frame
    idx = sample_train_indices(4, 3, clip_len=5, rng=np.random.default_rng(0))
    assert idx.tolist() == [[0, 1, 2, 3, 3]] * 3
    # L=3, clip_len=5: avg < 0 -> zeros
    idx = sample_train_indices(3, 3, clip_len=5, rng=np.random.default_rng(0))
    assert idx.tolist() == [[0, 1, 2, 2, 2]] * 3


def test_train_determinism_with_seeded_rng():
    a = sample_train_indices(300, 7, clip_len=2, frame_interval=2, rng=np.random.default_rng(123))
    b = sample_train_indices(300, 7, clip_len=2, frame_interval=2, rng=np.random.default_rng(123))
    c = sample_train_indices(300, 7, clip_len=2, frame_interval=2, rng=np.random.default_rng(124))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_train_without_rng_runs():
    idx = sample_train_indices(50, 3)
    assert idx.shape == (3, 1) and 0 <= idx.min() and idx.max() <= 49


# ---------------------------------------------------------------------------------------------
# out of bound, short videos, errors
# ---------------------------------------------------------------------------------------------


def test_loop_vs_repeat_last():
    # L=8, one snippet of 4 frames 3 apart: 0, 3, 6, 9 -> 9 is past the end; MMAction2's repeat_last
    # repeats the snippet's largest in-range index (6), not the video's last frame (7)
    assert sample_val_indices(8, 1, clip_len=4, frame_interval=3).tolist() == [[0, 3, 6, 6]]
    assert sample_val_indices(8, 1, clip_len=4, frame_interval=3, out_of_bound="loop").tolist() == [[0, 3, 6, 1]]
    assert sample_train_indices(3, 3, clip_len=5, out_of_bound="loop", rng=np.random.default_rng(0)).tolist() == [[0, 1, 2, 0, 1]] * 3


@pytest.mark.parametrize("out_of_bound", ["repeat_last", "loop"])
def test_every_index_in_range_for_every_sampler(out_of_bound):
    rng = np.random.default_rng(3)
    for L in [1, 2, 3, 5, 9, 17, 64, 65, 100]:
        for K in [1, 3, 8, 25]:
            for nl, fi in [(1, 1), (5, 1), (2, 3), (4, 4)]:
                outs = [
                    sample_train_indices(L, K, nl, fi, rng=rng, out_of_bound=out_of_bound),
                    sample_val_indices(L, K, nl, fi, out_of_bound=out_of_bound),
                    sample_test_indices(L, K, nl, fi, out_of_bound=out_of_bound),
                    sample_test_indices(L, K, nl, fi, twice=True, out_of_bound=out_of_bound),
                    sample_dense_indices(L, K, clip_len=nl, frame_interval=fi, rng=rng, out_of_bound=out_of_bound),
                    sample_dense_indices(L, K, clip_len=nl, frame_interval=fi, test_mode=True, out_of_bound=out_of_bound),
                ]
                rows = [K, K, K, 2 * K, K, 10 * K]
                for out, n in zip(outs, rows):
                    assert out.dtype == np.int64 and out.shape == (n, nl), (L, K, nl, fi)
                    assert out.min() >= 0 and out.max() <= L - 1, (L, K, nl, fi)


def test_single_frame_video_gives_zeros():
    for K in [1, 3, 25]:
        assert np.all(sample_train_indices(1, K, rng=np.random.default_rng(0)) == 0)
        assert np.all(sample_val_indices(1, K, clip_len=5) == 0)
        assert np.all(sample_test_indices(1, K, clip_len=5) == 0)
        assert np.all(sample_dense_indices(1, K, test_mode=True) == 0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sample_train_indices(0, 3), "num_frames"),
        (lambda: sample_val_indices(-5, 3), "num_frames"),
        (lambda: sample_test_indices(10, 0), "num_clips"),
        (lambda: sample_train_indices(10, 0), "num_segments"),
        (lambda: sample_train_indices(10, 3, clip_len=0), "clip_len"),
        (lambda: sample_val_indices(10, 3, frame_interval=0), "frame_interval"),
        (lambda: sample_train_indices(10, 3, out_of_bound="wrap"), "out_of_bound"),
        (lambda: sample_train_indices(10.5, 3), "num_frames"),
        (lambda: sample_dense_indices(10, 3, sample_range=0), "sample_range"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_integers_accepted():
    assert sample_val_indices(np.int64(100), np.int32(3))[:, 0].tolist() == [16, 50, 83]


# ---------------------------------------------------------------------------------------------
# twice and dense
# ---------------------------------------------------------------------------------------------


def test_twice_sampling_centres_then_starts():
    idx = sample_test_indices(100, 3, twice=True)
    assert idx.shape == (6, 1)
    assert idx[:, 0].tolist() == [16, 50, 83, 0, 33, 66]
    assert sample_test_indices(100, 25, twice=True).shape == (50, 1)
    assert sample_test_indices(2, 3, clip_len=5, twice=True).shape == (6, 5)


def test_dense_train():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(500):
        idx = sample_dense_indices(100, 8, rng=rng)  # pos = 37, stride = 8
        assert idx.shape == (8, 1)
        assert np.all(np.diff(idx[:, 0]) == 8)
        starts.add(int(idx[0, 0]))
    assert starts == set(range(0, 36))  # randint(0, pos - 1): 0..35, as TSM / MMAction2
    # shorter than the window: start 0, offsets wrap mod L
    assert sample_dense_indices(30, 8, rng=rng)[:, 0].tolist() == [0, 8, 16, 24, 2, 10, 18, 26]


def test_dense_test_positions():
    idx = sample_dense_indices(100, 8, test_mode=True)
    assert idx.shape == (80, 1)
    windows = idx[:, 0].reshape(10, 8)
    assert windows[:, 0].tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]  # linspace(0, 36, 10)
    assert np.all(np.diff(windows, axis=1) == 8)
    assert sample_dense_indices(100, 8, num_sample_positions=3, test_mode=True).shape == (24, 1)
    # one position: the centred window
    assert sample_dense_indices(100, 8, num_sample_positions=1, test_mode=True)[0, 0] == 18
    assert sample_dense_indices(100, 4, clip_len=2, test_mode=True).shape == (40, 2)


# ---------------------------------------------------------------------------------------------
# FrameSampler
# ---------------------------------------------------------------------------------------------


def test_frame_sampler_delegates_to_the_functions():
    assert np.array_equal(FrameSampler(3, mode="val")(100), sample_val_indices(100, 3))
    assert np.array_equal(FrameSampler(25, clip_len=5, mode="test")(99), sample_test_indices(99, 25, clip_len=5))
    assert np.array_equal(
        FrameSampler(3, clip_len=5)(100, rng=np.random.default_rng(4)),
        sample_train_indices(100, 3, clip_len=5, rng=np.random.default_rng(4)),
    )
    assert np.array_equal(FrameSampler(3, mode="test", twice=True)(100), sample_test_indices(100, 3, twice=True))
    assert np.array_equal(
        FrameSampler(8, dense=True, mode="test")(100), sample_dense_indices(100, 8, test_mode=True)
    )
    val = FrameSampler(8, dense=True, mode="val")
    assert val(100).shape == (8, 1) and np.array_equal(val(100), val(100)) and val(100)[0, 0] == 18
    loop = FrameSampler(1, clip_len=4, frame_interval=3, mode="val", out_of_bound="loop")
    assert loop(8).tolist() == [[0, 3, 6, 1]]


def test_frame_sampler_num_clips_and_describe():
    assert FrameSampler(3).describe() == "1x1x3"
    assert FrameSampler(3, clip_len=5, mode="val").describe() == "5x1x3"
    assert FrameSampler(8, clip_len=2, frame_interval=4, dense=True).describe() == "dense-2x4x8"
    assert FrameSampler(3).num_clips == 3
    assert FrameSampler(25, mode="test", twice=True).num_clips == 50
    assert FrameSampler(8, dense=True, mode="test").num_clips == 80
    assert FrameSampler(8, dense=True, mode="val").num_clips == 8
    for s in [FrameSampler(25, mode="test", twice=True), FrameSampler(8, dense=True, mode="test"), FrameSampler(3)]:
        assert s(120, rng=np.random.default_rng(0)).shape == (s.num_clips, s.clip_len)


def test_frame_sampler_rejects_bad_settings():
    with pytest.raises(ValueError, match="mode"):
        FrameSampler(3, mode="eval")
    with pytest.raises(ValueError, match="twice"):
        FrameSampler(3, twice=True)
    with pytest.raises(ValueError, match="num_segments"):
        FrameSampler(0)
    with pytest.raises(ValueError, match="out_of_bound"):
        FrameSampler(3, out_of_bound="clip")
    with pytest.raises(ValueError, match="num_frames"):
        FrameSampler(3)(0)


def test_module_constants():
    assert sampling.OUT_OF_BOUND_MODES == ("repeat_last", "loop")
    assert sampling.SAMPLER_MODES == ("train", "val", "test")


def _mmaction2_repeat_last(inds: np.ndarray, total_frames: int) -> np.ndarray:
    """MMAction2 ``SampleFrames``'s ``out_of_bound_opt='repeat_last'``, written from its description:
    per clip, every index >= total_frames becomes the clip's largest index < total_frames (0 if none)."""
    out = inds.copy()
    for row in out:
        inside = row[row < total_frames]
        row[row >= total_frames] = inside.max() if inside.size else 0
    return out


def test_repeat_last_is_mmaction2s_option_of_that_name():
    for L in range(1, 40):
        for K in (1, 3, 8, 25):
            for nl, fi in ((1, 1), (5, 1), (2, 3), (4, 2), (3, 5)):
                loop = sample_train_indices(L, K, nl, fi, rng=np.random.default_rng(L * 7 + K), out_of_bound="loop")
                # the same offsets without wrapping, then MMAction2's rule
                raw = loop[:, :1] + np.arange(nl)[None, :] * fi
                got = sample_train_indices(L, K, nl, fi, rng=np.random.default_rng(L * 7 + K))
                assert np.array_equal(got, _mmaction2_repeat_last(raw, L)), (L, K, nl, fi)
                t = sample_test_indices(L, K, nl, fi)
                raw_t = t[:, :1] + np.arange(nl)[None, :] * fi
                assert np.array_equal(t, _mmaction2_repeat_last(raw_t, L))
    # the flow stream's snippets (5 consecutive frames) end at L - 1 as before: no change there
    stack = sample_test_indices(7, 25, clip_len=5)
    assert np.array_equal(stack, np.minimum(stack[:, :1] + np.arange(5), 6))
