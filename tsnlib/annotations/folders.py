"""Folders read as a dataset: the frame files of a frame folder, and a folder per class.

* :func:`scan_frame_folder`: the frame numbers of a frame folder (``img_00001.jpg``,
  ``flow_x_00001.jpg``, ``flow_y_00001.jpg``; a bare ``00001.jpg`` counts as RGB), the one reader
  of a frame folder's names (:func:`tsnlib.decoding.count_frames` counts with it);
* :func:`read_class_folders`: ``<root>/<class>/<video>`` or ``<root>/<class>/<video_id>/img_*.jpg``,
  optionally under ``<root>/train/``, ``val/`` and ``test/``; labels are the class folder names sorted.

Part of :mod:`tsnlib.annotations` (notebooks/01_data_preparation.ipynb reads datasets through it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from tsnlib.annotations.records import VIDEO_EXTENSIONS, LabelMap, Report, VideoRecord, _raise
from tsnlib.errors import AnnotationError, DataError

#: Frame files of a frame folder: ``img_00001.jpg``, ``flow_x_00001.jpg``, ``flow_y_00001.jpg``; a bare
#: ``00001.jpg`` is an RGB frame too (Something-Something v1 is distributed so).
FRAME_FILE = re.compile(r"^(?:(img|flow_x|flow_y)_)?(\d+)\.jpg$")


def scan_frame_folder(folder) -> dict[str, list[int]]:
    """The frame numbers present in a frame folder: ``{"img": [...], "flow_x": [...], "flow_y": [...]}``.

    Numbers as in the file names (``img_00001.jpg`` → 1; a bare ``00001.jpg`` counts as ``img``),
    sorted. A missing folder raises :class:`~tsnlib.errors.DataError`.

    Used by :func:`tsnlib.frame_folders.count_frames`, :mod:`tsnlib.checks` and the readers here.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("frame folder not found", path=folder)
    out: dict[str, list[int]] = {"img": [], "flow_x": [], "flow_y": []}
    with os.scandir(folder) as it:
        for entry in it:
            m = FRAME_FILE.match(entry.name)
            if m:
                out[m.group(1) or "img"].append(int(m.group(2)))
    for v in out.values():
        v.sort()
    return out



# ----------------------------------------------------------------------------------------------
# A folder per class
# ----------------------------------------------------------------------------------------------


def _class_dirs(root: Path) -> list[Path]:
    try:
        return sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))),
                      key=lambda d: d.name)
    except OSError:
        return []


def _is_video(p: Path, extensions: Sequence[str]) -> bool:
    return p.suffix.lower() in extensions and p.is_file()


def _is_frame_folder(d: Path) -> bool:
    try:
        with os.scandir(d) as it:
            return any(FRAME_FILE.match(e.name) for e in it)
    except OSError:
        return False


def _frame_record(folder: Path, label: int, source: str | None, report: Report | None = None) -> VideoRecord:
    nums = scan_frame_folder(folder)
    nx, ny = len(nums["flow_x"]), len(nums["flow_y"])
    if nx != ny:
        (report or _raise)("count-mismatch", f"{nx} flow_x but {ny} flow_y files", folder, source, DataError)
    return VideoRecord(path=folder, label=label, num_frames=len(nums["img"]) or None,
                       video_id=folder.name, source=source, num_flow_frames=nx or None)


def _folder_kind(root: Path, extensions: Sequence[str]) -> str | None:
    """``"video"`` or ``"frames"`` for a root of class folders (first class folders looked at), or None."""
    for d in _class_dirs(root)[:20]:
        for p in sorted(d.iterdir())[:200]:
            if _is_video(p, extensions):
                return "video"
            if p.is_dir() and _is_frame_folder(p):
                return "frames"
    return None


def read_class_folders(root, extensions: Sequence[str] = VIDEO_EXTENSIONS, kind: str = "video",
                       label_map: LabelMap | None = None) -> tuple[list[VideoRecord], LabelMap]:
    """Records of a folder per class: ``root/<class>/<video>`` (``kind="video"``, any depth below
    the class folder) or ``root/<class>/<video_id>/img_00001.jpg`` (``kind="frames"``: every folder
    holding ``img_*``/``flow_x_*`` JPEGs, with its counts).

    Labels: the class folder names sorted, 0-based (or ``label_map``'s, which must know every
    class folder). Extensions are compared case-insensitively. A video file directly in ``root``
    (outside any class folder) or an empty tree raises :class:`~tsnlib.errors.DataError`.

    Used by :func:`tsnlib.annotations.load_annotations` (a folder per class).
    """
    records, label_map, stray = _class_folder_records(root, extensions, kind, label_map)
    if stray:
        raise DataError(f"{len(stray)} video file(s) directly in the root, outside any class folder "
                        f"(e.g. {stray[0].name!r}): expected <root>/<class>/<video>", path=root)
    if not records:
        what = "videos (" + ", ".join(extensions) + ")" if kind == "video" else "frame folders (img_*.jpg)"
        raise DataError(f"no {what} found in class folders: expected <root>/<class>/<video>", path=root)
    return records, label_map


def _class_folder_records(root, extensions: Sequence[str], kind: str, label_map: LabelMap | None,
                          ) -> tuple[list[VideoRecord], LabelMap, list[Path]]:
    """Records of ``root/<class>/...``, the label map, and the videos lying directly in ``root``."""
    root = Path(root)
    if kind not in ("video", "frames"):
        raise ValueError(f"kind must be 'video' or 'frames', got {kind!r}")
    if not root.is_dir():
        raise DataError("class folder root not found", path=root)
    extensions = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    stray = sorted(p for p in root.iterdir() if _is_video(p, extensions))
    classes = _class_dirs(root)
    if label_map is None:
        label_map = LabelMap([d.name for d in classes], source=root.name)
    records: list[VideoRecord] = []
    for d in classes:
        label = label_map.find(d.name)
        if label is None:
            raise AnnotationError(f"class folder {d.name!r} is not in the label map {label_map!r}", path=d)
        if kind == "video":
            found = sorted((p for p in d.rglob("*") if _is_video(p, extensions)), key=lambda p: p.as_posix())
            records += [VideoRecord(path=p, label=label) for p in found]
        else:
            found = sorted((p for p in [d, *d.rglob("*")] if p.is_dir() and _is_frame_folder(p)),
                           key=lambda p: p.as_posix())
            records += [_frame_record(p, label, None) for p in found]
    return records, label_map, stray


def _subset_folder(root: Path, subset: str) -> Path | None:
    """``root/<subset>`` when the root is split into ``train/``, ``test/`` (``val/``) folders, else None.

    ``"test"`` falls back to ``val/`` when there is no ``test/``; ``"val"`` needs a ``val/`` folder
    (an unsplit tree has no validation subset: :class:`~tsnlib.errors.DataError`).
    """
    names = {d.name.casefold(): d for d in _class_dirs(root)}
    if not ({"train", "test", "val"} & set(names)):
        if subset == "val":
            raise DataError("no 'val' folder: a folder per class has a validation subset only under val/", path=root)
        return None
    aliases = {"test": ("test", "val"), "train": ("train",), "val": ("val",)}[subset]
    hit = next((names[a] for a in aliases if a in names), None)
    if hit is None:
        raise DataError(f"no {subset!r} folder: the root is split into {sorted(names)}", path=root)
    return hit


def _read_folders(path: Path, subset: str, list_kind: str | None) -> tuple[list[VideoRecord], LabelMap]:
    sub = _subset_folder(path, subset)
    base = sub or path
    kind = list_kind if list_kind in ("video", "frames") else (_folder_kind(base, VIDEO_EXTENSIONS) or "video")
    label_map = None
    if sub is not None:  # one label map for all subsets: the union of their class folders
        names = {d.name for s in _class_dirs(path) if s.name.casefold() in ("train", "test", "val")
                 for d in _class_dirs(s)}
        label_map = LabelMap(sorted(names), source=path.name)
    return read_class_folders(base, kind=kind, label_map=label_map)

