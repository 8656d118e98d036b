"""Video files, frame-exact: decord where it is exact, PyAV (FFmpeg) everywhere else.

Introduced in notebooks/01_data_preparation.ipynb (``open_video``).

Every reader returns numpy ``uint8`` arrays in RGB order:

* :func:`open_video` → :class:`VideoReader`. ``get_frames(indices)`` returns ``(N, H, W, 3)`` for
  0-based frame indices, in the order asked (repeats allowed). The frame returned for index ``i``
  is *exactly* frame ``i`` of a full sequential decode (:func:`decode_all`, the reference): readers
  seek to the keyframe at or before the first wanted frame and decode forward, never "seek and
  take the first frame that comes out" (on a file with 12- or 250-frame groups of pictures that
  returns the previous keyframe, not the frame asked for).
* **Which decoder**: decord (``get_batch``, its accurate mode) when it is installed, opens the file
  and is known to be exact on it, else PyAV (FFmpeg bindings, available everywhere, including
  macOS/arm64 where decord has no wheels). The choice is made by a cheap probe the first time the
  process opens a file (:func:`probe_video`: codec, B-frames, frame size, rotation, frame count,
  frame rate); decord's sparse reads are wrong on MPEG-4 Part 2 and HEVC files with B-frames, its
  colours differ on odd frame sizes and it mishandles rotation flags, so those files go to PyAV
  (:func:`decord_problem`). Each reader decodes with one thread: with several DataLoader workers
  on a small machine that is the fastest setting.
* **Rotation**: a rotation flag in the container (a phone video's display matrix) is honoured
  everywhere, as players do: every reader, :func:`iter_frames` and so frame/flow extraction and
  ``tsnlib predict --out`` return the frames turned upright (:func:`rotate_frame`).
* **Sequential decoding**: :func:`iter_frames` streams every frame in order (what extraction
  writes, :mod:`tsnlib.frame_folders`), :func:`frame_times` says when each is shown.

Frame folders (the JPEGs extracted from videos) are read and written by :mod:`tsnlib.frame_folders`.
Bad input raises :class:`tsnlib.errors.DecodeError` naming the file.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tsnlib.errors import DecodeError

#: Backend names accepted by :func:`open_video`.
BACKENDS = ("auto", "decord", "pyav")

_FALLBACK_WARNED = False
_DECORD = None  # the imported module, False when it cannot be imported, None before trying


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------


def _import_decord():
    """The ``decord`` module, or None when it is not installed (e.g. macOS/arm64)."""
    global _DECORD
    if _DECORD is None:
        try:
            import decord  # noqa: PLC0415 - optional, imported on first use

            _DECORD = decord
        except Exception:  # noqa: BLE001 - ImportError, or a broken binary wheel
            _DECORD = False
    return _DECORD or None


def available_backends() -> dict[str, bool | str]:
    """Which video decoders can be used here: ``{"decord": True | reason, "pyav": True}``.

    PyAV is a required dependency (this module imports it); decord is optional.
    Used by ``tsnlib info``.
    """
    out: dict[str, bool | str] = {}
    if _import_decord() is not None:
        out["decord"] = True
    else:
        out["decord"] = "not installed (no wheels for this platform, e.g. macOS/arm64); PyAV is used"
    out["pyav"] = True
    return out


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DecodeError("video file not found", path=path)
    if path.is_dir():
        raise DecodeError("expected a video file, found a folder (use source='frames' for frame folders)", path=path)
    if path.stat().st_size == 0:
        raise DecodeError("video file is empty (0 bytes)", path=path)


def _check_indices(indices, num_frames: int, path) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            idx = idx.astype(np.int64)
        elif np.all(np.asarray(idx, dtype=np.float64) == np.round(np.asarray(idx, dtype=np.float64))):
            idx = idx.astype(np.int64)
        else:
            raise DecodeError(f"frame indices must be integers, got dtype {idx.dtype}", path=path)
    idx = idx.astype(np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= num_frames):
        bad = idx[(idx < 0) | (idx >= num_frames)]
        raise DecodeError(
            f"frame index {int(bad[0])} out of range: the video has {num_frames} frames (valid 0..{num_frames - 1})",
            path=path,
        )
    return idx


# ----------------------------------------------------------------------------------------------
# The probe: what a file is, and which decoder reads it exactly
# ----------------------------------------------------------------------------------------------

#: FFmpeg decoder names on which decord's sparse reads return wrong frames when the stream has
#: B-frames (MPEG-4 Part 2, e.g. Xvid/DivX AVIs such as UCF101's and HMDB51's, and HEVC).
DECORD_INEXACT_WITH_B_FRAMES = {"mpeg4": "MPEG-4 Part 2", "hevc": "HEVC"}


@dataclasses.dataclass(frozen=True)
class VideoProbe:
    """What :func:`probe_video` learns about a file before its frames are read.

    ``codec``: FFmpeg's decoder name (``"mpeg4"``, ``"h264"``, ``"hevc"``, ...); ``b_frames``: the
    stream reorders frames (FFmpeg's ``has_b_frames``); ``width``, ``height``: the coded frame size
    in pixels, before rotation; ``rotation``: degrees counter-clockwise the frames must be turned to
    be shown upright (0, 90, 180 or 270, from the container's display matrix); ``frames``: the
    frame count the container's header promises (0 when it has none; a truncated file promises
    more than it holds); ``fps``: the stream's frame rate (0.0 when unknown).

    Used by :func:`open_video` and the readers (the choice of decoder explained in notebook 01).
    """

    codec: str
    b_frames: bool
    width: int
    height: int
    rotation: int
    frames: int = 0
    fps: float = 0.0


_PROBES: dict[tuple[str, int, int], VideoProbe | None] = {}


def probe_video(path) -> VideoProbe | None:
    """Probe a video file once per process: codec, B-frames, size, rotation, frame count and rate; None if PyAV cannot.

    Opens the file with PyAV (FFmpeg reads the headers and a few packets) and decodes its first
    frame for the rotation flag: 0.25-0.3 ms on the synthetic set's AVIs (about 1 ms when the file
    is not yet in the OS's cache), so a training sample's first read of a file costs 1.1-1.2x what
    it did without it, later reads nothing more (benchmarks/bench_exact.py). The answer is cached
    per path, size and modification time, so a DataLoader worker probes each file once. ``None``
    (not cached) when the file cannot be opened or decoded: the readers then report why.

    Used by :func:`open_video` and the readers.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key in _PROBES:
        return _PROBES[key]
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            ctx = stream.codec_context
            ctx.thread_count = 1
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            first = next(container.decode(stream), None)
            if first is None:
                return None
            probe = VideoProbe(codec=str(ctx.name), b_frames=bool(ctx.has_b_frames), width=int(first.width),
                               height=int(first.height), rotation=int(round((first.rotation or 0) / 90.0)) % 4 * 90,
                               frames=int(stream.frames or 0), fps=float(rate) if rate else 0.0)
    except Exception:  # noqa: BLE001 - an unreadable file: the reader that opens it says why
        return None
    _PROBES[key] = probe
    return probe


def decord_problem(probe: VideoProbe | None) -> str | None:
    """Why decord would not give the exact frames of a probed file, or None when it does.

    * MPEG-4 Part 2 or HEVC with B-frames: decord's sparse ``get_batch`` returns other frames than
      the ones asked for (its sequential reads are right);
    * an odd frame width or height: decord's colour conversion differs from FFmpeg's (two thirds of
      the pixels off by more than 2 grey levels on MPEG-4);
    * a rotation flag: decord turns some containers' frames (MP4, MOV) but not others (MKV), and
      returns mis-shaped arrays when it does.

    ``None`` for an unprobed file (``probe`` None): decord is tried as before.

    Used by :func:`open_video` and ``tsnlib check-data --exact``.
    """
    if probe is None:
        return None
    if probe.b_frames and probe.codec in DECORD_INEXACT_WITH_B_FRAMES:
        return (f"{DECORD_INEXACT_WITH_B_FRAMES[probe.codec]} with B-frames: decord's sparse reads return wrong "
                "frames on such files")
    if probe.width % 2 or probe.height % 2:
        return f"odd frame size {probe.width}x{probe.height}: decord's colours differ from FFmpeg's"
    if probe.rotation:
        return f"a {probe.rotation} degree rotation flag, which decord does not apply as players do"
    return None


def _to_rgb(frame) -> np.ndarray:
    """A decoded PyAV frame as uint8 ``(H, W, 3)`` RGB, converted by swscale in this thread only.

    PyAV converts with as many slice threads as there are cores unless told otherwise, and keeps that
    thread pool for the next frame. A DataLoader worker forked from a process that has converted a frame
    so inherits a pool whose threads did not survive the fork, and waits for them forever (seen in the
    test suite: workers stuck in ``avpriv_slicethread_execute``). One thread gives the same pixels.
    """
    return frame.to_ndarray(format="rgb24", threads=1)


def rotate_frame(frame: np.ndarray, rotation: int) -> np.ndarray:
    """``frame`` ``(H, W, C)`` turned ``rotation`` degrees counter-clockwise (0, 90, 180, 270), as players show it.

    A 90 or 270 degree turn swaps height and width. The one rotation policy of every reader,
    :func:`iter_frames` and the commands built on them.
    """
    k = int(rotation) // 90 % 4
    return frame if k == 0 else np.ascontiguousarray(np.rot90(frame, k))


class VideoReader:
    """An open video file: metadata plus exact random access to frames.

    Attributes: ``path`` (Path), ``num_frames`` (int, the number of frames a full decode yields),
    ``fps`` (float), ``width``, ``height`` (int, pixels, of the frames returned: after rotation),
    ``backend`` (``"decord"`` or ``"pyav"``), ``rotation`` (degrees counter-clockwise applied to
    every frame, from the file's rotation flag: :func:`rotate_frame`).

    ``get_frames(indices)`` → numpy ``uint8 (N, H, W, 3)`` RGB, row ``n`` = frame ``indices[n]``
    (0-based, any order, repeats allowed; each distinct frame is decoded once). Index out of
    range → :class:`~tsnlib.errors.DecodeError` naming the file. Use as a context manager or call
    ``close()``. Create readers with :func:`open_video`; a reader must not be shared between
    processes (each DataLoader worker opens its own). ``iter_sequential()`` yields every frame in
    order without seeking, the reference ``tsnlib check-data --exact`` compares sparse reads with.

    Returned by :func:`open_video`.
    """

    backend = "?"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.num_frames = 0
        self.fps = 0.0
        self.width = 0
        self.height = 0
        self.rotation = 0

    def get_frames(self, indices) -> np.ndarray:
        """Frames at 0-based ``indices`` as ``uint8 (N, H, W, 3)`` RGB, in the order asked."""
        idx = _check_indices(indices, self.num_frames, self.path)
        if idx.size == 0:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        uniq, inverse = np.unique(idx, return_inverse=True)
        frames = self._read_sorted(uniq)
        if frames.shape[0] != uniq.size:  # pragma: no cover - defensive
            raise DecodeError(f"decoder returned {frames.shape[0]} frames for {uniq.size} indices", path=self.path)
        return frames[inverse.reshape(-1)]  # back to the order asked, repeats included

    def _read_sorted(self, uniq: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def iter_sequential(self) -> Iterator[np.ndarray]:  # pragma: no cover - abstract
        """Every frame in order, ``uint8 (H, W, 3)`` RGB, decoded from the start without a seek."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.num_frames

    def close(self) -> None:
        """Release the file and the decoder."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.path)!r}, backend={self.backend!r}, num_frames={self.num_frames}, "
                f"fps={self.fps:.3g}, size={self.width}x{self.height})")


class DecordVideoReader(VideoReader):
    """:class:`VideoReader` over ``decord.VideoReader`` (one thread; ``get_batch``, accurate seeking).

    The frame count is decord's (from its packet index), checked against the container header's
    (:attr:`VideoProbe.frames`, read by the probe that chose the decoder): fewer frames than the
    header promises means a truncated file (DecodeError). ``get_batch`` (decord's accurate seek) was checked frame-exact
    against decord's own sequential decode on MPEG-4 ``.avi`` (GOP 12) and H.264 ``.mp4`` (B-frames)
    files (tests/test_decoding.py); decord's bundled FFmpeg may differ from PyAV's by a rounding
    step (at most 2 grey levels seen on MPEG-4). Files on which decord is known to be wrong
    (:func:`decord_problem`: MPEG-4 Part 2 or HEVC with B-frames, odd sizes, rotation flags) are
    refused with a :class:`~tsnlib.errors.DecodeError` that says why; ``open_video(backend="auto")``
    sends them to PyAV.

    Returned by :func:`open_video`.
    """

    backend = "decord"

    def __init__(self, path, num_threads: int = 1):
        super().__init__(path)
        decord = _import_decord()
        if decord is None:
            raise ImportError("decord is not installed")
        _check_file(self.path)
        probe = probe_video(self.path)
        problem = decord_problem(probe)
        if problem is not None:
            raise DecodeError(f"decord would not be exact here ({problem}); use backend 'auto' or 'pyav'",
                              path=self.path)
        try:
            self._vr = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=int(num_threads))
        except Exception as exc:  # noqa: BLE001 - decord raises a bare RuntimeError/DECORDError
            raise DecodeError(f"decord cannot open the video: {_short(exc)}", path=self.path) from exc
        self.num_frames = len(self._vr)
        if self.num_frames <= 0:
            raise DecodeError("the video has zero frames", path=self.path)
        if probe is not None and probe.frames > self.num_frames:
            raise DecodeError(
                f"truncated video: the header promises {probe.frames} frames, only {self.num_frames} are present",
                path=self.path,
            )
        self.fps = float(self._vr.get_avg_fps() or (probe.fps if probe is not None else 0.0))
        if probe is not None:
            self.width, self.height = probe.width, probe.height
        else:
            first = self._read_sorted(np.array([0]))
            self.height, self.width = first.shape[1:3]

    def _read_sorted(self, uniq: np.ndarray) -> np.ndarray:
        try:
            frames = self._vr.get_batch([int(i) for i in uniq]).asnumpy()
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(f"decord failed to decode frames {uniq.tolist()}: {_short(exc)}", path=self.path) from exc
        return frames

    def iter_sequential(self) -> Iterator[np.ndarray]:
        self._vr.seek(0)
        for _ in range(self.num_frames):
            yield self._vr.next().asnumpy()

    def close(self) -> None:
        self._vr = None


class _TimestampsUnusable(Exception):
    """Internal: presentation timestamps cannot be mapped to frame indices; decode sequentially."""


class PyAVVideoReader(VideoReader):
    """:class:`VideoReader` over PyAV (FFmpeg), exact by construction.

    ``get_frames`` seeks to the keyframe at or before the smallest wanted frame
    (``container.seek(pts, backward=True, any_frame=False)``), decodes forward and maps each
    frame's timestamp to its index, ``i = round((pts - pts_0) * time_base * fps)``, keeping the
    wanted ones; a far-away next index gets a fresh seek. Frames decoded before the first keyframe
    after a seek (leading pictures of an open GOP) are never used, and a seek that lands after the
    target is retried further back. When timestamps cannot be trusted (missing, duplicated,
    skipping) it decodes sequentially from the start and counts frames instead. ``num_frames`` is the header count verified by decoding
    the last frames (or a full count when they disagree); a header promising more frames than can
    be decoded means a truncated file (DecodeError). Frames are turned upright by the file's
    rotation flag (:func:`probe_video`, :func:`rotate_frame`).

    Returned by :func:`open_video`.
    """

    backend = "pyav"

    def __init__(self, path, num_threads: int = 1):
        super().__init__(path)
        _check_file(self.path)
        self._container = None
        self._gen = None
        self._pos: int | None = None  # index of the next frame the open generator yields
        self._gop_seen: int | None = None  # largest keyframe distance seen so far
        self._last_key: int | None = None
        self._sequential = False
        self._num_threads = int(num_threads)
        probe = probe_video(self.path)
        self.rotation = probe.rotation if probe is not None else 0
        self._open()
        try:
            self._init_metadata()
        except BaseException:
            self.close()
            raise

    # -- container -------------------------------------------------------------------------------
    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        self._gen = None
        self._pos = None
        try:
            self._container = av.open(str(self.path))
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(f"not a readable video: {_short(exc)}", path=self.path) from exc
        if not self._container.streams.video:
            self._container.close()
            self._container = None
            raise DecodeError("the file has no video stream", path=self.path)
        self._stream = self._container.streams.video[0]
        self._stream.codec_context.thread_count = max(1, self._num_threads)

    def _frames(self):
        """The open decode generator, re-raising FFmpeg errors as DecodeError."""
        try:
            yield from self._container.decode(self._stream)
        except av.error.FFmpegError as exc:
            raise DecodeError(f"a frame cannot be decoded: {_short(exc)}", path=self.path) from exc

    def _seek_pts(self, pts: int) -> None:
        try:
            self._container.seek(int(pts), backward=True, any_frame=False, stream=self._stream)
        except av.error.FFmpegError as exc:
            raise _TimestampsUnusable(f"seek failed: {exc}") from exc
        self._gen = self._frames()
        self._pos = None

    # -- timestamps -----------------------------------------------------------------------------
    def _index_of(self, frame) -> int:
        if frame.pts is None:
            raise _TimestampsUnusable("a frame has no timestamp")
        return round((frame.pts - self._pts0) * self._tb * self._rate)

    def _seek_pts_of(self, index: int) -> int:
        """The timestamp to seek to for frame ``index``: half a frame after its nominal time, so that
        the keyframe at or before it is found even when timestamps are rounded, never the next one."""
        return self._pts0 + int((Fraction(index) + Fraction(1, 2)) / (self._rate * self._tb))

    def _init_metadata(self) -> None:
        s = self._stream
        rate = s.average_rate or s.guessed_rate or s.base_rate
        self._tb = Fraction(s.time_base) if s.time_base else None
        self._rate = Fraction(rate) if rate else None
        self.fps = float(rate) if rate else 0.0
        self.width, self.height = int(s.codec_context.width or 0), int(s.codec_context.height or 0)
        header = int(s.frames or 0)

        # the first frame gives the timestamp origin (stream.start_time can differ from it)
        self._gen = self._frames()
        first = next(self._gen, None)
        if first is None:
            raise DecodeError("the video has zero decodable frames", path=self.path)
        self.height, self.width = (first.width, first.height) if self.rotation % 180 else (first.height, first.width)
        self._pts0 = first.pts
        usable = first.pts is not None and self._tb is not None and self._rate is not None
        expected = header if header > 0 else self._count_packets()
        if expected <= 0:
            raise DecodeError("the video has zero frames", path=self.path)

        last = None
        if usable:
            try:
                last = self._last_index(expected)
            except _TimestampsUnusable:
                last = None
        if last is not None and last + 1 == expected:
            self.num_frames = expected
            self._open()  # rewind: the generator is at the end of the stream
            return
        # header, packets and timestamps disagree: the truth is a full decode
        self._open()
        count = sum(1 for _ in self._frames())
        if count < expected and header > 0:
            raise DecodeError(
                f"truncated video: the header promises {header} frames, only {count} can be decoded", path=self.path
            )
        if count == 0:
            raise DecodeError("the video has zero decodable frames", path=self.path)
        self.num_frames = count
        # timestamps can still be used when they count the same frames
        self._sequential = not (last is not None and last + 1 == count)
        self._open()

    def _count_packets(self) -> int:
        n = 0
        with av.open(str(self.path)) as c:
            try:
                for packet in c.demux(c.streams.video[0]):
                    if packet.size:
                        n += 1
            except av.error.FFmpegError as exc:
                raise DecodeError(f"the video cannot be read to the end: {_short(exc)}", path=self.path) from exc
        return n

    def _last_index(self, expected: int) -> int | None:
        """Index of the last frame, decoding from the keyframe before frame ``expected - 1``."""
        self._seek_pts(self._seek_pts_of(expected - 1))
        last = None
        for frame in self._gen:
            i = self._index_of(frame)
            if last is not None and i <= last:
                raise _TimestampsUnusable("timestamps do not increase")
            last = i
        return last

    # -- reading --------------------------------------------------------------------------------
    def _read_sorted(self, uniq: np.ndarray) -> np.ndarray:
        if not self._sequential:
            try:
                return self._read_by_timestamps(uniq)
            except _TimestampsUnusable:
                self._sequential = True  # this file's timestamps cannot be trusted: count frames
                self._open()
        return self._read_sequential(uniq)

    def _rgb(self, frame) -> np.ndarray:
        return rotate_frame(_to_rgb(frame), self.rotation)

    def iter_sequential(self) -> Iterator[np.ndarray]:
        self._open()
        for frame in self._frames():
            yield self._rgb(frame)
        self._open()

    def _read_by_timestamps(self, uniq: np.ndarray) -> np.ndarray:
        out: list[np.ndarray] = []
        k, n = 0, len(uniq)
        while k < n:
            target = int(uniq[k])
            if self._gen is None or self._pos is None or target < self._pos or target - self._pos > self._gop:
                self._start_at(target)
            while True:  # decode forward; stop when the next wanted frame is better reached by a seek
                frame = next(self._gen, None)
                if frame is None:
                    self._gen = None
                    raise _TimestampsUnusable(f"the stream ended before frame {target}")
                i = self._index_of(frame)
                if i != self._pos:
                    raise _TimestampsUnusable(f"expected frame {self._pos}, the timestamps say {i}")
                if frame.key_frame:
                    if self._last_key is not None and i > self._last_key:
                        self._gop_seen = max(self._gop_seen or 0, i - self._last_key)
                    self._last_key = i
                self._pos = i + 1
                if i == target:
                    out.append(self._rgb(frame))
                    k += 1
                    if k == n or int(uniq[k]) - self._pos > self._gop:
                        break
                    target = int(uniq[k])
        return np.stack(out)

    @property
    def _gop(self) -> int:
        """Largest keyframe distance seen so far (16 until two keyframes were seen)."""
        return self._gop_seen or 16

    def _start_at(self, target: int) -> None:
        """Seek so that the next frame out of ``self._gen`` is a keyframe at or before ``target``.

        Frames that come out of the decoder before the first keyframe (leading pictures of an open
        GOP, which reference frames before the seek point) are dropped. When the seek lands after
        the target, seek again further back; at the very start, give up on timestamps.
        """
        back = 0
        while True:
            seek_index = max(target - back, 0)
            if seek_index == 0:
                self._open()  # the very start: no seek needed
                self._gen = self._frames()
            else:
                self._seek_pts(self._seek_pts_of(seek_index))
            self._last_key = None
            key = None
            for frame in self._gen:
                if frame.key_frame:
                    key = frame
                    break
            if key is not None and self._index_of(key) <= target:
                self._pos = self._index_of(key)
                self._gen = itertools.chain([key], self._gen)
                return
            if seek_index == 0:
                raise _TimestampsUnusable(f"no keyframe at or before frame {target}, even from the start")
            back = max(self._gop, 2 * back)

    def _read_sequential(self, uniq: np.ndarray) -> np.ndarray:
        self._open()
        wanted = set(int(i) for i in uniq)
        got: dict[int, np.ndarray] = {}
        stop = int(uniq[-1])
        for i, frame in enumerate(self._frames()):
            if i in wanted:
                got[i] = self._rgb(frame)
            if i >= stop:
                break
        self._gen = None
        self._pos = None
        missing = [int(i) for i in uniq if int(i) not in got]
        if missing:
            raise DecodeError(f"frames {missing[:5]} cannot be decoded (the file ended early)", path=self.path)
        return np.stack([got[int(i)] for i in uniq])

    def close(self) -> None:
        self._gen = None
        if getattr(self, "_container", None) is not None:
            self._container.close()
            self._container = None


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def open_video(path, backend: str = "auto", num_threads: int = 1) -> VideoReader:
    """Open a video file for exact random access: decord when available, else PyAV.

    ``backend``: ``"auto"`` (decord if it can be imported, is exact on the file and opens it, else
    PyAV; files :func:`decord_problem` names go to PyAV silently, by policy; a fallback after
    decord failed to open a file is warned about once per process, naming the file), ``"decord"``
    (a DecodeError saying why for files it would read wrongly) or ``"pyav"``. ``num_threads``:
    decoding threads per reader (1: best with several DataLoader workers). Returns a
    :class:`VideoReader`; ``reader.get_frames(indices)`` gives ``uint8 (N, H, W, 3)`` RGB. Raises
    :class:`~tsnlib.errors.DecodeError` naming the file for a missing, empty, unreadable,
    stream-less, zero-frame or truncated video.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    global _FALLBACK_WARNED
    path = Path(path)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "pyav":
        return PyAVVideoReader(path, num_threads=num_threads)
    if backend == "decord":
        if _import_decord() is None:
            raise ImportError("decord is not installed here (no wheels for macOS/arm64); use backend='pyav' or 'auto'")
        return DecordVideoReader(path, num_threads=num_threads)
    _check_file(path)
    if _import_decord() is None or decord_problem(probe_video(path)) is not None:
        return PyAVVideoReader(path, num_threads=num_threads)
    try:
        return DecordVideoReader(path, num_threads=num_threads)
    except DecodeError as decord_error:
        try:
            reader = PyAVVideoReader(path, num_threads=num_threads)
        except DecodeError as pyav_error:
            raise DecodeError(f"{pyav_error.reason} (decord: {decord_error.reason})", path=path) from pyav_error
        if not _FALLBACK_WARNED:
            _FALLBACK_WARNED = True
            warnings.warn(
                f"decord could not read {path} ({decord_error.reason}); using PyAV for it. "
                "Further fallbacks are not reported.",
                UserWarning,
                stacklevel=2,
            )
        return reader


def iter_frames(path, backend: str = "auto") -> Iterator[np.ndarray]:
    """Decode a video sequentially, yielding ``uint8 (H, W, 3)`` RGB frames in order, turned upright.

    ``backend``: ``"auto"`` or ``"pyav"`` (a plain PyAV decode, the reference), or ``"decord"``
    (:meth:`VideoReader.iter_sequential` of a decord reader, refused on files it would read
    wrongly). Frames are rotated by the file's rotation flag (:func:`rotate_frame`). Raises
    :class:`~tsnlib.errors.DecodeError` naming the file when it cannot be opened, has no video
    stream or zero frames, a frame cannot be decoded, or fewer frames decode than the header
    promises (a truncated file).

    Used by frame and flow extraction (:mod:`tsnlib.frame_folders`, :mod:`tsnlib.flow.extraction`) and
    ``tsnlib predict --out``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "decord":
        with open_video(path, backend="decord") as reader:
            yield from reader.iter_sequential()
        return
    path = Path(path)
    _check_file(path)
    probe = probe_video(path)
    rotation = probe.rotation if probe is not None else 0
    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(f"not a readable video: {_short(exc)}", path=path) from exc
    with container:
        if not container.streams.video:
            raise DecodeError("the file has no video stream", path=path)
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        header = int(stream.frames or 0)
        n = 0
        try:
            for frame in container.decode(stream):
                n += 1
                yield rotate_frame(_to_rgb(frame), rotation)
        except av.error.FFmpegError as exc:
            raise DecodeError(f"frame {n} cannot be decoded: {_short(exc)}", path=path) from exc
    if n == 0:
        raise DecodeError("the video has zero decodable frames", path=path)
    if header > n:
        raise DecodeError(f"truncated video: the header promises {header} frames, only {n} can be decoded", path=path)


def decode_all(path) -> np.ndarray:
    """Every frame of a video, by a full sequential PyAV decode: ``uint8 (N, H, W, 3)`` RGB.

    The reference that exactness is checked against: frame ``i`` of this array is frame ``i``
    (turned upright by the file's rotation flag, as every reader returns it); the tests and
    benchmarks compare the readers with it.
    """
    return np.stack(list(iter_frames(path)))


def frame_times(path) -> np.ndarray | None:
    """When each frame is shown: ``float64 (N,)`` seconds from the first frame, or None when unknown.

    Read from the presentation timestamps of the video packets (a demux, nothing decoded), sorted
    into display order. A variable-frame-rate file (a phone recording) is shown at these times,
    not at ``N / fps``. None when a packet has no timestamp or two share one (e.g. some AVIs):
    then the nominal frame rate is all there is.

    Used by ``tsnlib predict --out`` (:mod:`tsnlib.visualization`).
    """

    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            pts = [p.pts for p in container.demux(stream) if p.size]
            time_base = stream.time_base
    except Exception:  # noqa: BLE001 - no timing is a usable answer; decoding reports broken files
        return None
    if not pts or any(p is None for p in pts) or time_base is None or len(set(pts)) != len(pts):
        return None
    ticks = np.sort(np.asarray(pts, dtype=np.int64))
    return (ticks - ticks[0]).astype(np.float64) * float(time_base)
