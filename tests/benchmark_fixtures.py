"""Writers of tiny benchmarks in their official formats, shared by the tests (nothing is downloaded).

The small writers (``write_mp4``, ``write_jpegs``, ``write``, ``touch``) serve the reader tests of
``test_benchmark_annotations.py``. The ``make_*`` builders write a whole benchmark whose every video
exists and decodes (real MPEG-4, VP8 WebM, AVI or JPEG frames), so that a preset can train on it:
``test_presets_zoo.py``. Each builder returns the class names in the order the benchmark's reader
gives them labels, written out by hand from that benchmark's rule (Kinetics sorted, Something in file
order, Moments as numbered, ActivityNet's taxonomy leaves sorted, HVU's tags sorted per category).
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np

W, H = 64, 48

_CODECS = {".mp4": "mpeg4", ".avi": "mpeg4", ".webm": "libvpx"}


def write_mp4(path: Path, n: int = 10, fps: int = 10) -> Path:
    """A real video of ``n`` frames at ``fps``, 64x48 (frame k is grey level 20 * k); MPEG-4 in ``.mp4``
    and ``.avi`` files, VP8 in ``.webm`` ones (Something-Something v2's format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream(_CODECS.get(path.suffix.lower(), "mpeg4"), rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        for k in range(n):
            img = np.full((H, W, 3), (20 * k) % 256, np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def touch(path: Path) -> Path:
    """A placeholder video file (the readers look at names only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


def write_jpegs(folder: Path, n: int, name: str = "{:05d}.jpg") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        cv2.imwrite(str(folder / name.format(i)), np.full((H, W, 3), 10 * i, np.uint8))
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


#: ActivityNet's taxonomy as its JSON holds it: the leaves are the classes.
TAXONOMY = [
    {"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None},
    {"nodeId": 1, "nodeName": "Sports", "parentId": 0, "parentName": "Root"},
    {"nodeId": 2, "nodeName": "Long jump", "parentId": 1, "parentName": "Sports"},
    {"nodeId": 3, "nodeName": "Discus throw", "parentId": 1, "parentName": "Sports"},
    {"nodeId": 4, "nodeName": "Household", "parentId": 0, "parentName": "Root"},
    {"nodeId": 5, "nodeName": "Washing dishes", "parentId": 4, "parentName": "Household"},
]


# ----------------------------------------------------------------------------------------------
# whole benchmarks, every video on disk
# ----------------------------------------------------------------------------------------------


def make_kinetics(root: Path, untrimmed: bool = True) -> tuple[str, ...]:
    """Kinetics (400, 600 or 700: one format) under ``root``: the CSVs in ``annotations/``, trimmed clips
    ``videos_{train,val}/<class>/<youtube_id>_<start:06d>_<end:06d>.mp4`` and (``untrimmed``) one untrimmed
    training video read as its segment (2..4 s)."""
    classes = ("air drumming", "abseiling", "arm wrestling")
    train = ["label,youtube_id,time_start,time_end,split,is_cc"]
    for i, name in enumerate(classes * 2):
        yid = f"tr{i:09d}"
        train.append(f"{name},{yid},{i},{i + 10},train,0")
        write_mp4(root / "videos_train" / name.replace(" ", "_") / f"{yid}_{i:06d}_{i + 10:06d}.mp4", n=12)
    if untrimmed:
        train.append("abseiling,untrimmed01,2,4,train,0")
        write_mp4(root / "videos_train" / "untrimmed01.mp4", n=30, fps=5)  # 6 s: the segment is frames 10..20
    val = ["label,youtube_id,time_start,time_end,split"]
    for i, name in enumerate(classes):
        yid = f"va{i:09d}"
        val.append(f"{name},{yid},{i},{i + 10},val")
        write_mp4(root / "videos_val" / name.replace(" ", "_") / f"{yid}_{i:06d}_{i + 10:06d}.mp4", n=12)
    write(root / "annotations" / "train.csv", "\n".join(train) + "\n")
    write(root / "annotations" / "validate.csv", "\n".join(val) + "\n")
    return ("abseiling", "air drumming", "arm wrestling")


def make_sthv1(root: Path) -> tuple[str, ...]:
    """Something-Something v1: the four CSVs and ``20bn-something-something-v1/<id>/00001.jpg`` frame folders."""
    classes = ("Holding something", "Pushing something from left to right",
               "Putting something, something and something on the table")
    ann = root / "annotations"
    write(ann / "something-something-v1-labels.csv", "\n".join(classes) + "\n")
    train = [f"{100 + i};{classes[i % 3]}" for i in range(6)]
    val = [f"{200 + i};{classes[i]}" for i in range(3)]
    write(ann / "something-something-v1-train.csv", "\n".join(train) + "\n")
    write(ann / "something-something-v1-validation.csv", "\n".join(val) + "\n")
    write(ann / "something-something-v1-test.csv", "300\n")
    for line in train + val:
        write_jpegs(root / "20bn-something-something-v1" / line.split(";")[0], 10)
    return classes


def make_sthv2(root: Path) -> tuple[str, ...]:
    """Something-Something v2: ``labels/labels.json``, ``train.json``, ``validation.json`` and ``<id>.webm``."""
    templates = ("Holding [something] next to [something]", "Pushing [something] from left to right",
                 "Approaching [something] with your camera")
    classes = tuple(t.replace("[", "").replace("]", "") for t in templates)
    write(root / "labels" / "labels.json", json.dumps({c: str(i) for i, c in enumerate(classes)}))

    def entries(first: int, count: int) -> list[dict]:
        return [{"id": str(first + i), "label": f"a video of {classes[i % 3].lower()}", "template": templates[i % 3],
                 "placeholders": ["a cup"]} for i in range(count)]

    for name, items in (("train.json", entries(1000, 6)), ("validation.json", entries(2000, 3))):
        write(root / "labels" / name, json.dumps(items))
        for e in items:
            write_mp4(root / "20bn-something-something-v2" / f"{e['id']}.webm", n=10)
    write(root / "labels" / "test.json", json.dumps([{"id": "3000"}]))
    return classes


def make_diving48(root: Path) -> tuple[str, ...]:
    """Diving48 V2: the vocabulary and the train / test JSONs in ``annotations/``, videos ``rgb/<vid_name>.mp4``."""
    vocab = [["Back", "15som", "05Twis", "FREE"], ["Back", "15som", "15Twis", "FREE"], ["Forward", "25som", "NoTwis", "PIKE"]]
    write(root / "annotations" / "Diving48_vocab.json", json.dumps(vocab))
    for name, first, count in (("Diving48_V2_train.json", 0, 6), ("Diving48_V2_test.json", 10, 3)):
        items = [{"vid_name": f"dive{first + i:07d}_{i:05d}", "label": i % 3, "start_frame": 0, "end_frame": 11}
                 for i in range(count)]
        write(root / "annotations" / name, json.dumps(items))
        for e in items:
            write_mp4(root / "rgb" / f"{e['vid_name']}.mp4", n=12)
    return tuple(" ".join(v) for v in vocab)


def make_mit(root: Path) -> tuple[str, ...]:
    """Moments in Time: ``moments_categories.txt``, ``trainingSet.csv`` / ``validationSet.csv`` and the videos
    ``training/<class>/<file>.mp4``, ``validation/<class>/<file>.mp4`` (the unpacked release)."""
    classes = ("applauding", "barking", "yawning")
    write(root / "moments_categories.txt", "".join(f"{c},{i}\n" for i, c in enumerate(classes)))
    for csv_name, folder, count in (("trainingSet.csv", "training", 6), ("validationSet.csv", "validation", 3)):
        rows = []
        for i in range(count):
            c = classes[i % 3]
            rows.append(f"{c}/yt-{folder}{i}_1.mp4,{c},3,0")
            write_mp4(root / folder / c / f"yt-{folder}{i}_1.mp4", n=10)
        write(root / csv_name, "\n".join(rows) + "\n")
    return classes


def make_mmit(root: Path) -> tuple[str, ...]:
    """Multi-Moments in Time: the categories and the CSVs of class indices in ``annotations/``, videos under
    ``videos/<class>/``. Every class has a positive in both subsets."""
    classes = ("adult+female+singing", "barking", "clapping", "yawning")
    write(root / "annotations" / "moments_categories.txt", "".join(f"{c},{i}\n" for i, c in enumerate(classes)))
    sets = {"trainingSet.csv": [(0, 2), (1,), (2, 3), (3, 0), (1, 2), (0,)],
            "validationSet.csv": [(0, 1), (2,), (3, 1)]}
    for name, label_sets in sets.items():
        rows = []
        for i, labels in enumerate(label_sets):
            rel = f"{classes[labels[0]]}/{name[:5]}-{i}_3.mp4"
            rows.append(",".join([rel, *map(str, labels)]))
            write_mp4(root / "videos" / rel, n=10)
        write(root / "annotations" / name, "\n".join(rows) + "\n")
    return classes


def make_activitynet(root: Path) -> tuple[str, ...]:
    """ActivityNet v1.3: ``activity_net.v1-3.min.json`` (taxonomy and database) and untrimmed ``videos/v_<id>.mp4``
    at 10 fps; two training videos hold two labelled segments each."""
    database = {
        "aaaaaaaaaaa": {"subset": "training", "duration": 6.0,
                        "annotations": [{"segment": [0.5, 2.5], "label": "Long jump"},
                                        {"segment": [3.0, 5.5], "label": "Long jump"}]},
        "bbbbbbbbbbb": {"subset": "training", "duration": 6.0,
                        "annotations": [{"segment": [1.0, 4.0], "label": "Washing dishes"},
                                        {"segment": [4.5, 6.0], "label": "Washing dishes"}]},
        "ccccccccccc": {"subset": "training", "duration": 6.0,
                        "annotations": [{"segment": [0.0, 3.0], "label": "Discus throw"}]},
        "ddddddddddd": {"subset": "training", "duration": 6.0,
                        "annotations": [{"segment": [2.0, 5.0], "label": "Discus throw"}]},
        "eeeeeeeeeee": {"subset": "validation", "duration": 6.0,
                        "annotations": [{"segment": [1.0, 5.0], "label": "Long jump"}]},
        "fffffffffff": {"subset": "validation", "duration": 6.0,
                        "annotations": [{"segment": [0.5, 3.5], "label": "Washing dishes"}]},
    }
    write(root / "annotations" / "activity_net.v1-3.min.json",
          json.dumps({"version": "VERSION 1.3", "taxonomy": TAXONOMY, "database": database}))
    for vid in database:
        write_mp4(root / "videos" / f"v_{vid}.mp4", n=60, fps=10)
    return ("Discus throw", "Long jump", "Washing dishes")


#: HVU's six categories, two tags each, as ``hvu_categories.csv`` lists them.
HVU_TAGS = {"action": ("running", "jumping"), "attribute": ("red", "wooden"), "concept": ("sports", "leisure"),
            "event": ("wedding", "concert"), "object": ("ball", "dog"), "scene": ("beach", "stadium")}


def make_hvu(root: Path) -> dict[str, tuple[str, ...]]:
    """HVU: ``hvu_categories.csv`` and ``hvu_{train,val}.csv`` in ``annotations/``, clips trimmed and named as
    MMAction2's download script names them (``<youtube_id>_<start*10:06d>_<end*10:06d>.mp4``). Every clip has
    a tag of each category (so each category's label map has every clip). Returns each category's classes."""
    write(root / "annotations" / "hvu_categories.csv",
          "Tag,Category\n" + "".join(f"{t},{c}\n" for c, tags in HVU_TAGS.items() for t in tags))
    for subset, count in (("train", 6), ("val", 3)):
        rows = ["Tags,youtube_id,time_start,time_end"]
        for i in range(count):
            tags = [tags[i % 2] for tags in HVU_TAGS.values()] + (["running"] if i % 3 == 0 else [])
            yid, start = f"{subset}{i:08d}", 10 + i
            rows.append(f"{'|'.join(dict.fromkeys(tags))},{yid},{start},{start + 10}")
            write_mp4(root / f"videos_{subset}" / f"{yid}_{start * 10:06d}_{(start + 10) * 10:06d}.mp4", n=10)
        write(root / "annotations" / f"hvu_{subset}.csv", "\n".join(rows) + "\n")
    return {c: tuple(sorted(tags)) for c, tags in HVU_TAGS.items()}


def make_hmdb51(root: Path) -> tuple[str, ...]:
    """HMDB51: ``hmdb51_org/<class>/<name>.avi`` and ``testTrainMulti_7030_splits/<class>_test_split1.txt``
    (tag 1 train, 2 test, 0 unused)."""
    classes = ("brush_hair", "cartwheel", "catch")
    for c in classes:
        lines = []
        for i, tag in enumerate((1, 1, 2, 0)):
            name = f"{c}_clip{i}.avi"
            write_mp4(root / "hmdb51_org" / c / name, n=10)
            lines.append(f"{name} {tag} ")
        write(root / "testTrainMulti_7030_splits" / f"{c}_test_split1.txt", "\n".join(lines) + "\n")
    return classes
