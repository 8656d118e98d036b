"""Check a whole dataset before training and report every problem at once, like a linter.

Introduced in notebooks/01_data_preparation.ipynb.

:func:`check_dataset` takes what :func:`tsnlib.annotations.load_annotations` takes (a UCF101 or
HMDB51 root, a list file or folder of lists, a folder per class, or a benchmark root such as
Kinetics or ActivityNet with its official annotations), parses **all** split lists or annotation
files (collecting bad lines instead of stopping at the first), then checks every referenced file once:

* a video must exist, open, have frames, and decode at its last frame and at a few frames in
  between (a truncated download opens fine and fails only near its end, which is where a
  decoder that trusts the header count breaks in the middle of an epoch);
* a frame folder must number its ``img_``/``flow_x_``/``flow_y_`` files contiguously from its
  start index (0 or 1, detected), hold as many frames as its list line says (for a segment line
  with an offset: at least ``offset + total_frames``), and have as many ``flow_x`` as ``flow_y``
  files, the RGB count or one less;
* a segment of an untrimmed video (ActivityNet clips) must start inside the decoded video;
* a video on disk that no list references is reported as a warning (``"unlisted"``);
* with ``exact=True`` (``tsnlib check-data --exact``), each video's sparse reads (the frames of
  the test protocol and of a training draw, read as a :class:`tsnlib.datasets.TSNDataset` reads
  them) must equal the same frames of a sequential decode by the same decoder
  (``"inexact-frames"``): the check that a decoder's seeking is right on these files. It decodes
  every frame of every video, so it costs about a full decode per file.

Each problem is a :class:`Problem` (path, list line, kind, message). The ``tsnlib check-data``
command prints them and exits with 1 when any is an error.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tsnlib import annotations as ann
from tsnlib.annotations import benchmarks as bench
from tsnlib.annotations import folders as ann_folders
from tsnlib.annotations import lists as ann_lists
from tsnlib.annotations import official as ann_official
from tsnlib.annotations import records as ann_records
from tsnlib.decoding import open_video
from tsnlib.errors import DataError, DecodeError
from tsnlib.sampling import sample_test_indices, sample_train_indices, segment_frames
from tsnlib.utils import progress

__all__ = [
    "ERROR_KINDS",
    "WARNING_KINDS",
    "Problem",
    "check_dataset",
    "check_video",
    "check_frame_folder",
    "format_problems",
    "summarize_problems",
    "add_check_data_arguments",
    "cli_check_data",
]

#: Problem kinds that make a dataset unusable (``tsnlib check-data`` exits with 1).
ERROR_KINDS = (
    "missing-file",  # a listed video, frame folder or annotation file is not there
    "unreadable-video",  # the decoders cannot open it (not a video, no video stream, corrupt header)
    "zero-frames",  # an empty (0-byte) file, a video without frames, a frame folder without frames
    "truncated",  # opens, but fewer frames than the header promises, or a frame near the end fails
    "bad-label",  # a label out of range, or not matching its class folder
    "unknown-class",  # a class folder that the class index does not know
    "malformed-line",  # a list line that does not parse
    "missing-frame",  # a gap in a frame folder's numbering
    "unreadable-frame",  # a frame JPEG that cannot be decoded
    "count-mismatch",  # list count vs files on disk, flow_x vs flow_y, flow vs RGB
    "duplicate",  # a video listed twice in one list
    "bad-segment",  # a time window outside its video (ActivityNet, Kinetics read from untrimmed videos)
    "inexact-frames",  # sparse reads differ from a sequential decode (--exact); decord asked for a file it reads wrongly
)
#: Problem kinds reported but not failing the check.
WARNING_KINDS = ("unlisted",)  # a video on disk that no list references


@dataclass
class Problem:
    """One problem found by :func:`check_dataset`.

    ``path``: the file concerned (video, frame folder or list file); ``source``: the list line
    that references it, e.g. ``"trainlist01.txt:17"``, or None; ``kind``: one of
    :data:`ERROR_KINDS` or :data:`WARNING_KINDS`; ``message``: what is wrong, in words.
    ``severity`` is ``"warning"`` for :data:`WARNING_KINDS`, else ``"error"``.

    Used by :func:`check_dataset`, :func:`format_problems`, :func:`summarize_problems`, the command line.
    """

    path: Path | None
    source: str | None
    kind: str
    message: str

    @property
    def severity(self) -> str:
        return "warning" if self.kind in WARNING_KINDS else "error"

    def __str__(self) -> str:
        where = f"{self.path}" if self.path is not None else "?"
        if self.source:
            where += f" ({self.source})"
        return f"{where}: {self.kind}: {self.message}"


# ----------------------------------------------------------------------------------------------
# Single files
# ----------------------------------------------------------------------------------------------


def _decode_kind(reason: str) -> str:
    text = reason.lower()
    if "would not be exact" in text:
        return "inexact-frames"
    if "not found" in text:
        return "missing-file"
    if "0 bytes" in text or "zero frames" in text or "zero decodable" in text:
        return "zero-frames"
    if "truncated" in text or "ended early" in text or "to the end" in text:
        return "truncated"
    return "unreadable-video"


def exact_check_indices(num_frames: int) -> list[list[int]]:
    """The sparse reads ``check-data --exact`` makes, each on a fresh reader: 0-based frame indices.

    The 25 snippets of the test protocol (:func:`tsnlib.sampling.sample_test_indices`) and a
    3-segment training draw of seed 0 (:func:`tsnlib.sampling.sample_train_indices`): what a
    :class:`tsnlib.datasets.TSNDataset` asks a decoder for in one ``get_frames`` call.

    Used by :func:`check_video`.
    """
    import numpy as np  # noqa: PLC0415


    test = sample_test_indices(num_frames, 25).ravel()
    train = sample_train_indices(num_frames, 3, rng=np.random.default_rng(0)).ravel()
    return [[int(i) for i in test], [int(i) for i in train]]


def _inexact_frames(path: Path, backend: str, num_frames: int) -> list[tuple[str, str]]:
    """``[("inexact-frames", message)]`` when sparse reads differ from a sequential decode by the same decoder."""
    import numpy as np  # noqa: PLC0415


    reads = exact_check_indices(num_frames)
    sparse = []
    for indices in reads:
        with open_video(path, backend=backend) as reader:
            sparse.append((indices, reader.get_frames(indices)))
            name = reader.backend
    wanted = {i for indices in reads for i in indices}
    with open_video(path, backend=backend) as reader:
        sequential = {i: f for i, f in enumerate(reader.iter_sequential()) if i in wanted}
    wrong, worst = set(), 0
    for indices, frames in sparse:
        for row, i in enumerate(indices):
            ref = sequential.get(i)
            if ref is None or ref.shape != frames[row].shape or not np.array_equal(ref, frames[row]):
                wrong.add(i)
                if ref is not None and ref.shape == frames[row].shape:
                    worst = max(worst, int(np.abs(ref.astype(np.int16) - frames[row]).max()))
    if not wrong:
        return []
    listed = ", ".join(str(i) for i in sorted(wrong)[:8]) + (", ..." if len(wrong) > 8 else "")
    return [("inexact-frames", f"{name}: {len(wrong)} of {len(wanted)} sparsely read frames differ from a sequential "
                               f"decode (frames {listed}; max difference {worst}); read such files with PyAV "
                               "(data.backend=pyav, --backend pyav)")]


def check_video(path, decode: bool = True, backend: str = "auto", num_samples: int = 3,
                exact: bool = False, segments: Sequence[tuple[float | None, float | None]] = ()) -> list[tuple[str, str]]:
    """Problems of one video file as ``[(kind, message), ...]`` (empty when it is fine).

    Without ``decode``: it must exist and not be empty. With ``decode``: it must also open with
    :func:`tsnlib.decoding.open_video`, have frames, and decode its first, last and
    ``num_samples`` evenly spaced frames (``uint8 (N, H, W, 3)`` of the reader's size), and each of
    ``segments`` (``(start, end)`` seconds read from it) must start inside it (``"bad-segment"``).
    With ``exact`` (and ``decode``): the sparse reads of :func:`exact_check_indices` must equal the
    same frames of a sequential decode by the decoder ``backend`` chooses (``"inexact-frames"``).

    Used by :func:`check_dataset`, the command line.
    """
    path = Path(path)
    if not path.exists():
        return [("missing-file", "video file not found")]
    if path.is_dir():
        return [("unreadable-video", "a folder, not a video file")]
    if path.stat().st_size == 0:
        return [("zero-frames", "empty file (0 bytes)")]
    if not decode:
        return []

    try:
        reader = open_video(path, backend=backend)
    except DecodeError as exc:
        return [(_decode_kind(exc.reason), exc.reason)]
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding, not a crash
        return [("unreadable-video", f"{type(exc).__name__}: {exc}")]
    with reader:
        n = int(reader.num_frames)
        if n <= 0:
            return [("zero-frames", "the video has no frames")]
        wanted = sorted({0, n - 1, *(round(k * (n - 1) / (num_samples + 1)) for k in range(1, num_samples + 1))})
        try:
            frames = reader.get_frames(wanted)
        except Exception as exc:  # noqa: BLE001
            reason = exc.reason if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
            return [("truncated", f"opens with {n} frames, but frames {wanted} do not all decode: {reason}")]
        if frames.shape[0] != len(wanted) or frames.ndim != 4 or frames.shape[-1] != 3:
            return [("truncated", f"frames {wanted} of {n} decode to an array of shape {tuple(frames.shape)}")]

        outside = []
        for start, end in segments:
            try:
                segment_frames(start or 0.0, end, reader.fps, n)
            except ValueError as exc:
                outside.append(("bad-segment", str(exc)))
        if outside:
            return outside
    if exact:
        try:
            return _inexact_frames(path, backend, n)
        except Exception as exc:  # noqa: BLE001 - a decoder failing on the full decode is a finding
            reason = exc.reason if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
            return [(_decode_kind(reason), f"the sequential decode for the exactness check fails: {reason}")]
    return []


def _expected_names(numbers: list[int], start: int) -> tuple[int, list[int]]:
    """``(extent, missing)``: how many frames the numbering spans from ``start``, and the gaps."""
    if not numbers:
        return 0, []
    present = set(numbers)
    last = max(numbers)
    missing = [i for i in range(start, last + 1) if i not in present]
    return last - start + 1, missing


def _imread_ok(path: Path) -> bool:
    import cv2  # noqa: PLC0415

    if path.stat().st_size == 0:
        return False
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None


def check_frame_folder(folder, num_frames: int | None = None, num_flow_frames: int | None = None,
                       decode: bool = True) -> list[tuple[str, str]]:
    """Problems of one frame folder as ``[(kind, message), ...]`` (empty when it is fine).

    The start index is detected (0 when ``img_00000.jpg`` or ``flow_x_00000.jpg`` exists, else 1);
    each of ``img_``, ``flow_x_``, ``flow_y_`` must be numbered without gaps from it
    (``missing-frame``); ``flow_x`` and ``flow_y`` counts must agree and equal the RGB count or
    one less; ``num_frames`` / ``num_flow_frames`` (from a list line) must equal the span of the
    numbering on disk (``count-mismatch``). With ``decode`` the first and last JPEG of each kind
    must decode (``unreadable-frame``).

    Used by :func:`check_dataset`, the command line.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [("missing-file", "frame folder not found")]
    nums = ann.scan_frame_folder(folder)
    if not any(nums.values()):
        return [("zero-frames", "no img_*.jpg, flow_x_*.jpg or flow_y_*.jpg files")]
    start = 0 if (nums["img"][:1] == [0] or nums["flow_x"][:1] == [0]) else 1
    out: list[tuple[str, str]] = []
    extent = {}
    bare = not (folder / f"img_{nums['img'][0]:05d}.jpg").is_file() if nums["img"] else False  # 00001.jpg names

    def name(prefix: str, i: int) -> str:
        return f"{i:05d}.jpg" if bare and prefix == "img" else f"{prefix}_{i:05d}.jpg"

    for prefix, numbers in nums.items():
        extent[prefix], missing = _expected_names(numbers, start)
        if missing:
            names = ", ".join(name(prefix, i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
            out.append(("missing-frame", f"{len(missing)} {prefix} frame(s) missing: {names} (numbered from {start})"))
    n_img, n_x, n_y = extent["img"], extent["flow_x"], extent["flow_y"]
    if n_x != n_y:
        out.append(("count-mismatch", f"{n_x} flow_x but {n_y} flow_y frames"))
    elif n_x and n_img and n_x not in (n_img, n_img - 1):
        out.append(("count-mismatch", f"{n_x} flow frames for {n_img} RGB frames (expected {n_img} or {n_img - 1})"))
    if num_frames is not None and num_frames != n_img:
        out.append(("count-mismatch", f"the list says {num_frames} frames, the folder has {n_img} img_ frames"))
    if num_flow_frames is not None and num_flow_frames != n_x:
        out.append(("count-mismatch", f"the list says {num_flow_frames} flow frames, the folder has {n_x} flow_x frames"))
    if decode:
        for prefix, numbers in nums.items():
            for i in sorted({numbers[0], numbers[-1]}) if numbers else []:
                f = folder / name(prefix, i)
                if not _imread_ok(f):
                    out.append(("unreadable-frame", f"{f.name} cannot be decoded"))
    return out


# ----------------------------------------------------------------------------------------------
# A whole dataset
# ----------------------------------------------------------------------------------------------


@dataclass
class _Target:
    """A file to check once, whichever lists reference it."""

    path: Path
    kind: str  # "video" or "frames"
    source: str | None
    num_frames: int | None = None
    num_flow_frames: int | None = None
    segments: list = field(default_factory=list)  # (start, end) seconds read from a video
    needs: dict = field(default_factory=dict)  # frame folders read from an offset: {"img"/"flow_x": (frames, line)}


def _gather(path: Path, split: int | None, kind: str | None, report, extra_problems: list[Problem],
            ) -> tuple[list[tuple[ann.VideoRecord, str]], Path | list[Path] | None, str]:
    """All records of all (or one) split(s), with their content kind; the videos folder(s) to look for
    unlisted files in (or None); the layout. Videos outside class folders go to ``extra_problems``."""
    list_kind = None
    if kind in ann.LIST_KINDS:
        kind, list_kind = None, kind
    if kind is not None and kind not in ann.LAYOUTS:
        raise ValueError(f"kind must be one of {ann.LAYOUTS + ann.LIST_KINDS} or None, got {kind!r}")
    layout = kind or ann.detect_layout(path)
    items: list[tuple[ann.VideoRecord, str]] = []
    if layout in ann.BENCHMARK_LAYOUTS:
        if split not in (None, 1):
            report("missing-file", f"{layout} has one official split: use --split 1 or none", path, error=DataError)
            return items, None, layout
        items, video_dirs = bench.gather(path, layout, report)
        return items, video_dirs, layout
    if layout == "ucf101":
        ann_dir, video_dir = ann_official._ucf101_dirs(path, require_videos=False)
        if not video_dir.is_dir():
            report("missing-file", "UCF101 videos folder not found (expected UCF-101/ or videos/)", video_dir,
                   error=DataError)
        label_map = ann_records._read_class_index(ann_dir / "classInd.txt", report)
        splits = [split] if split else ann_official._ucf101_splits(ann_dir)
        if not splits:
            report("missing-file", "no trainlist0N.txt / testlist0N.txt split files", ann_dir, error=DataError)
        resolve = ann_records._Resolver(video_dir)
        for s in splits:
            for subset in ann.SUBSETS:
                if subset == "val" and ann_official._ucf101_list_path(ann_dir, s, "val") is None:
                    continue  # only the synthetic set has a vallist0N.txt: none is no problem
                recs = ann_official._ucf101_list(ann_dir, video_dir, label_map, s, subset, report, resolve)
                items += [(r, "video") for r in recs]
        return items, video_dir, layout
    if layout == "hmdb51":
        ann_dir, video_dir = ann_official._hmdb51_dirs(path, require_videos=False)
        if not video_dir.is_dir():
            report("missing-file", "HMDB51 videos folder not found (expected hmdb51_org/)", video_dir, error=DataError)
        label_map, files = ann_official._hmdb51_classes(ann_dir)
        splits = [split] if split else sorted(files)
        resolve = ann_records._Resolver(video_dir)
        for s in splits:
            if s not in files:
                report("missing-file", f"no split files for split {s} (found splits {sorted(files)})", ann_dir,
                       error=DataError)
                continue
            recs = ann_official._hmdb51_split(ann_dir, video_dir, label_map, files[s], s, ("train", "test", None),
                                              report, resolve)
            items += [(r, "video") for r in recs]
        return items, video_dir, layout
    if layout == "list":
        if path.is_dir():
            order = list(ann_lists._LIST_SUFFIX.values())  # videos, rawframes, flow: the first list names a file
            lists = sorted(ann_lists._list_files_in(path),
                           key=lambda p: (next((i for i, x in enumerate(order) if p.name.endswith(f"_{x}.txt")), 9), p.name))
            if split:
                lists = [p for p in lists if f"_split_{split}_" in p.name]
            if not lists:
                report("missing-file", f"no *_split_{split or 'N'}_*.txt list files", path, error=DataError)
        else:
            lists = [path]
        for lp in lists:
            suffix_kind = next((k for k, sfx in ann_lists._LIST_SUFFIX.items() if lp.name.endswith(f"_{sfx}.txt")),
                               None)
            label_map = None
            if (lp.parent / "classInd.txt").is_file():
                label_map = ann_records._read_class_index(lp.parent / "classInd.txt", report)
            recs, k = ann_lists._list_records(lp, list_kind or suffix_kind, None, label_map, report)
            items += [(r, k) for r in recs]
        return items, None, layout
    # a folder per class (possibly split into train/ and test/)
    bases = [d for d in ann_folders._class_dirs(path) if d.name.casefold() in ("train", "test", "val")] or [path]
    for base in bases:
        k = (list_kind if list_kind in ("video", "frames")
             else (ann_folders._folder_kind(base, ann.VIDEO_EXTENSIONS) or "video"))
        recs, _, stray = ann_folders._class_folder_records(base, ann.VIDEO_EXTENSIONS, k, None)
        if not recs:
            report("missing-file", f"no {'videos' if k == 'video' else 'frame folders'} in the class folders", base,
                   error=DataError)
        items += [(r, k) for r in recs]
        extra_problems.extend(Problem(p, None, "unlisted", "a video outside any class folder: it has no label")
                              for p in stray)
    return items, None, layout


def _targets(items: list[tuple[ann.VideoRecord, str]]) -> list[_Target]:
    by_path: dict[str, _Target] = {}
    for r, k in items:
        key = os.path.normcase(os.path.abspath(r.path))
        t = by_path.get(key)
        if t is None:
            t = by_path[key] = _Target(Path(r.path), "video" if k == "video" else "frames", r.source)
        offset = getattr(r, "offset", None)
        count = r.num_frames if k == "frames" else (r.num_flow_frames if k == "flow" else None)
        if offset is not None and count is not None:  # a segment: the folder must reach its end
            kind = "img" if k == "frames" else "flow_x"
            if offset + count > t.needs.get(kind, (0, None))[0]:
                t.needs[kind] = (offset + count, r.source)
        elif k == "frames" and r.num_frames is not None:
            t.num_frames = r.num_frames
        elif k == "flow" and r.num_flow_frames is not None:
            t.num_flow_frames = r.num_flow_frames
        if k == "video" and getattr(r, "is_segment", False):
            t.segments.append((r.start, r.end))
    return list(by_path.values())


def _check_target(t: _Target, decode: bool, exact: bool = False) -> list[Problem]:
    if t.kind == "video":
        found = check_video(t.path, decode=decode, exact=exact, segments=t.segments)
    else:
        found = check_frame_folder(t.path, t.num_frames, t.num_flow_frames, decode=decode)
        if t.needs and t.path.is_dir():
            have = ann.scan_frame_folder(t.path)
            for kind, (needed, line) in t.needs.items():
                if len(have[kind]) < needed:
                    found.append(("count-mismatch", f"a segment of {line} reads up to frame {needed} of {kind}, the "
                                                    f"folder has {len(have[kind])}"))
    return [Problem(t.path, t.source, kind, message) for kind, message in found]


def _unlisted(video_dirs: Path | Sequence[Path] | None, targets: list[_Target]) -> list[Problem]:
    if video_dirs is None:
        return []
    dirs = [video_dirs] if isinstance(video_dirs, Path) else list(video_dirs)
    listed = {os.path.normcase(os.path.abspath(t.path)) for t in targets}
    out = []
    for dirpath, dirnames, filenames in (w for d in dirs if d.is_dir() for w in os.walk(d)):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix.lower() in ann.VIDEO_EXTENSIONS and os.path.normcase(os.path.abspath(p)) not in listed:
                out.append(Problem(p, None, "unlisted", "a video on disk that no split list references"))
    return out


def _run(path, split: int | None = None, kind: str | None = None, decode: bool = True, workers: int = 1,
         show_progress: bool = True, exact: bool = False) -> tuple[list[Problem], int]:

    path = Path(path)
    collector = ann_records._Collector()
    stray: list[Problem] = []
    items, video_dir, _ = _gather(path, split, kind, collector, stray)
    problems = [Problem(Path(e.path) if e.path is not None else None, e.source, getattr(e, "kind", "malformed-line"),
                        e.reason) for e in collector.errors]
    targets = _targets(items)
    bar = {} if show_progress else {"disable": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # decoder fallbacks are findings here, not warnings
        if workers and workers > 1:
            with ThreadPoolExecutor(max_workers=int(workers)) as pool:
                found = list(progress(pool.map(lambda t: _check_target(t, decode, exact), targets), total=len(targets),
                                      desc="checking", **bar))
        else:
            found = [_check_target(t, decode, exact) for t in progress(targets, desc="checking", **bar)]
    for f in found:
        problems += f
    problems += _unlisted(video_dir, targets) + stray
    return problems, len(targets)


def check_dataset(path, split: int | None = None, kind: str | None = None, decode: bool = True,
                  workers: int = 1, exact: bool = False) -> list[Problem]:
    """Every problem of a dataset, found in one pass, as a list of :class:`Problem` (empty: clean).

    ``path``: a UCF101 or HMDB51 root, a list file or a folder of lists, a folder per class, or a
    benchmark root of :data:`tsnlib.annotations.BENCHMARK_LAYOUTS` (every subset's annotations;
    ActivityNet's segments and every HVU tag category) (recognised by
    :func:`tsnlib.annotations.detect_layout`; ``kind`` forces a layout, or gives
    ``"video"``/``"frames"``/``"flow"`` for what lists hold). ``split``: None checks the lists of
    every split found, N only split N's. ``decode``: also open every video and decode its
    first, last and three middle frames (and the first/last JPEG of frame folders); False only
    checks that files exist and are not empty. ``workers``: files checked in parallel (threads).
    ``exact``: also compare each video's sparse reads with a sequential decode
    (:func:`check_video`; about one full decode per video).

    Order: annotation problems (file and line order), then file problems in list order (each
    file checked once, named with the first line that references it), then unlisted videos.
    A path that is no dataset at all raises :class:`~tsnlib.errors.DataError`.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    return _run(path, split=split, kind=kind, decode=decode, workers=workers, exact=exact)[0]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_problems(problems: Sequence[Problem]) -> str:
    """One line per problem, ``"path (source): kind: message"``; ``""`` when there is none.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    return "\n".join(str(p) for p in problems)


def summarize_problems(problems: Sequence[Problem]) -> str:
    """``"N problems in M files (E errors, W warnings)"``.

    Used by the command line.
    """
    files = {str(p.path) for p in problems}
    errors = sum(p.severity == "error" for p in problems)
    return (f"{_plural(len(problems), 'problem')} in {_plural(len(files), 'file')} "
            f"({_plural(errors, 'error')}, {_plural(len(problems) - errors, 'warning')})")


# ----------------------------------------------------------------------------------------------
# Command line: tsnlib check-data
# ----------------------------------------------------------------------------------------------


def add_check_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tsnlib check-data PATH [--split N] [--no-decode] [--workers W] [--kind K]``."""
    parser.add_argument("path", help="a UCF101/HMDB51 root, a list file or folder of lists, a folder per class, or a "
                                     "benchmark root with its official annotations (Kinetics, ActivityNet, HVU, ...)")
    parser.add_argument("--split", type=int, default=None, help="check only this split's lists (default: all)")
    parser.add_argument("--no-decode", action="store_true",
                        help="only check that files exist and are not empty (fast); default decodes first/last frames")
    parser.add_argument("--exact", action="store_true",
                        help="also check that sparse frame reads equal a sequential decode of each video, as "
                             "training reads them (about one full decode per video)")
    parser.add_argument("--workers", type=int, default=1, help="files checked in parallel (default: 1)")
    parser.add_argument("--kind", default=None, choices=ann.LAYOUTS + ann.LIST_KINDS,
                        help="force the layout, or say what lists hold (default: recognised)")


def cli_check_data(args) -> int:
    """``tsnlib check-data``: print every problem and a summary; exit 1 on any error, 0 otherwise.

    Warnings (unlisted videos) are printed but do not fail the check.
    """
    exact = bool(getattr(args, "exact", False)) and not args.no_decode
    try:
        problems, checked = _run(args.path, split=args.split, kind=getattr(args, "kind", None),
                                 decode=not args.no_decode, workers=args.workers, exact=exact)
    except DataError as exc:
        print(f"error: {exc}")
        return 1
    if problems:
        print(format_problems(problems))
    print(f"{summarize_problems(problems)}; {_plural(checked, 'file')} checked"
          f"{'' if not args.no_decode else ' (not decoded)'}{' (sparse reads checked exact)' if exact else ''}")
    return 1 if any(p.severity == "error" for p in problems) else 0
