"""Writing the synthetic dataset: encoded videos, truth files, split lists and the manifest.

:func:`generate_dataset` plans the videos (:func:`tsnlib.synthetic.plan.plan_dataset`), renders and
encodes them in worker processes (MPEG-4 Part 2 ``.avi`` or H.264 ``.mp4``), writes each one's truth
file beside it, the layout's split files, and ``synthetic.json`` (:func:`load_manifest`) last: an
interrupted run resumes, a complete one returns at once.

Part of :mod:`tsnlib.synthetic` (notebooks/01_data_preparation.ipynb generates the dataset with it).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import av
import cv2

from tsnlib.errors import DataError
from tsnlib.synthetic.camera import _filmed
from tsnlib.synthetic.plan import (
    CLASS_GROUPS,
    CLASSES,
    CODECS,
    FPS,
    VideoSpec,
    _rng,
    _test_groups,
    _val_groups,
    class_names,
    hmdb_class_name,
    plan_dataset,
)
from tsnlib.synthetic.render import _iter_frames
from tsnlib.synthetic.truth import _write_npz_deterministic, truth_path
from tsnlib.utils import progress as progress_bar
from tsnlib.utils import synthetic_root

#: bump when the generator's output changes: an existing dataset with another version is regenerated
GENERATOR_VERSION = "8"


# ----------------------------------------------------------------------------------------------
# Encoding and writing
# ----------------------------------------------------------------------------------------------


def _encoder_name(codec: str) -> str:
    candidates = CODECS[codec][0]
    for name in candidates:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises different errors for unknown codecs across versions
            continue
    raise RuntimeError(
        f"codec {codec!r} needs one of the encoders {', '.join(candidates)}, which this PyAV build "
        f"(av {av.__version__}) lacks; install a PyAV wheel built with them (the PyPI wheels include "
        f"mpeg4 and libx264) or use codec='xvid'")


def _write_video(spec: VideoSpec, root: Path) -> None:
    """Render, encode and write one video and its truth file (each to a temporary name, then renamed)."""
    path = root / spec.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    truth, scene = _filmed(spec)
    _write_npz_deterministic(truth_path(path), truth)

    _, fmt, _, gop, tag = CODECS[spec.codec]
    tmp = path.with_name(path.name + ".partial")
    container = av.open(str(tmp), "w", format=fmt)
    try:
        stream = container.add_stream(_encoder_name(spec.codec), rate=spec.fps)
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        stream.codec_context.thread_count = 1
        if spec.codec == "xvid":
            stream.codec_tag = tag
            stream.bit_rate = int(3.5 * spec.width * spec.height)  # ~270 kb/s at 320x240, like UCF101
        else:
            stream.options = {"preset": "veryfast", "crf": "23", "threads": "1"}
        for frame in _iter_frames(spec, truth, scene):
            # BT.601 limited-range YUV 4:2:0 (what swscale would make, and what decoders assume), 20x faster
            yuv = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    os.replace(tmp, path)


def _worker_init() -> None:
    cv2.setNumThreads(1)


def _worker(job: tuple[VideoSpec, str]) -> str:
    spec, root = job
    _write_video(spec, Path(root))
    return spec.rel_path


def _write_lists(root: Path, layout: str, specs: list[VideoSpec]) -> list[str]:
    """Write the split files of the layout; returns their paths relative to ``root``.

    UCF101 layout: ``ucfTrainTestlist/classInd.txt`` and, per split N in 1..3, ``trainlist0N.txt``
    (``"Class/v_Class_gGG_cCC.avi <1-based label>"``), ``testlist0N.txt`` (the :func:`_test_groups`)
    and ``vallist0N.txt`` (the :func:`_val_groups`; no label, like the test list), CRLF line ends as
    in the official files. Train, val and test hold disjoint groups and every video is in exactly
    one of them. The official UCF101 has no ``vallist0N.txt``: only the synthetic set gives a
    validation subset that never reads the test split.

    HMDB51 layout: ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` with tags 1 (train),
    2 (test) and 0 (unused). HMDB51's official tags have no validation subset, so this layout keeps
    the val groups in train.
    """
    names = class_names(layout)
    by_class: dict[str, list[VideoSpec]] = {}
    for s in specs:
        by_class.setdefault(s.class_name, []).append(s)
    written = []
    if layout == "ucf101":
        d = root / "ucfTrainTestlist"
        d.mkdir(parents=True, exist_ok=True)
        nl = "\r\n"  # the official lists have Windows line ends
        (d / "classInd.txt").write_bytes("".join(f"{i} {n}{nl}" for i, n in enumerate(names, 1)).encode())
        written.append("ucfTrainTestlist/classInd.txt")
        for split in (1, 2, 3):
            train, val, test = [], [], []
            for cls in names:
                vids = by_class[cls]
                num_groups = max(v.group for v in vids)
                held = _test_groups(num_groups, split)
                held_val = _val_groups(num_groups, split)
                for v in sorted(vids, key=lambda v: v.rel_path):
                    rel = v.rel_path.split("/", 1)[1]
                    if v.group in held:
                        test.append(rel)
                    elif v.group in held_val:
                        val.append(rel)
                    else:
                        train.append(f"{rel} {names.index(cls) + 1}")
            (d / f"trainlist0{split}.txt").write_bytes("".join(line + nl for line in train).encode())
            (d / f"vallist0{split}.txt").write_bytes("".join(line + nl for line in val).encode())
            (d / f"testlist0{split}.txt").write_bytes("".join(line + nl for line in test).encode())
            written += [f"ucfTrainTestlist/trainlist0{split}.txt", f"ucfTrainTestlist/vallist0{split}.txt",
                        f"ucfTrainTestlist/testlist0{split}.txt"]
    else:
        d = root / "testTrainMulti_7030_splits"
        d.mkdir(parents=True, exist_ok=True)
        for cls in CLASSES:
            hc = hmdb_class_name(cls)
            vids = by_class[cls]
            num_groups = max(v.group for v in vids)
            for split in (1, 2, 3):
                held = _test_groups(num_groups, split)
                train = [v for v in vids if v.group not in held]
                rng = _rng(vids[0].seed, 12, vids[0].class_index, split)
                num_unused = max(1, round(0.07 * len(vids))) if len(train) > 1 else 0
                unused = {train[i].rel_path for i in rng.choice(len(train), size=num_unused, replace=False)}
                lines = []
                for v in sorted(vids, key=lambda v: Path(v.rel_path).name):
                    tag = 2 if v.group in held else (0 if v.rel_path in unused else 1)
                    lines.append(f"{Path(v.rel_path).name} {tag} \n")  # the official files end lines with " "
                (d / f"{hc}_test_split{split}.txt").write_text("".join(lines), encoding="utf-8")
                written.append(f"testTrainMulti_7030_splits/{hc}_test_split{split}.txt")
    return written


# ----------------------------------------------------------------------------------------------
# The dataset
# ----------------------------------------------------------------------------------------------

MANIFEST = "synthetic.json"
_PARTIAL_MANIFEST = "synthetic.partial.json"
_OWNED = {"ucf101": ("UCF-101", "ucfTrainTestlist"), "hmdb51": ("hmdb51_org", "testTrainMulti_7030_splits")}


def load_manifest(root) -> dict:
    """The ``synthetic.json`` of a generated dataset: its parameters, classes, groups and videos.

    Keys: ``generator``, ``version``, ``layout``, ``size``, ``seed``, ``codec``, ``camera_share``,
    ``videos_per_class``, ``fps``, ``classes`` (class index order), ``class_groups`` (names as the
    layout spells them), ``num_videos``, ``videos`` (paths relative to the root), ``list_files``.

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError("not a synthetic dataset: no synthetic.json (generate it with tsnlib synth)", path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable synthetic manifest: {exc}", path=path) from exc


def _manifest(layout, size, seed, codec, specs, list_files, camera_share=0.0) -> dict:
    rename = (lambda n: n) if layout == "ucf101" else hmdb_class_name
    return {
        "generator": "tsnlib.synthetic",
        "version": GENERATOR_VERSION,
        "layout": layout,
        "size": size,
        "seed": int(seed),
        "codec": codec,
        "camera_share": float(camera_share),
        "videos_per_class": len(specs) // len(CLASSES),
        "fps": FPS,
        "classes": class_names(layout),
        "class_groups": {g: [rename(n) for n in names] for g, names in CLASS_GROUPS.items()},
        "num_videos": len(specs),
        "videos": [s.rel_path for s in specs],
        "list_files": list_files,
    }


_MATCH_KEYS = ("generator", "version", "layout", "size", "seed", "codec", "camera_share", "videos_per_class", "classes",
               "num_videos", "videos")


def _complete(root: Path, manifest: dict) -> bool:
    for rel in manifest.get("videos", []):
        p = root / rel
        if not p.is_file() or not truth_path(p).is_file():
            return False
    return all((root / rel).is_file() for rel in manifest.get("list_files", []))


def generate_dataset(root=None, layout: str = "ucf101", size: str = "default", videos_per_class: int | None = None,
                     codec: str = "xvid", seed: int = 0, workers: int | None = None, progress: bool = True,
                     force: bool = False, camera_share: float = 0.0) -> Path:
    """Write the synthetic action dataset under ``root`` in the UCF101 or HMDB51 layout; returns ``root``.

    ``layout="ucf101"``: ``root/UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` and ``root/ucfTrainTestlist/``
    (``classInd.txt``, ``trainlist0{1,2,3}.txt``, ``vallist0{1,2,3}.txt``, ``testlist0{1,2,3}.txt``:
    whole groups held out, about 30 % for test and 15 % for validation, disjoint; the official UCF101
    has no ``vallist``). ``layout="hmdb51"``: ``root/hmdb51_org/<class>/<name>.avi`` and
    ``root/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (train/test tags only, as
    HMDB51's: no validation subset, the val groups stay in train).
    A ``<video stem>.truth.npz`` lies beside every video (see :func:`load_truth`), a ``synthetic.json``
    manifest at the root (see :func:`load_manifest`).

    ``size="default"``: 13 classes x 60 videos of 2-4 s around 128x96 (about 15 s on two cores);
    ``"tiny"``: 13 x 6 videos of 1-2 s around 160x120 (seconds, for tests). ``videos_per_class``
    overrides the preset's count (at least 3). ``codec``: ``"xvid"`` (MPEG-4 Part 2 in ``.avi``, like
    UCF101) or ``"h264"`` (``.mp4``). Deterministic from ``seed``: the same seed gives byte-identical
    truth files and the same frames.

    Idempotent: when ``synthetic.json`` matches the parameters and every file exists, returns at once;
    ``force=True`` regenerates. Each file is written under a temporary ``.partial`` name and renamed
    when complete; an interrupted run is resumed by the next call with the same parameters.
    ``workers`` processes (default: one per CPU core; small jobs run in this process).

    Introduced in notebooks/01_data_preparation.ipynb.
    """
    root = Path(synthetic_root(root, layout=layout)).expanduser()
    specs = plan_dataset(layout, size, videos_per_class, codec, seed, camera_share)
    _encoder_name(codec)  # fail early and clearly when the encoder is missing
    wanted = _manifest(layout, size, seed, codec, specs, [], camera_share)
    key = {k: wanted[k] for k in _MATCH_KEYS}

    manifest_path = root / MANIFEST
    partial_path = root / _PARTIAL_MANIFEST
    resume = False  # True: the files there were made with these parameters; keep the complete ones
    if manifest_path.is_file() and not force:
        try:
            existing = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            existing = {}
        if {k: existing.get(k) for k in _MATCH_KEYS} == key:
            if _complete(root, existing):
                return root
            resume = True
    if not force and not resume and partial_path.is_file():
        try:
            resume = json.loads(partial_path.read_text(encoding="utf-8")) == key
        except ValueError:
            resume = False
    if not resume:
        _clear(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    partial_path.write_text(json.dumps(key), encoding="utf-8")

    todo = [s for s in specs
            if not (resume and (root / s.rel_path).is_file() and truth_path(root / s.rel_path).is_file())]
    total_frames = sum(s.num_frames for s in todo)
    if workers is None:
        # starting processes (about a second each) costs more than it saves on small jobs
        workers = (os.cpu_count() or 1) if total_frames >= 6000 else 1
    workers = max(1, min(int(workers), len(todo)))
    bar_options = {} if progress else {"disable": True}
    bar = progress_bar(total=len(todo), desc=f"synthetic {layout} ({size})", unit="video", **bar_options)
    try:
        if workers <= 1:
            for s in todo:
                _write_video(s, root)
                bar.update(1)
        else:
            # longest first: better load balance
            jobs = [(s, str(root)) for s in sorted(todo, key=lambda s: -s.num_frames * s.width * s.height)]
            # the platform default start method (fork on Linux: no re-import of the caller's script)
            with mp.get_context().Pool(workers, initializer=_worker_init) as pool:
                for _ in pool.imap_unordered(_worker, jobs, chunksize=1):
                    bar.update(1)
    finally:
        bar.close()

    list_files = _write_lists(root, layout, specs)
    manifest = _manifest(layout, size, seed, codec, specs, list_files, camera_share)
    tmp = manifest_path.with_name(MANIFEST + ".partial")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, manifest_path)
    partial_path.unlink(missing_ok=True)
    return root


def _clear(root: Path) -> None:
    """Remove an earlier synthetic dataset's folders under ``root``, never anybody else's data."""
    ours = (root / MANIFEST).is_file() or (root / _PARTIAL_MANIFEST).is_file()
    present = [root / d for ds in _OWNED.values() for d in ds if (root / d).exists()]
    if present and not ours:
        raise DataError(
            f"{root} already holds {', '.join(p.name for p in present)} but no synthetic.json: refusing to "
            "overwrite what may be a real dataset; choose another root", path=root)
    for p in present:
        shutil.rmtree(p)

