"""Annotation readers and writers on tiny hand-made UCF101 / HMDB51 trees of real 10-frame videos."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tsnlib.annotations import (
    LabelMap,
    VideoRecord,
    available_subsets,
    build_lists,
    detect_layout,
    load_annotations,
    read_class_folders,
    read_hmdb51,
    read_list_file,
    read_ucf101,
    write_label_map,
    write_list_file,
)
from tsnlib.errors import AnnotationError, DataError

W, H, N = 64, 48, 10


def write_avi(path: Path, n: int = N, seed: int = 0) -> Path:
    """A real mpeg4 .avi of ``n`` frames, 64x48."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        for _ in range(n):
            img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


# UCF101: "HandStandPushups" in classInd.txt, "HandstandPushups" on disk (the official quirk, case swapped)
UCF_CLASSES = ["ApplyEyeMakeup", "Basketball", "HandStandPushups"]
UCF_FOLDERS = ["ApplyEyeMakeup", "Basketball", "HandstandPushups"]


def make_ucf101(root: Path) -> Path:
    """root/UCF-101/<Class>/v_<Class>_gGG_c01.avi (2 groups per class) and root/ucfTrainTestlist/, CRLF lists."""
    for k, folder in enumerate(UCF_FOLDERS):
        for g in (1, 2):
            write_avi(root / "UCF-101" / folder / f"v_{folder}_g{g:02d}_c01.avi", seed=10 * k + g)
    ann = root / "ucfTrainTestlist"
    ann.mkdir(parents=True)
    crlf = "\r\n"
    (ann / "classInd.txt").write_bytes(crlf.join(f"{i} {n}" for i, n in enumerate(UCF_CLASSES, 1)).encode() + b"\r\n")
    # train = group 2, test = group 1 (split 1); blank lines inside and at the end, as in the real files
    train = [f"{f}/v_{f}_g02_c01.avi {i}" for i, f in enumerate(UCF_FOLDERS, 1)]
    test = [f"{f}/v_{f}_g01_c01.avi" for f in UCF_FOLDERS]
    # the list spells the file name as classInd does (HandStand): found on disk case-insensitively
    train[2] = "HandstandPushups/v_HandStandPushups_g02_c01.avi 3"
    (ann / "trainlist01.txt").write_bytes((crlf.join(train[:2] + ["", train[2]]) + crlf + crlf).encode())
    (ann / "testlist01.txt").write_bytes((crlf.join(test) + crlf).encode())
    return root


def set_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\r\n" for line in lines))


@pytest.fixture()
def ucf(tmp_path):
    return make_ucf101(tmp_path / "ucf101")


# HMDB51 names with the characters of the real dataset
HMDB_NAMES = {
    "brush_hair": ["Kids_&_(fun)!_brush_hair_u_nm_np1_fr_goo_0.avi", "#20_Mom's_brush_hair_h_cm_np1_le_med_0.avi",
                   "Plain_brush_hair_f_nm_np2_ba_bad_1.avi"],
    "cartwheel": ["(Beach)_cartwheel_f_cm_np1_ri_goo_0.avi", "Dad's_#1_cartwheel!_f_nm_np1_fr_med_2.avi",
                  "Park_&_Sun_cartwheel_u_cm_np1_le_goo_0.avi"],
}
HMDB_TAGS = {1: [1, 2, 0], 2: [2, 1, 1]}  # per split, the tags of the three videos of each class


def make_hmdb51(root: Path) -> Path:
    for k, (cls, names) in enumerate(HMDB_NAMES.items()):
        for j, name in enumerate(names):
            write_avi(root / "hmdb51_org" / cls / name, seed=100 + 10 * k + j)
        for split, tags in HMDB_TAGS.items():
            d = root / "testTrainMulti_7030_splits"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{cls}_test_split{split}.txt").write_text("".join(f"{n} {t} \n" for n, t in zip(names, tags)))
    return root


@pytest.fixture()
def hmdb(tmp_path):
    return make_hmdb51(tmp_path / "hmdb51")


def write_frames(folder: Path, n_img: int = N, n_flow: int = N - 1, start: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ok, jpg = cv2.imencode(".jpg", np.full((H, W, 3), 128, np.uint8))
    ok2, gray = cv2.imencode(".jpg", np.full((H, W), 128, np.uint8))
    assert ok and ok2
    for i in range(start, start + n_img):
        (folder / f"img_{i:05d}.jpg").write_bytes(jpg.tobytes())
    for i in range(start, start + n_flow):
        (folder / f"flow_x_{i:05d}.jpg").write_bytes(gray.tobytes())
        (folder / f"flow_y_{i:05d}.jpg").write_bytes(gray.tobytes())
    return folder


# ----------------------------------------------------------------------------------------------
# LabelMap and VideoRecord
# ----------------------------------------------------------------------------------------------


def test_label_map_round_trip_and_lookup(tmp_path):
    m = LabelMap(["ApplyEyeMakeup", "HandStandPushups"])
    assert len(m) == 2 and m.names == ("ApplyEyeMakeup", "HandStandPushups")
    assert m.index("HandstandPushups") == 1  # case-insensitive fallback
    assert m.name(0) == "ApplyEyeMakeup" and "applyeyemakeup" in m
    path = write_label_map(m, tmp_path / "classInd.txt")
    assert path.read_text() == "1 ApplyEyeMakeup\n2 HandStandPushups\n"
    assert LabelMap.from_file(path) == m
    with pytest.raises(AnnotationError, match="unknown class name 'Diving'"):
        m.index("Diving")
    with pytest.raises(AnnotationError, match="label 2 out of range"):
        m.name(2)


def test_label_map_file_errors_name_the_line(tmp_path):
    p = tmp_path / "classInd.txt"
    p.write_text("1 A\n2 B\n2 C\n")
    with pytest.raises(AnnotationError, match=r"class index 2 appears twice.*classInd\.txt:3"):
        LabelMap.from_file(p)
    p.write_text("1 A\nB\n")
    with pytest.raises(AnnotationError, match=r"classInd\.txt:2"):
        LabelMap.from_file(p)


def test_video_record_defaults():
    r = VideoRecord(path="a/b/v_X_g01_c01.avi", label=3)
    assert r.path == Path("a/b/v_X_g01_c01.avi") and r.video_id == "v_X_g01_c01"
    assert r.num_frames is None and r.source is None and r.num_flow_frames is None
    assert VideoRecord(path="rawframes/X/v_X_g01_c01", label=0).video_id == "v_X_g01_c01"


# ----------------------------------------------------------------------------------------------
# UCF101
# ----------------------------------------------------------------------------------------------


def test_read_ucf101_train_and_test(ucf):
    train, m = read_ucf101(ucf, split=1, subset="train")
    assert m.names == tuple(UCF_CLASSES)
    assert [r.label for r in train] == [0, 1, 2]  # classInd 1-based -> 0-based
    assert [r.source for r in train] == ["trainlist01.txt:1", "trainlist01.txt:2", "trainlist01.txt:4"]
    # the quirk: listed as HandstandPushups/v_HandStandPushups_..., found on disk with its real case
    assert train[2].path == ucf / "UCF-101" / "HandstandPushups" / "v_HandstandPushups_g02_c01.avi"
    assert all(r.path.is_file() for r in train)
    assert train[0].video_id == "v_ApplyEyeMakeup_g02_c01" and train[0].num_frames is None

    test, m2 = read_ucf101(ucf, split=1, subset="test")
    assert m2 == m
    assert [(r.label, r.path.name) for r in test] == [
        (0, "v_ApplyEyeMakeup_g01_c01.avi"), (1, "v_Basketball_g01_c01.avi"), (2, "v_HandstandPushups_g01_c01.avi")]
    assert test[1].source == "testlist01.txt:2"


def test_read_ucf101_from_the_annotation_folder(ucf):
    via_root, _ = read_ucf101(ucf)
    via_ann, _ = read_ucf101(ucf / "ucfTrainTestlist")
    assert [r.path for r in via_ann] == [r.path for r in via_root]


@pytest.mark.parametrize(
    "line, pattern",
    [
        ("Diving/v_Diving_g01_c01.avi 2", r"class folder 'Diving' is not in classInd\.txt"),
        ("Basketball/v_Basketball_g02_c01.avi 1", r"label 1 \(ApplyEyeMakeup\) does not match the class folder 'Basketball'"),
        ("Basketball/v_Basketball_g02_c01.avi", r"expected '<Class>/<video file> <1-based label>'"),
        ("Basketball/v_Basketball_g02_c01.avi 7", r"label 7 out of range: classInd\.txt has labels 1\.\.3"),
        ("Basketball/v_Basketball_g02_c01.avi 0", r"label 0 out of range"),
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 1", r"listed twice \(also line 1\)"),
    ],
    ids=["unknown-class", "label-mismatch", "malformed", "out-of-range", "zero-label", "duplicate"],
)
def test_read_ucf101_bad_train_lines_name_file_and_line(ucf, line, pattern):
    path = ucf / "ucfTrainTestlist" / "trainlist01.txt"
    set_lines(path, ["ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 1", "", line])
    with pytest.raises(AnnotationError, match=pattern) as info:
        read_ucf101(ucf, subset="train")
    assert "trainlist01.txt:3" in str(info.value)
    assert info.value.source == "trainlist01.txt:3"


def test_read_ucf101_bad_test_line(ucf):
    set_lines(ucf / "ucfTrainTestlist" / "testlist01.txt", ["Basketball/v_Basketball_g01_c01.avi", "Diving/v_x.avi"])
    with pytest.raises(AnnotationError, match=r"'Diving'.*testlist01\.txt:2"):
        read_ucf101(ucf, subset="test")


def test_read_ucf101_missing_pieces(ucf, tmp_path):
    with pytest.raises(DataError, match=r"split file not found \(split 2, train\)"):
        read_ucf101(ucf, split=2)
    with pytest.raises(ValueError, match="subset must be one of"):
        read_ucf101(ucf, subset="validation")
    shutil.rmtree(ucf / "UCF-101")
    with pytest.raises(DataError, match="UCF101 videos folder not found"):
        read_ucf101(ucf)


def _groups_by_class(videos: list[str]) -> dict[str, int]:
    """``{class: number of groups}`` of synthetic ``UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` paths."""
    out: dict[str, int] = {}
    for rel in videos:
        cls, g = re.match(r"^UCF-101/(\w+)/v_\1_g(\d\d)_c\d\d\.avi$", rel).groups()
        out[cls] = max(out.get(cls, 0), int(g))
    return out


def test_read_ucf101_val_of_the_synthetic_set(tiny_ucf101):
    from tsnlib import synthetic
    from tsnlib.synthetic import plan

    manifest = synthetic.load_manifest(tiny_ucf101)
    num_groups = _groups_by_class(manifest["videos"])
    for split in (1, 2, 3):
        val, m = read_ucf101(tiny_ucf101, split, "val")
        val_groups = {cls: plan._val_groups(n, split) for cls, n in num_groups.items()}
        expected = sorted(rel for rel in manifest["videos"] if int(rel.split("_g")[-1][:2]) in val_groups[rel.split("/")[1]])
        assert expected, "tiny: one val group per class"
        assert sorted(r.path.relative_to(tiny_ucf101).as_posix() for r in val) == expected
        assert all(m.name(r.label) == r.path.parent.name for r in val)  # label from the class folder
        assert val[0].source == f"vallist0{split}.txt:1"
        train, _ = read_ucf101(tiny_ucf101, split, "train")
        test, _ = read_ucf101(tiny_ucf101, split, "test")
        ids = [{r.video_id for r in recs} for recs in (train, val, test)]
        assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
        assert sum(len(i) for i in ids) == len(manifest["videos"]) == len(ids[0] | ids[1] | ids[2])
        assert available_subsets(tiny_ucf101, split) == ("train", "val", "test")
    assert load_annotations(tiny_ucf101, split=1, subset="val") == read_ucf101(tiny_ucf101, 1, "val")


def test_read_val_without_a_val_list_says_what_to_do(ucf, hmdb):
    # the official UCF101 has no vallist0N.txt
    with pytest.raises(DataError, match=r"no vallist01\.txt: only the synthetic dataset \(tsnlib synth\) has a "
                       r"validation list, the official UCF101 does not; set data\.val_subset: test, as the "
                       r"paper's protocol does") as info:
        read_ucf101(ucf, split=1, subset="val")
    assert "vallist01.txt" in str(info.value.path)
    with pytest.raises(DataError, match=r"no vallist01\.txt.*data\.val_subset: test"):
        load_annotations(ucf, split=1, subset="val")
    with pytest.raises(DataError, match=r"HMDB51 has no validation subset.*data\.val_subset: test"):
        read_hmdb51(hmdb, subset="val")
    # loops over the subsets skip val quietly
    assert available_subsets(ucf) == ("train", "test") and available_subsets(hmdb) == ("train", "test")
    # a vallist0N.txt, same format as testlist0N.txt, is read as the val subset
    set_lines(ucf / "ucfTrainTestlist" / "vallist01.txt", ["Basketball/v_Basketball_g01_c01.avi"])
    val, _ = read_ucf101(ucf, split=1, subset="val")
    assert [(r.label, r.path.name, r.source) for r in val] == [(1, "v_Basketball_g01_c01.avi", "vallist01.txt:1")]
    assert available_subsets(ucf) == ("train", "val", "test") and available_subsets(ucf, split=2) == ("train", "test")
    assert detect_layout(ucf / "ucfTrainTestlist" / "vallist01.txt") == "ucf101"


# ----------------------------------------------------------------------------------------------
# HMDB51
# ----------------------------------------------------------------------------------------------


def test_read_hmdb51_tags_and_special_names(hmdb):
    train, m = read_hmdb51(hmdb, split=1, subset="train")
    test, _ = read_hmdb51(hmdb, split=1, subset="test")
    assert m.names == ("brush_hair", "cartwheel")  # sorted class names
    assert [r.path.name for r in train] == ["Kids_&_(fun)!_brush_hair_u_nm_np1_fr_goo_0.avi",
                                            "(Beach)_cartwheel_f_cm_np1_ri_goo_0.avi"]
    assert [r.path.name for r in test] == ["#20_Mom's_brush_hair_h_cm_np1_le_med_0.avi",
                                           "Dad's_#1_cartwheel!_f_nm_np1_fr_med_2.avi"]
    assert [r.label for r in train + test] == [0, 1, 0, 1]
    assert all(r.path.is_file() for r in train + test)
    assert train[1].source == "cartwheel_test_split1.txt:1" and test[0].source == "brush_hair_test_split1.txt:2"
    assert train[0].video_id == "Kids_&_(fun)!_brush_hair_u_nm_np1_fr_goo_0"
    # split 2: tags 2, 1, 1 -> two training videos per class; tag 0 videos are in neither subset
    train2, _ = read_hmdb51(hmdb, split=2, subset="train")
    assert len(train2) == 4 and "Plain_brush_hair_f_nm_np2_ba_bad_1.avi" in {r.path.name for r in train2}
    assert "Plain_brush_hair_f_nm_np2_ba_bad_1.avi" not in {r.path.name for r in train + test}


@pytest.mark.parametrize("bad, pattern", [("3", r"tag must be 0 \(unused\), 1 \(train\) or 2 \(test\), got '3'"),
                                          ("", r"the tag is missing"), ("x", r"got 'x'")])
def test_read_hmdb51_malformed_tag(hmdb, bad, pattern):
    p = hmdb / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt"
    names = HMDB_NAMES["cartwheel"]
    p.write_text(f"{names[0]} 1 \n{names[1]} {bad} \n")
    with pytest.raises(AnnotationError, match=pattern) as info:
        read_hmdb51(hmdb)
    assert "cartwheel_test_split1.txt:2" in str(info.value)


def test_read_hmdb51_layout_variants(hmdb):
    base, _ = read_hmdb51(hmdb)
    via_splits, _ = read_hmdb51(hmdb / "testTrainMulti_7030_splits")
    assert [r.path for r in via_splits] == [r.path for r in base]
    (hmdb / "hmdb51_org").rename(hmdb / "videos")
    moved, _ = read_hmdb51(hmdb)
    assert [r.path.name for r in moved] == [r.path.name for r in base] and all(r.path.is_file() for r in moved)


# ----------------------------------------------------------------------------------------------
# List files, class folders, detection
# ----------------------------------------------------------------------------------------------


def test_read_list_file_videos_and_frames(tmp_path):
    write_avi(tmp_path / "videos" / "A" / "my clip.avi")  # spaces: numbers are taken from the right
    write_avi(tmp_path / "videos" / "B" / "v2.avi")
    lst = tmp_path / "videos.txt"
    lst.write_text("A/my clip.avi 0\r\n\r\nB/v2.avi 1\r\n")
    recs, m = read_list_file(lst, kind="video", data_prefix=tmp_path / "videos")
    assert [(r.path, r.label, r.source) for r in recs] == [
        (tmp_path / "videos" / "A" / "my clip.avi", 0, "videos.txt:1"), (tmp_path / "videos" / "B" / "v2.avi", 1, "videos.txt:3")]
    assert m.names == ("0", "1")

    write_frames(tmp_path / "raw" / "A" / "v1")
    frames = tmp_path / "raw" / "rawframes.txt"
    frames.write_text("A/v1 10 1\n")
    (recs, _) = read_list_file(frames, kind="frames")  # paths relative to the list's folder
    assert recs[0].path == tmp_path / "raw" / "A" / "v1" and recs[0].num_frames == 10 and recs[0].label == 1
    assert recs[0].video_id == "v1" and recs[0].num_flow_frames is None
    (flow, _) = read_list_file(frames, kind="flow")
    assert flow[0].num_flow_frames == 10 and flow[0].num_frames is None
    assert read_list_file(frames, kind=None)[0][0].num_frames == 10  # guessed: three columns -> frames


@pytest.mark.parametrize(
    "kind, line, pattern",
    [
        ("video", "A/v.avi 1 4", r"multi-label lines are not supported \(a rawframes list"),
        ("video", "A/v.avi", r"expected '<video path> <label>'"),
        ("frames", "A/v1 1", r"expected '<frame_dir> <total_frames> <label>'"),
        ("frames", "A/v1 10 1 2", r"multi-label"),
        ("video", "A/v.avi 5", r"label 5 out of range: labels are 0-based, 0\.\.2 \(3 classes\)"),
        ("video", "A/v.avi -1", r"label -1 out of range"),
    ],
)
def test_read_list_file_errors(tmp_path, kind, line, pattern):
    lst = tmp_path / "list.txt"
    lst.write_text(f"A/w.avi 0\n{line}\n" if kind == "video" else f"A/w 3 0\n{line}\n")
    with pytest.raises(AnnotationError, match=pattern) as info:
        read_list_file(lst, kind=kind, label_map=LabelMap(["a", "b", "c"]))
    assert "list.txt:2" in str(info.value)


def test_read_list_file_duplicate_and_classind(tmp_path):
    lst = tmp_path / "list.txt"
    LabelMap(["x", "y"]).to_file(tmp_path / "classInd.txt")
    lst.write_text("a.avi 0\nb.avi 1\n")
    assert read_list_file(lst)[1].names == ("x", "y")  # classInd.txt beside the list is the label map
    lst.write_text("a.avi 0\nb.avi 2\n")
    with pytest.raises(AnnotationError, match=r"label 2 out of range.*list\.txt:2"):
        read_list_file(lst)
    lst.write_text("a.avi 0\n./a.avi 1\n")
    with pytest.raises(AnnotationError, match=r"listed twice \(also line 1\).*list\.txt:2"):
        read_list_file(lst)


def test_read_class_folders(tmp_path):
    root = tmp_path / "clips"
    write_avi(root / "walk" / "w1.mp4")
    write_avi(root / "run" / "r1.AVI")
    write_avi(root / "run" / "sub" / "r2.avi")
    (root / "run" / "notes.txt").write_text("not a video")
    recs, m = read_class_folders(root)
    assert m.names == ("run", "walk")
    assert [(r.path.relative_to(root).as_posix(), r.label) for r in recs] == [
        ("run/r1.AVI", 0), ("run/sub/r2.avi", 0), ("walk/w1.mp4", 1)]
    frames = tmp_path / "frames"
    write_frames(frames / "jump" / "j1", n_img=5, n_flow=4)
    write_frames(frames / "sit" / "s1", n_img=6, n_flow=0)
    recs, m = read_class_folders(frames, kind="frames")
    assert [(r.video_id, r.label, r.num_frames, r.num_flow_frames) for r in recs] == [("j1", 0, 5, 4), ("s1", 1, 6, None)]
    write_avi(root / "stray.avi")
    with pytest.raises(DataError, match="outside any class folder"):
        read_class_folders(root)


def test_class_folders_with_train_test_subsets(tmp_path):
    root = tmp_path / "clips"
    write_avi(root / "train" / "a" / "1.avi")
    write_avi(root / "train" / "b" / "2.avi")
    write_avi(root / "test" / "b" / "3.avi")
    assert detect_layout(root) == "folders"
    test, m = load_annotations(root, subset="test")
    assert m.names == ("a", "b") and [(r.path.name, r.label) for r in test] == [("3.avi", 1)]
    assert available_subsets(root) == ("train", "test")
    with pytest.raises(DataError, match=r"no 'val' folder"):
        load_annotations(root, subset="val")
    write_avi(root / "val" / "a" / "4.avi")
    val, m = load_annotations(root, subset="val")
    assert m.names == ("a", "b") and [(r.path.name, r.label) for r in val] == [("4.avi", 0)]
    assert [r.path.name for r in load_annotations(root, subset="test")[0]] == ["3.avi"]  # test is still test/
    assert available_subsets(root) == ("train", "val", "test")
    with pytest.raises(DataError, match=r"no 'val' folder.*only under val/"):
        load_annotations(root / "train", subset="val")  # an unsplit tree has no val subset


def test_detect_layout_on_each(ucf, hmdb, tmp_path):
    assert detect_layout(ucf) == "ucf101"
    assert detect_layout(ucf / "ucfTrainTestlist") == "ucf101"
    assert detect_layout(ucf / "ucfTrainTestlist" / "trainlist01.txt") == "ucf101"
    assert detect_layout(hmdb) == "hmdb51"
    assert detect_layout(hmdb / "testTrainMulti_7030_splits") == "hmdb51"
    lst = tmp_path / "l.txt"
    lst.write_text("x.avi 0\n")
    assert detect_layout(lst) == "list"
    assert detect_layout(ucf / "UCF-101") == "folders"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("hi")
    with pytest.raises(DataError, match=r"cannot recognise the dataset layout: expected a UCF101 root.*readme\.md"):
        detect_layout(empty)
    with pytest.raises(DataError, match="not found"):
        detect_layout(tmp_path / "nope")


def test_load_annotations_dispatches(ucf, hmdb):
    assert load_annotations(ucf, split=1, subset="test") == read_ucf101(ucf, subset="test")
    assert load_annotations(hmdb, subset="test", kind="hmdb51") == read_hmdb51(hmdb, subset="test")
    recs, m = load_annotations(ucf / "UCF-101")  # a folder per class: folder names are the classes
    assert m.names == tuple(UCF_FOLDERS) and len(recs) == 6


def test_write_read_round_trip_and_build_lists(ucf, tmp_path):
    train, m = read_ucf101(ucf)
    out = write_list_file(train, tmp_path / "lists" / "train.txt", kind="video")
    assert out.read_text().splitlines()[0] == "../ucf101/UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 0"
    back, _ = read_list_file(out, kind="video", label_map=m)
    assert [(r.path.resolve(), r.label) for r in back] == [(r.path.resolve(), r.label) for r in train]
    mm = write_list_file(train, tmp_path / "mm.txt", root=ucf / "UCF-101")  # MMAction2 data_prefix style
    assert mm.read_text().splitlines()[1] == "Basketball/v_Basketball_g02_c01.avi 1"

    written = build_lists(ucf, tmp_path / "built", kind="video", splits=(1,))
    assert [p.name for p in written] == ["classInd.txt", "ucf101_train_split_1_videos.txt", "ucf101_test_split_1_videos.txt"]
    assert detect_layout(tmp_path / "built") == "list"
    again, m2 = load_annotations(tmp_path / "built", split=1, subset="test")
    assert m2 == m and [r.path.resolve() for r in again] == [r.path.resolve() for r in read_ucf101(ucf, subset="test")[0]]
    assert [r.source for r in again] == ["ucf101_test_split_1_videos.txt:1", "ucf101_test_split_1_videos.txt:2",
                                         "ucf101_test_split_1_videos.txt:3"]


def test_build_lists_with_a_val_list(tiny_ucf101, tmp_path, capsys):
    from tsnlib.cli import main

    built = tmp_path / "built"
    written = build_lists(tiny_ucf101, built, kind="video", splits=(1,))
    assert [p.name for p in written] == ["classInd.txt", "ucf101_train_split_1_videos.txt",
                                         "ucf101_val_split_1_videos.txt", "ucf101_test_split_1_videos.txt"]
    assert available_subsets(built) == ("train", "val", "test")
    assert available_subsets(built, split=2) == ("train", "test")
    for subset in ("train", "val", "test"):  # the list kind finds each subset's own list by its name
        recs, _ = load_annotations(built, split=1, subset=subset)
        assert [r.path.resolve() for r in recs] == [r.path.resolve() for r in read_ucf101(tiny_ucf101, 1, subset)[0]]
        assert recs[0].source == f"ucf101_{subset}_split_1_videos.txt:1"
    with pytest.raises(DataError, match=r"no val list for split 2: expected \*_val_split_2_videos\.txt"):
        load_annotations(built, split=2, subset="val")
    n_val = len(read_ucf101(tiny_ucf101, 1, "val")[0])
    assert main(["lists", str(tiny_ucf101), "--out", str(tmp_path / "cli"), "--splits", "1"]) == 0
    assert f"ucf101_val_split_1_videos.txt  ({n_val} lines)" in capsys.readouterr().out


def test_build_lists_frames_counts_from_disk(hmdb, tmp_path):
    raw = tmp_path / "rawframes"
    for cls, names in HMDB_NAMES.items():
        for k, name in enumerate(names):
            write_frames(raw / cls / Path(name).stem, n_img=4 + k, n_flow=3 + k)
    written = build_lists(hmdb, tmp_path / "lists", kind="frames", splits=(1,), frames_root=raw)
    assert [p.name for p in written] == ["classInd.txt", "hmdb51_train_split_1_rawframes.txt", "hmdb51_train_split_1_flow.txt",
                                         "hmdb51_test_split_1_rawframes.txt", "hmdb51_test_split_1_flow.txt"]
    assert written[1].read_text() == (
        "../rawframes/brush_hair/Kids_&_(fun)!_brush_hair_u_nm_np1_fr_goo_0 4 0\n"
        "../rawframes/cartwheel/(Beach)_cartwheel_f_cm_np1_ri_goo_0 4 1\n")
    assert written[2].read_text().split()[1] == "3"  # the flow list holds the flow count
    flow, _ = load_annotations(tmp_path / "lists", subset="train", kind="flow")
    assert [r.num_flow_frames for r in flow] == [3, 3]
    (raw / "cartwheel" / "(Beach)_cartwheel_f_cm_np1_ri_goo_0" / "flow_y_00003.jpg").unlink()
    with pytest.raises(DataError, match=r"3 flow_x but 2 flow_y files.*\(Beach\)_cartwheel_f_cm_np1_ri_goo_0"):
        build_lists(hmdb, tmp_path / "lists2", kind="frames", splits=(1,), frames_root=raw)


def test_cli_lists(ucf, tmp_path, capsys):
    from tsnlib.cli import main

    assert main(["lists", str(ucf), "--out", str(tmp_path / "l"), "--splits", "1"]) == 0
    assert "ucf101_train_split_1_videos.txt  (3 lines)" in capsys.readouterr().out
    assert main(["lists", str(tmp_path / "l"), "--out", str(tmp_path / "m")]) == 1  # a list folder has no splits


def test_one_list_of_video_extensions_everywhere_folders_are_scanned():
    from tsnlib import annotations
    from tsnlib.commands import extract

    assert extract.VIDEO_EXTENSIONS is annotations.VIDEO_EXTENSIONS
    assert annotations.VIDEO_EXTENSIONS == (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
