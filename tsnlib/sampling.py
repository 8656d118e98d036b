"""Segment sampling: which frames a Temporal Segment Network reads from a video.

Introduced in notebooks/02_segment_sampling.ipynb.

TSN never looks at a whole video. It cuts the ``L`` available frames into ``K`` equal segments
and reads one short *snippet* (a clip of ``clip_len`` frames, ``frame_interval`` apart) from each:
a random position inside each segment while training, the segment centre for validation, and
``N`` (the paper's 25) evenly spaced snippets at test time. Every function here is a small pure
function of ``(num_frames, ...)`` returning an ``int64`` array of shape ``(num_clips, clip_len)``
of **0-based** frame indices, each inside ``[0, num_frames - 1]``. ``start_index`` (1 for
``img_00001.jpg`` frame folders, 0 for video files) is added only when file names are built.

The formulas follow the reference implementations (section 3 of the reference notes):

===============  ===========================================================  ==================
function         formula (``ori = clip_len * frame_interval``)                matches
===============  ===========================================================  ==================
train            ``avg = (L - ori + 1) // K``; ``off_k = k*avg + U{0..avg-1}``  tsn-pytorch
                 (short videos: sorted random, rounded spread, or zeros)      ``_sample_indices``,
                                                                              MMAction2
                                                                              ``_get_train_clips``
val              ``tick = (L - ori + 1) / K``; ``off_k = int(tick/2 + tick*k)``  tsn-pytorch
                 if ``L > K + ori - 1`` else 0                                ``_get_val_indices``
test             ``avg = (L - ori + 1) / K``; ``off_k = int(k*avg + avg/2)``  tsn-pytorch
                 if ``L > ori - 1`` else 0 (``twice``: also ``int(k*avg)``)   ``_get_test_indices``,
                                                                              MMAction2 0.x
dense            64-frame window, stride ``64 // K``, random / spread starts  TSM, MMAction2
                                                                              ``DenseSampleFrames``
===============  ===========================================================  ==================

A snippet's frames are ``off_k + j * frame_interval`` for ``j = 0..clip_len-1``. Frames past the
end are handled by ``out_of_bound``, named and computed as MMAction2's ``out_of_bound_opt``:
``"repeat_last"`` replaces them by the snippet's largest in-range index (with ``frame_interval``
1 that is the last frame ``L - 1``, where tsn-pytorch's stack reading stops advancing too; with a
larger interval it is the snippet's last frame before the end, not ``L - 1``), ``"loop"`` wraps
them around (``mod L``). Videos shorter than ``K`` snippets are never an error: indices simply
repeat.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: The accepted values of ``out_of_bound``.
OUT_OF_BOUND_MODES = ("repeat_last", "loop")

#: The accepted values of :attr:`FrameSampler.mode`.
SAMPLER_MODES = ("train", "val", "test")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _check_positive(name: str, value, what: str) -> int:
    """Return ``value`` as an int, or raise ValueError when it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= 1 ({what}), got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 ({what}), got {value}")
    return int(value)


def _check_common(num_frames, num_segments, clip_len, frame_interval, out_of_bound, segments_name="num_segments"):
    L = _check_positive("num_frames", num_frames, "a video with no frames cannot be sampled")
    K = _check_positive(segments_name, num_segments, "the number of snippets to sample")
    nl = _check_positive("clip_len", clip_len, "frames per snippet")
    fi = _check_positive("frame_interval", frame_interval, "step between the frames of a snippet")
    if out_of_bound not in OUT_OF_BOUND_MODES:
        raise ValueError(f"out_of_bound must be one of {OUT_OF_BOUND_MODES}, got {out_of_bound!r}")
    return L, K, nl, fi


def _expand_clips(offsets: np.ndarray, num_frames: int, clip_len: int, frame_interval: int, out_of_bound: str) -> np.ndarray:
    """Turn snippet start offsets ``(num_clips,)`` into frame indices ``(num_clips, clip_len)``.

    ``inds[k, j] = offsets[k] + j * frame_interval``, then frames past the end are replaced by
    the largest in-range index of their snippet ``k`` (``"repeat_last"``; 0 if none is in range)
    or wrapped ``mod num_frames`` (``"loop"``), as MMAction2's ``SampleFrames`` does.
    """
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1)
    inds = offsets[:, None] + np.arange(clip_len, dtype=np.int64)[None, :] * frame_interval
    if out_of_bound == "loop":
        inds = np.mod(inds, num_frames)
    else:
        inside = inds < num_frames
        last_inside = np.where(inside, inds, 0).max(axis=1, keepdims=True)
        inds = np.where(inside, inds, last_inside)
    return inds.astype(np.int64, copy=False)


def _centre_offsets(num_frames: int, num_clips: int, span: int) -> np.ndarray:
    """``int(tick / 2 + tick * k)`` with ``tick = (L - span + 1) / num_clips``: snippet centres."""
    tick = (num_frames - span + 1) / float(num_clips)
    return (np.arange(num_clips) * tick + tick / 2.0).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# the samplers
# ---------------------------------------------------------------------------------------------


def sample_train_indices(
    num_frames: int,
    num_segments: int,
    clip_len: int = 1,
    frame_interval: int = 1,
    rng: np.random.Generator | None = None,
    out_of_bound: str = "repeat_last",
) -> np.ndarray:
    """Training sampling: one snippet at a random position inside each of K equal segments.

    Introduced in notebooks/02_segment_sampling.ipynb.

    In words: a snippet spans ``ori = clip_len * frame_interval`` frames, so it can start at any of
    ``L - ori + 1`` positions. Cut those positions into ``K`` equal segments of ``avg = (L - ori + 1)
    // K`` positions and draw the start uniformly inside each: ``off_k = k * avg + U{0..avg-1}``.
    Videos too short for that (``avg == 0``) fall back, in order, to

    * ``L > max(K, ori)``: ``K`` sorted uniform draws from all ``L - ori + 1`` start positions;
    * ``avg == 0`` (fewer start positions than segments): an even spread,
      ``round(k * (L - ori + 1) / K)``;
    * otherwise (the snippet is longer than the video): every snippet starts at frame 0.

    Then ``inds[k, j] = off_k + j * frame_interval`` with out-of-bound frames handled by
    ``out_of_bound``. This is MMAction2's ``SampleFrames._get_train_clips`` (``keep_tail_frames=
    False``), which for ``frame_interval = 1`` is tsn-pytorch's ``_sample_indices`` (shifted to
    0-based), plus the even-spread branch for very short videos. The random draws are
    ``rng.integers(0, avg, size=K)`` and ``rng.integers(0, L - ori + 1, size=K)``, in that form, so a
    seeded generator reproduces the same indices. Caffe's data layer uses ``avg = L // K`` and
    ``rand() % (avg - nl + 1)`` instead (a slightly narrower range); we follow tsn-pytorch.

    Args:
        num_frames: ``L``, frames available (for flow, the number of flow frames), >= 1.
        num_segments: ``K``, segments (one snippet each), >= 1.
        clip_len: frames per snippet (1 for RGB, 5 for a flow stack).
        frame_interval: step between the frames of a snippet.
        rng: a ``numpy.random.Generator``; a fresh unseeded one when None.
        out_of_bound: ``"repeat_last"`` (the snippet's largest in-range index) or ``"loop"`` (mod ``L``).

    Returns:
        int64 array ``(num_segments, clip_len)`` of 0-based indices in ``[0, L - 1]``.

    Raises:
        ValueError: ``num_frames``, ``num_segments``, ``clip_len`` or ``frame_interval`` < 1, or an
            unknown ``out_of_bound``.
    """
    L, K, nl, fi = _check_common(num_frames, num_segments, clip_len, frame_interval, out_of_bound)
    rng = np.random.default_rng() if rng is None else rng
    ori = nl * fi
    avg = (L - ori + 1) // K
    if avg > 0:
        offsets = np.arange(K) * avg + rng.integers(0, avg, size=K)
    elif L > max(K, ori):
        offsets = np.sort(rng.integers(0, L - ori + 1, size=K))
    elif avg == 0:
        offsets = np.around(np.arange(K) * (L - ori + 1.0) / K)
    else:
        offsets = np.zeros(K)
    return _expand_clips(offsets, L, nl, fi, out_of_bound)


def sample_val_indices(
    num_frames: int,
    num_segments: int,
    clip_len: int = 1,
    frame_interval: int = 1,
    out_of_bound: str = "repeat_last",
) -> np.ndarray:
    """Validation sampling: the snippet at the centre of each of K equal segments (deterministic).

    Introduced in notebooks/02_segment_sampling.ipynb.

    In words: with ``ori = clip_len * frame_interval`` and ``tick = (L - ori + 1) / K`` (a float),
    snippet ``k`` starts at ``int(tick / 2 + tick * k)``, the middle of segment ``k``, provided the
    video holds more than ``K + ori - 1`` frames; otherwise every snippet starts at frame 0. This is
    tsn-pytorch's ``_get_val_indices`` (0-based; ``frame_interval`` generalises its ``new_length``),
    e.g. ``L = 100, K = 3`` gives 0-based ``[16, 50, 83]`` (1-based ``[17, 51, 84]``) and the short
    video ``L = 2, K = 3`` gives ``[0, 0, 0]``. MMAction2 validates with its test formula
    (:func:`sample_test_indices`), identical for long videos; Caffe's data layer uses
    ``(avg - nl + 1) // 2 + k * avg`` with ``avg = L // K`` (``[16, 49, 82]`` for ``L = 100``); we
    follow tsn-pytorch.

    Returns:
        int64 array ``(num_segments, clip_len)`` of 0-based indices in ``[0, L - 1]``.

    Raises:
        ValueError: as :func:`sample_train_indices`.
    """
    L, K, nl, fi = _check_common(num_frames, num_segments, clip_len, frame_interval, out_of_bound)
    ori = nl * fi
    if L > K + ori - 1:
        offsets = _centre_offsets(L, K, ori)
    else:
        offsets = np.zeros(K, dtype=np.int64)
    return _expand_clips(offsets, L, nl, fi, out_of_bound)


def sample_test_indices(
    num_frames: int,
    num_clips: int = 25,
    clip_len: int = 1,
    frame_interval: int = 1,
    twice: bool = False,
    out_of_bound: str = "repeat_last",
) -> np.ndarray:
    """Test sampling: ``num_clips`` evenly spaced snippets (the paper's 25), deterministic.

    Introduced in notebooks/02_segment_sampling.ipynb.

    In words: with ``ori = clip_len * frame_interval`` and ``avg = (L - ori + 1) / N`` (a float),
    snippet ``n`` starts at ``int(n * avg + avg / 2)`` when ``L > ori - 1``, otherwise at frame 0.
    This is tsn-pytorch's ``_get_test_indices`` and MMAction2 0.x's ``_get_test_clips`` (0-based).
    Worked examples (1-based, as in the reference notes): RGB ``L = 100, N = 25`` → 3, 7, ..., 99;
    flow ``L = 99, N = 25, clip_len = 5`` → stacks starting at 2, 6, 10, ..., 94; the short video
    ``L = 2, N = 3`` → ``[1, 2, 2]``.

    ``twice=True`` (MMAction2 ``twice_sample``, TSM ``--twice_sample``) appends the segment starts
    ``int(n * avg)`` after the centres: ``2N`` snippets, centres first.

    Where the anchors disagree: MMAction2 1.x samples multi-frame clips (flow stacks) at test time
    with a different rule, ``round(n * max(L - ori', 0) / (N - 1))`` with
    ``ori' = (clip_len - 1) * frame_interval + 1``, which puts the first stack at frame 0 and the
    last one at the very end; the original Caffe ``eval_net.py`` uses integer ticks
    ``1, 1 + s, 1 + 2s, ...`` with ``s = (L - depth) // (N - 1)``, which for short videos never
    reaches the tail (flow ``L = 99`` → ticks 1, 4, ..., 73). We follow tsn-pytorch (= MMAction2
    0.x) for every ``clip_len``, because it is the formula the tsn-pytorch accuracy numbers were
    measured with, it treats RGB and flow alike and it covers the whole video symmetrically.

    Returns:
        int64 array ``(num_clips, clip_len)``, or ``(2 * num_clips, clip_len)`` with ``twice``, of
        0-based indices in ``[0, L - 1]``.

    Raises:
        ValueError: as :func:`sample_train_indices` (``num_clips`` >= 1).
    """
    L, K, nl, fi = _check_common(num_frames, num_clips, clip_len, frame_interval, out_of_bound, "num_clips")
    ori = nl * fi
    n_out = 2 * K if twice else K
    if L > ori - 1:
        avg = (L - ori + 1) / float(K)
        offsets = _centre_offsets(L, K, ori)
        if twice:
            offsets = np.concatenate([offsets, (np.arange(K) * avg).astype(np.int64)])
    else:
        offsets = np.zeros(n_out, dtype=np.int64)
    return _expand_clips(offsets, L, nl, fi, out_of_bound)


def sample_dense_indices(
    num_frames: int,
    num_segments: int,
    sample_range: int = 64,
    num_sample_positions: int = 10,
    clip_len: int = 1,
    frame_interval: int = 1,
    test_mode: bool = False,
    rng: np.random.Generator | None = None,
    out_of_bound: str = "repeat_last",
) -> np.ndarray:
    """Dense (I3D-style) sampling: K snippets packed into one ``sample_range``-frame window.

    Introduced in notebooks/02_segment_sampling.ipynb (the opposite of TSN's sparse sampling).

    In words: the window ``[start, start + sample_range)`` holds ``K`` snippets ``stride =
    sample_range // K`` frames apart, ``off_k = (start + k * stride) mod L``. The window can start
    at ``pos = max(1, L - sample_range + 1)`` positions. Training draws ``start = 0`` if
    ``pos == 1`` else ``U{0..pos-2}`` (TSM / MMAction2 ``DenseSampleFrames`` draw
    ``randint(0, pos - 1)``, which never picks the last position; kept so the draws match). Test
    mode uses ``num_sample_positions`` windows whose starts are
    ``linspace(0, pos - 1, num_sample_positions)`` truncated to int, giving
    ``num_sample_positions * K`` snippets, window-major. With ``num_sample_positions == 1`` the one
    window is centred, ``start = (pos - 1) // 2`` (our choice for deterministic validation; linspace
    would pin it to the start). Each snippet then expands to ``clip_len`` frames as in
    :func:`sample_train_indices`.

    Returns:
        int64 array ``(K, clip_len)`` (train) or ``(num_sample_positions * K, clip_len)`` (test) of
        0-based indices in ``[0, L - 1]``.

    Raises:
        ValueError: as :func:`sample_train_indices`, or ``sample_range`` / ``num_sample_positions`` < 1.
    """
    L, K, nl, fi = _check_common(num_frames, num_segments, clip_len, frame_interval, out_of_bound)
    sample_range = _check_positive("sample_range", sample_range, "frames covered by the dense window")
    positions = _check_positive("num_sample_positions", num_sample_positions, "windows at test time")
    pos = max(1, 1 + L - sample_range)
    stride = sample_range // K
    base = np.arange(K, dtype=np.int64) * stride
    if test_mode:
        if positions == 1:
            starts = np.array([(pos - 1) // 2], dtype=np.int64)
        else:
            starts = np.linspace(0, pos - 1, num=positions, dtype=np.int64)
    else:
        rng = np.random.default_rng() if rng is None else rng
        starts = np.array([0 if pos == 1 else int(rng.integers(0, pos - 1))], dtype=np.int64)
    offsets = np.mod(starts[:, None] + base[None, :], L).reshape(-1)
    return _expand_clips(offsets, L, nl, fi, out_of_bound)


# ---------------------------------------------------------------------------------------------
# segments of untrimmed videos
# ---------------------------------------------------------------------------------------------


def segment_frames(start: float, end: float | None, fps: float, num_frames: int) -> tuple[int, int]:
    """``(first, count)``: the frames of the segment ``[start, end]`` seconds of a ``num_frames``-frame video.

    ``first = int(start * fps)``, ``last = min(int(end * fps), num_frames - 1)`` (``end`` None: the
    last frame), ``count = last - first + 1``: the frame shown at second ``t`` is ``int(t * fps)``,
    as MMAction2's ActivityNet clip lists compute it. A sampler then draws ``count`` frames and
    ``first`` is added to its indices. A segment that starts at or after the end of the video (or a
    non-positive ``fps``) raises ``ValueError``.

    >>> segment_frames(2.0, 4.0, 25.0, 250)
    (50, 51)
    """
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    first = int(float(start) * fps)
    last = num_frames - 1 if end is None else min(int(float(end) * fps), num_frames - 1)
    if first < 0 or first >= num_frames or last < first:
        raise ValueError(f"segment [{start}, {end}] s lies outside the video's {num_frames} frames at {fps:g} fps")
    return first, last - first + 1


# ---------------------------------------------------------------------------------------------
# one object for datasets
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FrameSampler:
    """A sampling policy bundled into one callable: ``sampler(num_frames, rng) -> (num_clips, clip_len)``.

    Introduced in notebooks/03_train_rgb.ipynb; datasets take one of these.

    ``mode="train"`` calls :func:`sample_train_indices`, ``"val"`` :func:`sample_val_indices` and
    ``"test"`` :func:`sample_test_indices` with ``num_clips = num_segments`` (so the paper's test
    protocol is ``FrameSampler(25, mode="test")``). ``dense=True`` switches to
    :func:`sample_dense_indices` (train: one random window; val: one centred window; test:
    ``num_sample_positions`` windows). ``twice=True`` (test mode only) adds the segment-start
    snippets of MMAction2's ``twice_sample``.

    Example: ``FrameSampler(3)`` is TSN's RGB training sampler, ``FrameSampler(3, clip_len=5,
    mode="val")`` the flow validation sampler; ``.describe()`` gives ``"1x1x3"`` / ``"5x1x3"``,
    MMAction2's ``clip_len x frame_interval x num_clips`` naming (``"dense-1x1x8"`` when dense).
    """

    num_segments: int
    clip_len: int = 1
    frame_interval: int = 1
    mode: str = "train"
    dense: bool = False
    twice: bool = False
    out_of_bound: str = "repeat_last"
    sample_range: int = 64
    num_sample_positions: int = 10

    def __post_init__(self):
        _check_positive("num_segments", self.num_segments, "snippets per video")
        _check_positive("clip_len", self.clip_len, "frames per snippet")
        _check_positive("frame_interval", self.frame_interval, "step between the frames of a snippet")
        if self.mode not in SAMPLER_MODES:
            raise ValueError(f"mode must be one of {SAMPLER_MODES}, got {self.mode!r}")
        if self.out_of_bound not in OUT_OF_BOUND_MODES:
            raise ValueError(f"out_of_bound must be one of {OUT_OF_BOUND_MODES}, got {self.out_of_bound!r}")
        if self.twice and (self.mode != "test" or self.dense):
            raise ValueError("twice=True is a test-time option of uniform sampling: use mode='test', dense=False")

    @property
    def num_clips(self) -> int:
        """Rows of the index array this sampler returns (``K``, ``2K`` twice, ``positions * K`` dense test)."""
        if self.dense and self.mode == "test":
            return self.num_sample_positions * self.num_segments
        return 2 * self.num_segments if self.twice else self.num_segments

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Sample 0-based indices ``(num_clips, clip_len)`` for a video of ``num_frames`` frames."""
        common = dict(clip_len=self.clip_len, frame_interval=self.frame_interval, out_of_bound=self.out_of_bound)
        if self.dense:
            positions = 1 if self.mode == "val" else self.num_sample_positions
            return sample_dense_indices(
                num_frames, self.num_segments, sample_range=self.sample_range, num_sample_positions=positions,
                test_mode=self.mode != "train", rng=rng, **common,
            )
        if self.mode == "train":
            return sample_train_indices(num_frames, self.num_segments, rng=rng, **common)
        if self.mode == "val":
            return sample_val_indices(num_frames, self.num_segments, **common)
        return sample_test_indices(num_frames, self.num_segments, twice=self.twice, **common)

    def describe(self) -> str:
        """MMAction2-style name ``clip_len x frame_interval x num_segments``, e.g. ``"1x1x3"``."""
        name = f"{self.clip_len}x{self.frame_interval}x{self.num_segments}"
        return f"dense-{name}" if self.dense else name
