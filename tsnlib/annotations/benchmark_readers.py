"""One reader per benchmark of the TSN model zoo, each in its official annotation format.

Kinetics-400/600/700, Something-Something v1 and v2, Diving48, Moments in Time, Multi-Moments in
Time, ActivityNet and HVU; the formats and folders are in the table of
:mod:`tsnlib.annotations.benchmarks`, which dispatches to these readers. Each public ``read_*``
returns ``(records, label_map)``; its private twin ``_read_*`` takes a ``report`` (raise, or
collect for :mod:`tsnlib.checks`) and also returns the videos folders it looked in and the
annotated durations of untrimmed videos.

Used by :mod:`tsnlib.annotations.benchmarks`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from tsnlib.annotations.benchmark_files import (
    _base,
    _class_list_map,
    _csv_rows,
    _entry,
    _find,
    _first_dir,
    _header,
    _json,
    _need,
    _number,
    _numbered_map,
    _Read,
    _root_of,
    _Seen,
    _segment_problem,
    _subset_dirs,
    _VideoIndex,
)
from tsnlib.annotations.records import LabelMap, Report, VideoRecord, _check_subset, _lines, _raise, _Resolver
from tsnlib.errors import DataError

KINETICS_LAYOUTS = ("kinetics400", "kinetics600", "kinetics700")
#: ``data.activitynet_level``: one record per labelled segment, or per whole video.
ACTIVITYNET_LEVELS = ("clip", "video")
#: HVU's six tag categories; ``data.hvu_category`` is one of them or ``"all"``.
HVU_CATEGORIES = ("action", "attribute", "concept", "event", "object", "scene")
HVU_CHOICES = HVU_CATEGORIES + ("all",)


# ----------------------------------------------------------------------------------------------
# Kinetics-400/600/700
# ----------------------------------------------------------------------------------------------

_KINETICS_FILES = {"train": ("train.csv", "kinetics_train.csv"),
                   "val": ("validate.csv", "val.csv", "kinetics_val.csv"),
                   "test": ("test.csv", "kinetics_test.csv")}


def kinetics_clip_id(youtube_id: str, start: float, end: float) -> str:
    """The name of a trimmed Kinetics clip: ``<youtube_id>_<start:06d>_<end:06d>`` (whole seconds),
    as the official crawler and MMAction2's download script name the files.
    """
    return f"{youtube_id}_{int(start):06d}_{int(end):06d}"


def _is_kinetics_csv(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            head = f.readline().casefold().replace(" ", "")
    except OSError:
        return False
    return "youtube_id" in head and "time_start" in head and "tags" not in head


def _kinetics_sort_key(name: str) -> str:
    return name.replace(" ", "_")  # MMAction2 sorts the class names with underscores for spaces


def _kinetics_labels(path: Path, report: Report) -> LabelMap:
    cols, rows = _header(_csv_rows(path, report), ("label", "youtube_id"), path, report)
    names = {fields[cols["label"]] for _, fields in rows if len(fields) > cols.get("label", 0)} - {""}
    return LabelMap(sorted(names, key=_kinetics_sort_key), source=path.name)


def _trimmed_or_whole(index: _VideoIndex, clip_names: Sequence[str], youtube_id: str, start, end,
                      ) -> tuple[Path | None, float | None, float | None]:
    """The trimmed clip file (no segment), else the untrimmed video (with the segment), else None."""
    for name in clip_names:
        found = index.get(name)
        if found is not None:
            return found, None, None
    whole = index.get(youtube_id)
    return (whole, start, end) if whole is not None else (None, None, None)


def _youtube_videos(ann: Path, subset: str) -> tuple[list[Path], _VideoIndex]:
    """The videos folders of a subset of YouTube clips (``videos_train/``, ``train/``, ...; the expected
    ``videos_<subset>/`` when none exists) and the index of their files."""
    base = _root_of(ann)
    dirs = _subset_dirs(base, subset) or [base / f"videos_{subset}"]
    return dirs, _VideoIndex(dirs)


def _youtube_rows(ann: Path, report: Report):
    """``(source, fields, columns, youtube_id, start, end)`` of each well-formed row of a CSV of YouTube
    clips (Kinetics, HVU: a header naming ``youtube_id``, ``time_start``, ``time_end``); the bad rows
    are reported and skipped."""
    cols, rows = _header(_csv_rows(ann, report), ("youtube_id", "time_start", "time_end"), ann, report)
    for line, fields in rows:
        src = f"{ann.name}:{line}"
        if len(fields) <= max(cols.values()):
            report("malformed-line", f"expected {len(cols)} columns, got {','.join(fields)!r}", ann, src)
            continue
        yid, start, end = fields[cols["youtube_id"]], _number(fields[cols["time_start"]]), _number(fields[cols["time_end"]])
        problem = _segment_problem(start, end, None)
        if not yid or problem:
            report("malformed-line", f"{problem or 'no youtube_id'}: {','.join(fields)!r}", ann, src)
            continue
        yield src, fields, cols, yid, start, end


def _read_kinetics(root, subset: str, report: Report) -> _Read:
    subset = _check_subset(subset)
    ann = _need(root, _KINETICS_FILES[subset], f"Kinetics {subset} annotation CSV")
    train = _find(root, _KINETICS_FILES["train"])
    label_map = _kinetics_labels(train or ann, report)
    dirs, index = _youtube_videos(ann, subset)
    seen = _Seen(ann, report)
    records = []
    for src, fields, cols, yid, start, end in _youtube_rows(ann, report):
        name = fields[cols["label"]] if "label" in cols else ""
        label = -1
        if name:
            label = label_map.find(name)
            if label is None:
                report("unknown-class", f"class {name!r} is not among the {len(label_map)} classes of "
                       f"{(train or ann).name}", ann, src)
                continue
        clip = kinetics_clip_id(yid, start, end)
        if seen(clip, src, "clip"):
            continue
        path, seg_start, seg_end = _trimmed_or_whole(index, [clip], yid, start, end)
        if path is None:  # not on disk: where it is expected (tsnlib check-data reports it)
            folder = next((dirs[0] / n for n in (name, name.replace(" ", "_")) if name and (dirs[0] / n).is_dir()),
                          dirs[0])
            path = folder / f"{clip}.mp4"
        records.append(VideoRecord(path=path, label=label, video_id=clip, source=src, start=seg_start, end=seg_end))
    return _Read(records, label_map, dirs)


def read_kinetics(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Kinetics-400, -600 or -700 (one reader: the three share a format).

    ``root``: the dataset folder holding ``annotations/`` (or the CSVs themselves) and the videos.
    CSVs: ``train.csv``, ``validate.csv``, ``test.csv`` as DeepMind releases them (or MMAction2's
    ``kinetics_{train,val,test}.csv``), columns ``label,youtube_id,time_start,time_end,split``
    (``is_cc`` and other columns ignored; an unlabelled ``test.csv`` gives ``label=-1``). Classes:
    the class names of ``train.csv`` sorted as MMAction2 sorts them (spaces read as ``_``), so
    label ``i`` is MMAction2's label ``i``; names keep their spaces.

    Videos: ``videos_train/``, ``videos_val/``, ``videos_test/`` (MMAction2), ``train/``, ``val/``,
    ``test/`` (the CVDF mirror), with or without class folders (spaces or ``_`` in their names),
    looked up by file name: the trimmed clip ``<youtube_id>_<start:06d>_<end:06d>.<ext>``
    (:func:`kinetics_clip_id`, also its ``video_id``), else the untrimmed ``<youtube_id>.<ext>``
    read as the segment ``start``..``end`` seconds. A clip on disk in neither form keeps the path
    it is expected at. A class not in ``train.csv``, a row with missing or non-numeric times (or
    ``time_end <= time_start``), or a clip listed twice raises
    :class:`~tsnlib.errors.AnnotationError` naming the CSV and line.
    """
    r = _read_kinetics(root, subset, _raise)
    return r.records, r.label_map


# ----------------------------------------------------------------------------------------------
# Something-Something v1 and v2
# ----------------------------------------------------------------------------------------------

_STHV1 = "something-something-v1-{}.csv"
_STHV1_FILES = {"train": "train", "val": "validation", "test": "test"}
_STHV2_FILES = {"labels": ("something-something-v2-labels.json", "labels.json"),
                "train": ("something-something-v2-train.json", "train.json"),
                "val": ("something-something-v2-validation.json", "validation.json"),
                "test": ("something-something-v2-test.json", "test.json")}


def _read_sthv1(root, subset: str, report: Report) -> _Read:
    subset = _check_subset(subset)
    labels_file = _need(root, [_STHV1.format("labels")], "Something-Something v1 class list")
    label_map = _class_list_map([(text, line) for line, text in _lines(labels_file, report)], labels_file, report)
    ann = _need(root, [_STHV1.format(_STHV1_FILES[subset])], f"Something-Something v1 {subset} list")
    base = _root_of(ann)
    frames = _first_dir(base, ("20bn-something-something-v1", "rawframes", "frames"))
    seen = _Seen(ann, report)
    records = []
    for line, text in _lines(ann, report):
        src = f"{ann.name}:{line}"
        vid, sep, name = (part.strip() for part in text.partition(";"))
        if not vid or (subset != "test" and not name):
            report("malformed-line", f"expected '<id>;<class name>', got {text!r}", ann, src)
            continue
        label = -1
        if name:
            label = label_map.find(name)
            if label is None:
                report("unknown-class", f"class {name!r} is not in {labels_file.name}", ann, src)
                continue
        if seen(vid, src, "video id"):
            continue
        records.append(VideoRecord(path=frames / vid, label=label, video_id=vid, source=src))
    return _Read(records, label_map, [])


def read_sthv1(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Something-Something v1 (frame folders).

    ``something-something-v1-labels.csv``: one class name per line, label = line order (0-based);
    ``something-something-v1-train.csv`` / ``-validation.csv``: ``<id>;<class name>``;
    ``-test.csv``: ``<id>`` (``label=-1``). Frames: ``20bn-something-something-v1/<id>/00001.jpg``
    … (as distributed: bare 5-digit names from 1; ``rawframes/`` or ``frames/`` also looked in);
    the records are these folders, ``num_frames`` None (counted when read). An unknown class, a
    line without ``;`` or an id listed twice raises :class:`~tsnlib.errors.AnnotationError`.
    """
    r = _read_sthv1(root, subset, _raise)
    return r.records, r.label_map


def _sthv2_template_class(template: str) -> str:
    """The class of a Something-Something v2 entry: its template with the square brackets removed."""
    return template.replace("[", "").replace("]", "")


def _read_sthv2(root, subset: str, report: Report) -> _Read:
    subset = _check_subset(subset)
    labels_file = _need(root, _STHV2_FILES["labels"], "Something-Something v2 labels JSON")
    raw = _json(labels_file, report)
    by_index: dict[int, str] = {}
    for name, idx in (raw or {}).items() if isinstance(raw, dict) else []:
        if not str(idx).strip().isdigit() or int(idx) in by_index:
            report("malformed-line", f"class {name!r} has index {idx!r}: indices must be distinct numbers",
                   labels_file, _entry(labels_file, repr(name)))
            continue
        by_index[int(idx)] = name
    if raw is not None and (not isinstance(raw, dict) or sorted(by_index) != list(range(len(by_index)))):
        report("bad-label", "expected a mapping {class name: index} with indices 0..N-1", labels_file)
    label_map = LabelMap([by_index[i] for i in sorted(by_index)], source=labels_file.name)
    ann = _need(root, _STHV2_FILES[subset], f"Something-Something v2 {subset} JSON")
    base = _root_of(ann)
    videos = _first_dir(base, ("20bn-something-something-v2", "videos"))
    index = _VideoIndex([videos])
    entries = _json(ann, report)
    seen = _Seen(ann, report)
    records = []
    for i, e in enumerate(entries if isinstance(entries, list) else [], 1):
        src = _entry(ann, i)
        vid = str(e.get("id", "")).strip() if isinstance(e, dict) else ""
        template = e.get("template") if isinstance(e, dict) else None
        if not vid or (subset != "test" and not isinstance(template, str)):
            report("malformed-line", f"expected {{id, label, template, placeholders}}, got {e!r}", ann, src)
            continue
        label = -1
        if isinstance(template, str):
            label = label_map.find(_sthv2_template_class(template))
            if label is None:
                report("unknown-class", f"template {template!r} is no class of {labels_file.name}", ann, src)
                continue
        if seen(vid, src, "video id"):
            continue
        expected = videos / f"{vid}.webm"
        path = expected if expected.is_file() else (index.get(vid) or expected)
        records.append(VideoRecord(path=path, label=label, video_id=vid, source=src))
    if entries is not None and not isinstance(entries, list):
        report("malformed-line", "expected a JSON list of entries", ann)
    return _Read(records, label_map, [videos])


def read_sthv2(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Something-Something v2.

    ``something-something-v2-labels.json`` (``labels.json`` in the newer download): ``{"Approaching
    something with your camera": "0", ...}``; ``-train.json`` / ``-validation.json`` (``train.json``,
    ``validation.json``): a list of ``{"id", "label", "template", "placeholders"}``, the class being
    the ``template`` with its square brackets removed (``"Holding [something] next to
    [something]"`` → ``"Holding something next to something"``; ``label`` is the filled-in
    sentence, not a class); ``-test.json``: ``{"id"}`` only (``label=-1``). Videos:
    ``20bn-something-something-v2/<id>.webm`` (another extension, e.g. a transcoded ``.mp4``, is
    found by name). A template that is no class, an entry without ``id``/``template`` or an id
    listed twice raises :class:`~tsnlib.errors.AnnotationError` naming the file and entry number.
    """
    r = _read_sthv2(root, subset, _raise)
    return r.records, r.label_map


# ----------------------------------------------------------------------------------------------
# Diving48
# ----------------------------------------------------------------------------------------------

_DIVING_FILES = {"train": ("Diving48_V2_train.json", "Diving48_train.json"),
                 "test": ("Diving48_V2_test.json", "Diving48_test.json")}


def _read_diving48(root, subset: str, report: Report) -> _Read:
    subset = _check_subset(subset)
    if subset == "val":
        raise DataError("Diving48 has no validation subset (train and test only): set data.val_subset: test",
                        path=_base(root))
    ann = _need(root, _DIVING_FILES[subset], f"Diving48 {subset} JSON")
    vocab_file = _find(root, ["Diving48_vocab.json"])
    entries = _json(ann, report)
    entries = entries if isinstance(entries, list) else []
    if vocab_file is not None:
        vocab = _json(vocab_file, report) or []
        names = [" ".join(str(p) for p in v) if isinstance(v, list) else str(v) for v in vocab]
        label_map = LabelMap(names, source=vocab_file.name)
    else:  # no vocabulary: the classes are the numbers of the train set
        train = _json(_need(root, _DIVING_FILES["train"], "Diving48 train JSON"), report) or []
        top = max((e["label"] for e in train if isinstance(e, dict) and isinstance(e.get("label"), int)), default=-1)
        label_map = LabelMap([str(i) for i in range(top + 1)], source=ann.name)
    base = _root_of(ann)
    videos = _first_dir(base, ("rgb", "videos"))
    index = _VideoIndex([videos])
    seen = _Seen(ann, report)
    records = []
    for i, e in enumerate(entries, 1):
        src = _entry(ann, i)
        e = e if isinstance(e, dict) else {}
        vid, label, first, last = e.get("vid_name"), e.get("label"), e.get("start_frame"), e.get("end_frame")
        if not isinstance(vid, str) or not vid or not all(isinstance(v, int) for v in (label, first, last)):
            report("malformed-line", f"expected {{vid_name, label, start_frame, end_frame}}, got {e or None!r}", ann,
                   src)
            continue
        if not 0 <= first <= last:
            report("bad-segment", f"frames {first}..{last} are no segment (0 <= start_frame <= end_frame)", ann, src)
            continue
        if not 0 <= label < len(label_map):
            report("unknown-class", f"label {label} out of range: {len(label_map)} classes (0..{len(label_map) - 1})",
                   ann, src)
            continue
        if seen(vid, src, "vid_name"):
            continue
        path = index.get(vid) or videos / f"{vid}.mp4"
        records.append(VideoRecord(path=path, label=label, video_id=vid, source=src))
    return _Read(records, label_map, [videos])


def read_diving48(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Diving48 (V2 annotations; V1's ``Diving48_{train,test}.json`` too).

    ``Diving48_V2_train.json`` / ``_test.json``: a list of ``{"vid_name", "label", "start_frame",
    "end_frame"}``; ``label`` is the 0-based class. The videos (``rgb/<vid_name>.mp4`` from the
    official ``Diving48_rgb.tar.gz``, or ``videos/``) are the clips themselves, so the frame
    range is only checked (``0 <= start_frame <= end_frame``), not used to cut them. Class names:
    ``Diving48_vocab.json``'s ``[takeoff, somersault, twist, flight]`` joined by spaces
    (``"Back 15som 05Twis FREE"``), or ``"0"``, ``"1"``, … without it. Subsets: ``"train"`` and
    ``"test"`` (``"val"`` raises: set ``data.val_subset: test``). A label out of range, a bad entry
    or a ``vid_name`` listed twice raises :class:`~tsnlib.errors.AnnotationError`.
    """
    r = _read_diving48(root, subset, _raise)
    return r.records, r.label_map


# ----------------------------------------------------------------------------------------------
# Moments in Time and Multi-Moments in Time
# ----------------------------------------------------------------------------------------------

_MOMENTS_FILES = {"train": ("trainingSet.csv", "trainingSet.txt"), "val": ("validationSet.csv", "validationSet.txt")}


def _moments_ann(root, subset: str, name: str) -> Path:
    subset = _check_subset(subset)
    if subset not in _MOMENTS_FILES:
        raise DataError(f"{name} has no labelled test subset (train and val only): set data.test_subset: val",
                        path=_base(root))
    return _need(root, _MOMENTS_FILES[subset], f"{name} {subset} CSV")


def _moments_videos(base: Path, subset: str) -> list[Path]:
    return _subset_dirs(base, subset, ("", "videos/")) or [_first_dir(base, ("videos",))]


def _is_mmit_csv(path: Path) -> bool:
    """Multi-Moments rows are ``path,index,...``; Moments rows ``path,class,agree,disagree``."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            first = next(csv.reader([f.readline()]), [])
    except OSError:
        return False
    return len(first) >= 2 and first[1].strip().isdigit()


def _moments(root, subset: str, name: str, report: Report):
    """What both Moments readers start from: the subset's CSV, the label map of ``moments_categories.txt``,
    the videos folders, a resolver of paths under the first, the duplicate check, and the rows as
    ``(source, path, fields)``."""
    ann = _moments_ann(root, subset, name)
    label_map = _numbered_map(_need(root, ["moments_categories.txt"], "moments_categories.txt"), report)
    dirs = _moments_videos(_root_of(ann), subset)
    rows = [(f"{ann.name}:{line}", fields[0].replace("\\", "/") if fields else "", fields)
            for line, fields in _csv_rows(ann, report)]
    return ann, label_map, dirs, _Resolver(dirs[0]), _Seen(ann, report), rows


def _read_mit(root, subset: str, report: Report) -> _Read:
    ann, label_map, dirs, resolve, seen, rows = _moments(root, subset, "Moments in Time", report)
    records = []
    for src, rel, fields in rows:
        folder, _, fname = rel.rpartition("/")
        name = fields[1] if len(fields) > 1 else ""
        if not fname or not name:
            report("malformed-line", f"expected '<class>/<file>,<class>,<agree>,<disagree>', got {','.join(fields)!r}",
                   ann, src)
            continue
        label = label_map.find(name)
        if label is None:
            report("unknown-class", f"class {name!r} is not in moments_categories.txt", ann, src)
            continue
        if folder and label_map.find(folder.split("/")[-1]) != label:
            report("bad-label", f"class {name!r} does not match the folder {folder!r}", ann, src)
            continue
        if seen(rel, src, "video"):
            continue
        path = resolve(rel)
        records.append(VideoRecord(path=path, label=label, video_id=path.stem, source=src))
    return _Read(records, label_map, dirs)


def read_mit(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Moments in Time (v1 and v2 share the format).

    ``moments_categories.txt``: ``<class>,<0-based index>`` lines; ``trainingSet.csv`` /
    ``validationSet.csv``: ``<class>/<file>.mp4,<class>,<agreements>,<disagreements>`` (no
    header). Videos: ``training/<class>/<file>.mp4`` and ``validation/...`` beside the CSVs, as
    ``Moments_in_Time_Raw`` unpacks (or under ``videos/``, MMAction2's place). Subsets
    ``"train"`` and ``"val"`` (no labelled test set: ``"test"`` raises; set ``data.test_subset:
    val``). An unknown class, a class that does not match its folder, a malformed row or a video
    listed twice raises :class:`~tsnlib.errors.AnnotationError` naming the CSV and line.
    """
    r = _read_mit(root, subset, _raise)
    return r.records, r.label_map


def _read_mmit(root, subset: str, report: Report) -> _Read:
    ann, label_map, dirs, resolve, seen, rows = _moments(root, subset, "Multi-Moments in Time", report)
    records = []
    for src, rel, fields in rows:
        ids = [f for f in fields[1:] if f]
        if not rel:
            report("malformed-line", f"expected '<path>,<class index>,...', got {','.join(fields)!r}", ann, src)
            continue
        if not ids:
            report("malformed-line", f"empty label set: {rel} has no class index", ann, src)
            continue
        if not all(re.fullmatch(r"\d+", f) for f in ids):
            report("malformed-line", f"class indices must be numbers, got {','.join(ids)!r}", ann, src)
            continue
        labels = [int(f) for f in ids]
        bad = next((c for c in labels if c >= len(label_map)), None)
        if bad is not None:
            report("unknown-class", f"class index {bad} is not in moments_categories.txt (0..{len(label_map) - 1})",
                   ann, src)
            continue
        if len(set(labels)) != len(labels):
            report("duplicate", f"a class index appears twice in {labels}", ann, src)
            continue
        if seen(rel, src, "video"):
            continue
        path = resolve(rel)
        records.append(VideoRecord(path=path, label=labels[0], video_id=path.stem, source=src, labels=tuple(labels)))
    return _Read(records, label_map, dirs)


def read_mmit(root, subset: str = "train") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of Multi-Moments in Time (multi-label).

    ``moments_categories.txt``: ``<class>,<0-based index>``; ``trainingSet.csv`` /
    ``validationSet.csv`` (``.txt`` in some copies): ``<class>/<file>.mp4,<index>,<index>,...``,
    every action of the video by index. Records get ``labels`` (the indices, in file order) and
    ``label`` = the first. Videos: ``videos/<path>`` (MMAction2's place), or ``training/``,
    ``validation/``. An empty label set, an index out of range or repeated in a row, or a video
    listed twice raises :class:`~tsnlib.errors.AnnotationError`. Subsets ``"train"``, ``"val"``.
    """
    r = _read_mmit(root, subset, _raise)
    return r.records, r.label_map


# ----------------------------------------------------------------------------------------------
# ActivityNet v1.3
# ----------------------------------------------------------------------------------------------

_ANET_FILES = ("activity_net.v1-3.min.json", "activity_net.v1-3.json", "activity_net.v1-2.min.json")
_ANET_SUBSETS = {"train": "training", "val": "validation", "test": "testing"}


def _anet_label_map(data: dict, path: Path) -> LabelMap:
    """The leaf classes of the taxonomy (nodes no other node names as parent), sorted; without a
    taxonomy, every annotated label, sorted."""
    taxonomy = data.get("taxonomy") if isinstance(data.get("taxonomy"), list) else []
    parents = {n.get("parentId") for n in taxonomy if isinstance(n, dict)}
    leaves = {n.get("nodeName") for n in taxonomy if isinstance(n, dict) and n.get("nodeId") not in parents}
    if not leaves - {None}:
        leaves = {a.get("label") for v in data.get("database", {}).values() if isinstance(v, dict)
                  for a in v.get("annotations", []) if isinstance(a, dict)}
    return LabelMap(sorted(str(n) for n in leaves if n), source=path.name)


def _read_activitynet(root, subset: str, report: Report, level: str = "clip") -> _Read:
    subset = _check_subset(subset)
    if level not in ACTIVITYNET_LEVELS:
        raise ValueError(f"level must be one of {ACTIVITYNET_LEVELS}, got {level!r}")
    ann = _need(root, _ANET_FILES, "ActivityNet annotation JSON")
    data = _json(ann, report)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        if data is not None:
            report("malformed-line", "expected {'database': {video id: {...}}}", ann)
        return _Read([], LabelMap([], source=ann.name))
    label_map = _anet_label_map(data, ann)
    videos = _first_dir(_root_of(ann), ("videos", "videos_train", "Videos"))
    index = _VideoIndex([videos])
    records, durations = [], {}
    for vid, v in data["database"].items():
        src = _entry(ann, vid)
        if not isinstance(v, dict) or v.get("subset") != _ANET_SUBSETS[subset]:
            continue
        duration = _number(v.get("duration"))
        segments = v.get("annotations", [])
        if duration is None or duration <= 0 or not isinstance(segments, list):
            report("malformed-line", f"video {vid} needs a positive 'duration' and a list of 'annotations'", ann, src)
            continue
        if not segments and subset != "test":
            report("malformed-line", f"video {vid} of the {v['subset']} subset has no labelled segment", ann, src)
            continue
        path = index.get(f"v_{vid}") or index.get(vid) or videos / f"v_{vid}.mp4"
        stem = path.stem
        clips = []
        for k, a in enumerate(segments):
            a = a if isinstance(a, dict) else {}
            seg = a.get("segment")
            start, end = (_number(seg[0]), _number(seg[1])) if isinstance(seg, list) and len(seg) == 2 else (None, None)
            where = f"{src}, segment {k + 1}"
            problem = _segment_problem(start, end, duration)
            if problem:
                report("bad-segment", f"{problem}", ann, where)
                continue
            label = label_map.find(str(a.get("label", "")))
            if label is None:
                report("unknown-class", f"label {a.get('label')!r} is not an ActivityNet class", ann, where)
                continue
            clips.append(VideoRecord(path=path, label=label, video_id=f"{stem}#{k}", source=where, start=start,
                                     end=min(end, duration)))  # an end past the video's is clipped to it
        if level == "clip":
            records += clips
        elif clips or subset == "test":
            records.append(VideoRecord(path=path, label=clips[0].label if clips else -1, video_id=stem, source=src))
        durations[path] = duration
    return _Read(records, label_map, [videos], durations)


def read_activitynet(root, subset: str = "train", level: str = "clip") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of ActivityNet (v1.3; v1.2's JSON has the same shape).

    ``activity_net.v1-3.min.json``: ``{"taxonomy": [...], "database": {<id>: {"subset":
    "training"|"validation"|"testing", "duration": seconds, "annotations": [{"segment": [start,
    end], "label": <class>}, ...]}}}``. Subsets: ``"train"`` = training, ``"val"`` = validation,
    ``"test"`` = testing (no annotations: ``label=-1``). Classes: the 200 leaves of the taxonomy,
    sorted by name (every annotated label, sorted, when there is no taxonomy). Videos:
    ``videos/v_<id>.mp4`` (the official crawler's and MMAction2's names; any extension; ``v_``
    optional).

    ``level="clip"``: one record per labelled segment, of its untrimmed video with ``start`` and
    ``end`` (seconds) and ``video_id`` ``"v_<id>#<k>"`` (k-th segment, from 0), sampled inside the
    segment by :class:`tsnlib.datasets.TSNDataset` (MMAction2's clip level). ``level="video"``:
    one record per video, the whole video, with the class of its first segment (MMAction2's
    video level; ActivityNet videos rarely hold two classes).

    A segment that is empty, starts before 0 or at/after the video's ``duration`` raises (an end
    past the duration, a rounding in the official file, is clipped to it); so do an unknown label,
    a missing ``duration`` and, in training or validation, a video without a segment:
    :class:`~tsnlib.errors.AnnotationError` naming the JSON and the video (``source``
    ``"activity_net.v1-3.min.json:<id>, segment 2"``).
    """
    r = _read_activitynet(root, subset, _raise, level)
    return r.records, r.label_map


# ----------------------------------------------------------------------------------------------
# HVU
# ----------------------------------------------------------------------------------------------

_HVU_FILES = {"categories": ("hvu_categories.csv", "HVU_Tags_Categories_V1.0.csv"),
              "train": ("hvu_train.csv", "HVU_Train_V1.0.csv"),
              "val": ("hvu_val.csv", "HVU_Val_V1.0.csv"),
              "test": ("hvu_test.csv", "HVU_Test_V1.0.csv")}


def hvu_clip_id(youtube_id: str, start: float, end: float) -> str:
    """The name of a trimmed HVU clip as MMAction2's download script writes it:
    ``<youtube_id>_<int(start * 10):06d>_<int(end * 10):06d>`` (tenths of a second).
    """
    return f"{youtube_id}_{int(start * 10):06d}_{int(end * 10):06d}"


def _hvu_tags(path: Path, report: Report) -> dict[str, str]:
    """``{tag: category}`` from ``hvu_categories.csv`` (header ``Tag,Category``)."""
    cols, rows = _header(_csv_rows(path, report), ("tag", "category"), path, report)
    out: dict[str, str] = {}
    for line, fields in rows:
        src = f"{path.name}:{line}"
        if len(fields) <= max(cols.values()):
            report("malformed-line", f"expected 'Tag,Category', got {','.join(fields)!r}", path, src)
            continue
        tag, cat = fields[cols["tag"]], fields[cols["category"]].casefold()
        if not tag or cat not in HVU_CATEGORIES:
            report("malformed-line", f"category must be one of {', '.join(HVU_CATEGORIES)}, got {cat!r}", path, src)
            continue
        if tag in out:
            report("duplicate", f"tag {tag!r} appears twice", path, src)
            continue
        out[tag] = cat
    return out


def _read_hvu(root, subset: str, report: Report, category: str = "action") -> _Read:
    subset = _check_subset(subset)
    if category not in HVU_CHOICES:
        raise ValueError(f"category must be one of {HVU_CHOICES}, got {category!r}")
    cats_file = _need(root, _HVU_FILES["categories"], "HVU tag categories CSV")
    tags = _hvu_tags(cats_file, report)
    order = HVU_CATEGORIES if category == "all" else (category,)
    label_map = LabelMap([t for c in order for t in sorted(t for t, tc in tags.items() if tc == c)],
                         source=cats_file.name)
    ann = _need(root, _HVU_FILES[subset], f"HVU {subset} CSV")
    dirs, index = _youtube_videos(ann, subset)
    seen = _Seen(ann, report)
    records = []
    for src, fields, cols, yid, start, end in _youtube_rows(ann, report):
        labels = []
        if "tags" in cols:
            clip_tags = [t.strip() for t in fields[cols["tags"]].split("|") if t.strip()]
            if not clip_tags:
                report("malformed-line", f"empty tag set: clip {yid} has no tag", ann, src)
                continue
            unknown = [t for t in clip_tags if t not in tags]
            if unknown:
                report("unknown-class", f"tag(s) {', '.join(map(repr, unknown[:3]))} not in {cats_file.name}", ann, src)
                continue
            labels = sorted({label_map.index(t) for t in clip_tags if tags[t] in order})
            if not labels:
                continue  # no tag of this category: not a sample of its label map (as MMAction2's sub-lists)
        clip = hvu_clip_id(yid, start, end)
        if seen(clip, src, "clip"):
            continue
        path, seg_start, seg_end = _trimmed_or_whole(index, [clip, kinetics_clip_id(yid, start, end)], yid, start, end)
        records.append(VideoRecord(path=path or dirs[0] / f"{clip}.mp4", label=labels[0] if labels else -1,
                                   video_id=clip, source=src, labels=tuple(labels), start=seg_start, end=seg_end))
    return _Read(records, label_map, dirs)


def read_hvu(root, subset: str = "train", category: str = "action") -> tuple[list[VideoRecord], LabelMap]:
    """Records and label map of HVU (Holistic Video Understanding; multi-label).

    ``hvu_categories.csv`` (``HVU_Tags_Categories_V1.0.csv`` as released): ``Tag,Category``, the
    category one of :data:`HVU_CATEGORIES`; ``hvu_train.csv`` / ``hvu_val.csv``
    (``HVU_Train_V1.0.csv``, ``HVU_Val_V1.0.csv``): ``Tags,youtube_id,time_start,time_end``, the tags
    ``|``-separated. ``category`` picks the label map: the tags of that category sorted by name
    (as MMAction2's ``parse_tag_list.py``), or ``"all"``: every category's, in the order of
    :data:`HVU_CATEGORIES`. Records get ``labels`` (their tags of the category, sorted by label)
    and ``label`` = the first; a clip with no tag of the category is left out (MMAction2's
    per-category lists do the same). Videos: ``videos_train/``, ``videos_val/`` (MMAction2) or
    ``train/``, ``val/``, named :func:`hvu_clip_id` (also the ``video_id``; Kinetics-style whole
    seconds also found), else the untrimmed ``<youtube_id>.mp4`` read as a segment.

    An empty ``Tags`` field, a tag not in the categories file, a bad time or a clip listed twice
    raises :class:`~tsnlib.errors.AnnotationError` naming the CSV and line.
    """
    r = _read_hvu(root, subset, _raise, category)
    return r.records, r.label_map
