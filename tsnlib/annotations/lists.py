"""MMAction2-style list files: read them (:func:`read_list_file`) and write them (:func:`write_list_file`).

``"path label"`` for videos, ``"frame_dir total_frames label"`` for frame folders (RGB count, or the
flow count in ``*_flow.txt`` lists); 0-based labels; multi-label lines (``"path 3 17"``) and segment
lines with an offset (``"frame_dir offset total_frames label"``). A folder of lists is named
``<dataset>_<subset>_split_<n>_{videos,rawframes,flow}.txt`` (what :func:`tsnlib.annotations.build_lists`
writes).

Part of :mod:`tsnlib.annotations` (notebooks/01_data_preparation.ipynb reads and writes lists through it).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from tsnlib.annotations.records import (
    LIST_KINDS,
    MULTI_LABEL_LIST_NAMES,
    VIDEO_EXTENSIONS,
    LabelMap,
    Report,
    VideoRecord,
    _is_int,
    _lines,
    _make_error,
    _raise,
    _read_class_index,
    _src,
    _write_atomic,
)
from tsnlib.errors import DataError

_LIST_SUFFIX = {"video": "videos", "frames": "rawframes", "flow": "flow"}


def _list_files_in(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("*_split_*.txt") if re.search(r"_(train|test|val)_split_\d+", p.name))



def _split_numbers(text: str, want: int, base: Path) -> tuple[str, list[int]] | None:
    """``(path, numbers)``: the trailing integers of a list line, the rest is the path (may hold spaces).

    More trailing integers than ``want``: the extra ones belong to the path only when that path
    exists under ``base``; otherwise they are returned (the caller reports multi-label lines).
    """
    tokens = text.split()
    k = len(tokens)
    while k > 1 and _is_int(tokens[k - 1]):
        k -= 1
    numbers = [int(t) for t in tokens[k:]]
    if len(numbers) > want:
        # "clip 2 120 3" could be the folder "clip 2": prefer an existing path
        for extra in range(1, len(numbers) - want + 1):
            head = text.rsplit(None, len(numbers) - extra)[0]
            if (base / head).exists():
                return head, numbers[extra:]
    head = text.rsplit(None, len(numbers))[0] if numbers else text
    return head, numbers


def _guess_list_kind(path: Path, lines: list[tuple[int, str]]) -> str:
    for _, text in lines[:20]:
        tokens = text.split()
        if len(tokens) >= 3 and _is_int(tokens[-1]) and _is_int(tokens[-2]):
            if Path(" ".join(tokens[:-2])).suffix.lower() not in VIDEO_EXTENSIONS:
                return "flow" if "flow" in path.name.casefold() else "frames"
    return "video"


def _name_words(path: Path) -> list[str]:
    return Path(path).stem.casefold().split("_")


def _guess_multi_label(path: Path) -> bool:
    """Lists of a multi-label dataset are named for it (``mmit_train_split_1_videos.txt``, ``hvu_...``, ``tags_...``)."""
    return _name_words(path)[0] in MULTI_LABEL_LIST_NAMES


def _guess_with_offset(path: Path) -> bool:
    """Lists of segments have ``clip`` in their name (``activitynet_clip_...``, MMAction2's ``anet_train_clip.txt``)."""
    return "clip" in _name_words(path)


def _list_records(path: Path, kind: str | None, data_prefix, label_map: LabelMap | None, report: Report,
                  multi_label: bool | None = None, with_offset: bool | None = None) -> tuple[list[VideoRecord], str]:
    """Records of a list file and its kind; ``multi_label``/``with_offset`` None: guessed from the name."""
    lines = _lines(path, report)
    kind = kind or _guess_list_kind(path, lines)
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be one of {LIST_KINDS}, got {kind!r}")
    multi_label = _guess_multi_label(path) if multi_label is None else bool(multi_label)
    with_offset = (kind != "video" and _guess_with_offset(path)) if with_offset is None else bool(with_offset)
    if with_offset and kind == "video":
        raise ValueError("with_offset is for frame lists ('frame_dir offset total_frames label'), not video lists")
    base = Path(data_prefix) if data_prefix is not None else path.parent
    counts = 0 if kind == "video" else (2 if with_offset else 1)  # numbers before the label(s)
    want = counts + 1
    head_form = ("<video path>" if kind == "video" else "<frame_dir>" + (" <offset>" if with_offset else "")
                 + " <total_frames>")
    form = f"'{head_form} <label>{' <label> ...' if multi_label else ''}'"
    records: list[VideoRecord] = []
    seen: dict[str, int] = {}
    for line, text in lines:
        src = _src(path, line)
        head, numbers = _split_numbers(text, 1 << 30 if multi_label else want, base)
        if len(numbers) < want or not head:
            hint = " (a video list read as frames? use kind='video')" if kind != "video" and len(numbers) == 1 else ""
            report("malformed-line", f"expected {form}, got {text!r}{hint}", path, src)
            continue
        if len(numbers) > want and not multi_label:
            hint = (" (a rawframes list 'frame_dir total_frames label'? use kind='frames')"
                    if kind == "video" and len(numbers) == 2 else " (a multi-label list? pass multi_label=True)")
            report("malformed-line", f"expected {form}: {len(numbers) - want + 1} labels found; multi-label lines "
                   f"are not supported{hint}: {text!r}", path, src)
            continue
        labels = numbers[counts:]
        limit = f"0..{len(label_map) - 1} ({len(label_map)} classes)" if label_map is not None else ">= 0"
        bad = next((c for c in labels if c < 0 or (label_map is not None and c >= len(label_map))), None)
        if bad is not None:
            report("bad-label", f"label {bad} out of range: labels are 0-based, {limit}", path, src)
            continue
        if multi_label and len(set(labels)) != len(labels):
            report("duplicate", f"a label appears twice in {labels}: {text!r}", path, src)
            continue
        offset = numbers[0] if with_offset else None
        count = numbers[counts - 1] if kind != "video" else None
        if count is not None and count < 1:
            report("malformed-line", f"total_frames must be a positive number, got {count}: {text!r}", path, src)
            continue
        if offset is not None and offset < 0:
            report("malformed-line", f"the offset must be >= 0, got {offset}: {text!r}", path, src)
            continue
        rel = head.replace("\\", "/")
        full = Path(os.path.normpath(base / rel))  # "../rawframes/x" -> a clean path
        key = str(full).casefold() + ("" if offset is None else f" {offset} {count}")
        if key in seen:
            what = rel if offset is None else f"{rel} at offset {offset}"
            report("duplicate", f"{what} is listed twice (also line {seen[key]})", path, src)
            continue
        seen[key] = line
        name = Path(rel).stem if kind == "video" else Path(rel).name
        records.append(VideoRecord(
            path=full, label=labels[0], source=src,
            num_frames=count if kind == "frames" else None,
            num_flow_frames=count if kind == "flow" else None,
            video_id=name if offset is None else f"{name}#{offset}",
            labels=tuple(labels) if multi_label else None, offset=offset,
        ))
    return records, kind


def _top_label(records: list[VideoRecord]) -> int:
    return max((max(r.labels or (r.label,)) for r in records), default=-1)


def _default_label_map(path: Path, records: list[VideoRecord], report: Report) -> LabelMap:
    for cand in (path.parent / "classInd.txt", path.parent / "label_map.txt"):
        if cand.is_file():
            return _read_class_index(cand, report)
    return LabelMap([str(i) for i in range(_top_label(records) + 1)], source=path.name)


def read_list_file(path, kind: str | None = "video", data_prefix=None, label_map: LabelMap | None = None,
                   multi_label: bool | None = None, with_offset: bool | None = None,
                   ) -> tuple[list[VideoRecord], LabelMap]:
    """Records of an MMAction2-style list file.

    ``kind``: ``"video"`` — lines ``"<video path> <label>"``; ``"frames"`` — RGB frame folders,
    ``"<frame_dir> <total_frames> <label>"`` (``num_frames`` = total_frames); ``"flow"`` — the
    same format with the *flow* count (``num_flow_frames``, often the RGB count minus one);
    None — guess from the lines (three columns and no video extension → frames, or flow when the
    file name contains "flow"). Labels are 0-based. Paths are relative to ``data_prefix``
    (default: the list's folder); absolute paths are kept. A path may contain spaces (the numbers
    are taken from the right).

    ``multi_label``: every number after the path (videos) or the count (frames) is a label, as
    MMAction2 writes multi-label lists (``"<path> 3 17 40"``); the records get ``labels`` (a
    tuple) and ``label`` = the first. None guesses it from the name: lists of a multi-label
    benchmark (:data:`MULTI_LABEL_LAYOUTS`: ``mmit_*.txt``, ``hvu_*.txt``, as
    :func:`build_lists` names them) and of the synthetic tag dataset (``tags_*.txt``,
    :mod:`tsnlib.synthetic_tags`), :data:`MULTI_LABEL_LIST_NAMES`; otherwise more than one label is a
    malformed line.
    ``with_offset``: frame lines are ``"<frame_dir> <offset> <total_frames> <label>"``
    (MMAction2's ``with_offset``: a segment of ``total_frames`` frames from the 0-based
    ``offset``; ``VideoRecord.offset``); None guesses it from the name (``clip`` among its
    ``_``-separated words, e.g. ``activitynet_clip_train_split_1_rawframes.txt``). Several
    segments of one folder are fine; their ``video_id`` is ``"<folder>#<offset>"``.

    ``label_map``: checks labels against its size; default: ``classInd.txt`` beside the list
    when there is one (as :func:`build_lists` writes it), else names ``"0"``, ``"1"``, ... up to
    the largest label. A malformed line, a label out of range or a path listed twice raises
    :class:`~tsnlib.errors.AnnotationError` naming the file and line.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("list file not found", path=path, hint="give an existing list file (tsnlib lists writes them)")
    records, _ = _list_records(path, kind, data_prefix, label_map, _raise, multi_label, with_offset)
    if label_map is None:
        label_map = _default_label_map(path, records, _raise)
        bad = next((r for r in records if max(r.labels or (r.label,)) >= len(label_map)), None)
        if bad is not None:
            raise _make_error("bad-label", f"label {max(bad.labels or (bad.label,))} out of range: {len(label_map)} "
                              f"classes in {label_map.source}", path, bad.source)
    return records, label_map



def write_list_file(records: Sequence[VideoRecord], path, kind: str = "video", root=None,
                    with_offset: bool | None = None) -> Path:
    """Write an MMAction2-style list file; returns its path.

    ``kind="video"``: ``"<video path> <label>"``; ``"frames"``: ``"<frame_dir> <num_frames>
    <label>"`` (RGB count); ``"flow"``: ``"<frame_dir> <num_flow_frames> <label>"`` (the flow
    count, often one less: a flow loader given the RGB count would read past the end). Paths
    are written relative to ``root`` (default: the list's own folder, so that
    :func:`read_list_file` reads it back without a ``data_prefix``), with ``/`` separators.
    The file is written whole or not at all (a temporary file renamed into place).

    A multi-label record (``labels`` set) gets all its labels, ``"<path> 3 17 40"``, as MMAction2
    writes multi-label lists. ``with_offset`` (None: when a record has an ``offset``) writes frame
    lines as ``"<frame_dir> <offset> <count> <label>"`` (MMAction2's ``with_offset``), the
    counts being the segment's. A segment in seconds of a video file (``start``/``end``) has no
    list line: MMAction2's lists carry no time window (write frame lists with offsets instead,
    :func:`build_lists`), so it raises :class:`~tsnlib.errors.DataError`.

    A path with spaces inside is written (:func:`read_list_file` takes the numbers from the
    right), with a ``UserWarning``: MMAction2's loaders split lines on whitespace and cannot read
    it. A label < 0 (or an empty ``labels``), a missing count, or a path with a line break or with
    whitespace at either end (no list line can hold those) raises :class:`~tsnlib.errors.DataError`
    naming the record.

    Used by :func:`tsnlib.annotations.build_lists` and the flow extraction's lists.
    """
    path = Path(path)
    text = _list_text(records, path, kind, root, with_offset)
    return _write_atomic(path, text)


def _list_text(records: Sequence[VideoRecord], path: Path, kind: str, root=None, with_offset: bool | None = None) -> str:
    """The text of a list file (see :func:`write_list_file`); checks every record, writes nothing."""
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be one of {LIST_KINDS}, got {kind!r}")
    if with_offset is None:
        with_offset = any(getattr(r, "offset", None) is not None for r in records)
    if with_offset and kind == "video":
        raise DataError("video lists have no offsets: write frame lists (kind='frames' or 'flow') for segments",
                        path=path)
    base = Path(root) if root is not None else path.parent
    base = base.absolute()
    lines, spaced = [], []
    for r in records:
        where = r.source or r.video_id
        labels = getattr(r, "labels", None)
        if (labels is None and r.label < 0) or (labels is not None and not labels):
            raise DataError(f"record {r.video_id} has no label ({r.label}); list files need 0-based labels",
                            path=r.path, source=r.source)
        if getattr(r, "is_segment", False) and (kind == "video" or getattr(r, "offset", None) is None):
            raise DataError(f"record {r.video_id} is the segment {r.start}-{r.end} s of a video: list lines have no "
                            "time window", path=r.path, source=r.source,
                            hint="write frame lists with offsets (tsnlib lists --kind frames), or read the "
                                 "official annotations directly (data.dataset=<benchmark>)")
        label_text = " ".join(str(c) for c in labels) if labels is not None else str(r.label)
        rel = Path(os.path.relpath(Path(r.path).absolute(), base)).as_posix()
        if "\n" in rel or "\r" in rel or rel != rel.strip():
            raise DataError(f"path {rel!r} has a line break or whitespace at an end, which no list line can hold",
                            path=r.path, source=r.source, hint="rename the file or folder")
        if any(c.isspace() for c in rel):
            spaced.append(rel)
        if kind == "video":
            lines.append(f"{rel} {label_text}")
            continue
        count = r.num_frames if kind == "frames" else r.num_flow_frames
        if count is None:
            field = "num_frames" if kind == "frames" else "num_flow_frames"
            raise DataError(f"record {where} has no {field}; count the frame folder first", path=r.path,
                            source=r.source)
        offset = f"{int(r.offset or 0)} " if with_offset else ""
        lines.append(f"{rel} {offset}{int(count)} {label_text}")
    if spaced:
        warnings.warn(f"{path.name}: {len(spaced)} path(s) with spaces, e.g. {spaced[0]!r}: tsnlib reads them, "
                      "MMAction2's list loaders (which split lines on whitespace) cannot", UserWarning, stacklevel=3)
    return "".join(line + "\n" for line in lines)
