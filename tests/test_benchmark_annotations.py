"""The benchmark readers on tiny fixtures written here in each benchmark's official format (nothing downloaded).

The file writers (videos, frames, text) live in ``benchmark_fixtures.py``, shared with ``test_presets_zoo.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsnlib.annotations import benchmarks as B
from tsnlib.annotations import (
    LabelMap,
    VideoRecord,
    available_subsets,
    build_lists,
    detect_layout,
    load_annotations,
    read_list_file,
    write_list_file,
)
from tsnlib.checks import check_dataset
from tsnlib.cli import main
from tsnlib.errors import AnnotationError, DataError

from benchmark_fixtures import H, TAXONOMY, W, touch, write, write_jpegs, write_mp4


def rows(records):
    return [(r.path, r.label, r.video_id, r.source, r.start, r.end, r.labels) for r in records]


# ----------------------------------------------------------------------------------------------
# Kinetics
# ----------------------------------------------------------------------------------------------

KINETICS_TRAIN = """label,youtube_id,time_start,time_end,split,is_cc
air drumming,aaaaaaaaaaa,12,22,train,0
abseiling,bbbbbbbbbbb,0.0,10.0,train,0
arm wrestling,ccccccccccc,5,15,train,1
abseiling,ddddddddddd,7,17,train,0
"""


@pytest.fixture
def kinetics(tmp_path):
    root = tmp_path / "kinetics600"
    ann = root / "annotations"
    write(ann / "train.csv", KINETICS_TRAIN)
    write(ann / "validate.csv", "label,youtube_id,time_start,time_end,split\r\narm wrestling,eeeeeeeeeee,30,40,val\r\n"
                                "air drumming,fffffffffff,1,11,val\r\n")
    write(ann / "test.csv", "youtube_id,time_start,time_end,split\nggggggggggg,3,13,test\n")
    touch(root / "videos_train" / "air_drumming" / "aaaaaaaaaaa_000012_000022.mp4")  # MMAction2: spaces -> _
    touch(root / "videos_train" / "abseiling" / "bbbbbbbbbbb_000000_000010.mp4")
    touch(root / "videos_train" / "arm wrestling" / "ccccccccccc_000005_000015.mp4")  # as crawled: spaces kept
    write_mp4(root / "videos_val" / "eeeeeeeeeee.mp4", n=45, fps=1)  # untrimmed: the segment 30..40 s
    touch(root / "videos_val" / "fffffffffff_000001_000011.mp4")
    return root


def test_kinetics_reader(kinetics):
    root = kinetics
    assert detect_layout(root) == "kinetics600" and detect_layout(root / "annotations" / "train.csv") == "kinetics600"
    assert available_subsets(root) == ("train", "val", "test")
    train, labels = B.read_kinetics(root, "train")
    assert labels.names == ("abseiling", "air drumming", "arm wrestling")  # sorted as MMAction2, names as released
    assert rows(train) == [
        (root / "videos_train" / "air_drumming" / "aaaaaaaaaaa_000012_000022.mp4", 1, "aaaaaaaaaaa_000012_000022",
         "train.csv:2", None, None, None),
        (root / "videos_train" / "abseiling" / "bbbbbbbbbbb_000000_000010.mp4", 0, "bbbbbbbbbbb_000000_000010",
         "train.csv:3", None, None, None),
        (root / "videos_train" / "arm wrestling" / "ccccccccccc_000005_000015.mp4", 2, "ccccccccccc_000005_000015",
         "train.csv:4", None, None, None),
        # not downloaded: where it is expected, in its class folder (check-data reports it)
        (root / "videos_train" / "abseiling" / "ddddddddddd_000007_000017.mp4", 0, "ddddddddddd_000007_000017",
         "train.csv:5", None, None, None),
    ]
    val, labels_val = load_annotations(root, subset="val", kind="kinetics600")
    assert labels_val == labels
    assert rows(val) == [
        (root / "videos_val" / "eeeeeeeeeee.mp4", 2, "eeeeeeeeeee_000030_000040", "validate.csv:2", 30.0, 40.0, None),
        (root / "videos_val" / "fffffffffff_000001_000011.mp4", 1, "fffffffffff_000001_000011", "validate.csv:3", None,
         None, None),
    ]
    assert val[0].is_segment and val[0].folder_name == "eeeeeeeeeee" and not val[1].is_segment
    test, _ = B.read_kinetics(root, "test")
    assert [(r.label, r.video_id) for r in test] == [(-1, "ggggggggggg_000003_000013")]


@pytest.mark.parametrize("line, kind, pattern", [
    ("dancing,xxxxxxxxxxx,1,11,val", "unknown-class", r"class 'dancing' is not among the 3 classes of train\.csv"),
    ("abseiling,xxxxxxxxxxx,1,abc,val", "malformed-line", r"segment times are not numbers"),
    ("abseiling,xxxxxxxxxxx,11,1,val", "malformed-line", r"segment \[11, 1\] s is empty"),
    ("abseiling,eeeeeeeeeee,30,40,val", "duplicate", r"clip 'eeeeeeeeeee_000030_000040' appears twice \(also validate\.csv:2\)"),
    ("abseiling,xxxxxxxxxxx", "malformed-line", r"expected 5 columns"),
])
def test_kinetics_errors(kinetics, line, kind, pattern):
    ann = kinetics / "annotations" / "validate.csv"
    ann.write_text(ann.read_text() + line + "\n")
    with pytest.raises(AnnotationError, match=pattern) as info:
        B.read_kinetics(kinetics, "val")
    assert info.value.kind == kind and info.value.source == "validate.csv:4" and info.value.path == ann


def test_kinetics_check_data_and_lists(kinetics, tmp_path, capsys):
    problems = check_dataset(kinetics, decode=False)
    assert [(p.kind, p.path, p.source) for p in problems] == [
        ("missing-file", kinetics / "videos_train" / "abseiling" / "ddddddddddd_000007_000017.mp4", "train.csv:5"),
        ("missing-file", kinetics / "videos_test" / "ggggggggggg_000003_000013.mp4", "test.csv:2")]
    # the untrimmed video has no video-list line (a list has no time window): frames lists instead
    with pytest.raises(DataError, match="segment 30.0-40.0 s of a video: list lines have no time window"), \
            pytest.warns(UserWarning, match="with spaces"):
        build_lists(kinetics, tmp_path / "lists", kind="video", skip_missing=True)
    (kinetics / "videos_val" / "eeeeeeeeeee.mp4").unlink()
    with pytest.warns(UserWarning, match="1 path\\(s\\) with spaces, e.g. '../kinetics600/videos_train/arm wrestling/"):
        written = build_lists(kinetics, tmp_path / "lists", kind="video", skip_missing=True)
    assert [p.name for p in written] == ["classInd.txt", "kinetics600_train_split_1_videos.txt",
                                         "kinetics600_val_split_1_videos.txt"]  # the unlabelled test set: no list
    assert "2 sample(s) left out" in capsys.readouterr().out
    assert (tmp_path / "lists" / "kinetics600_val_split_1_videos.txt").read_text() == \
        "../kinetics600/videos_val/fffffffffff_000001_000011.mp4 1\n"
    back, labels = load_annotations(tmp_path / "lists", subset="val", kind="list")
    assert labels.names == ("abseiling", "air drumming", "arm wrestling") and [r.label for r in back] == [1]


# ----------------------------------------------------------------------------------------------
# Something-Something v1 (frame folders) and v2
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def sthv1(tmp_path):
    root = tmp_path / "sthv1"
    ann = root / "annotations"
    write(ann / "something-something-v1-labels.csv",
          "Holding something\nPushing something from left to right\nPutting something, something and something on the table\n")
    write(ann / "something-something-v1-train.csv",
          "100218;Pushing something from left to right\n100219;Putting something, something and something on the table\n")
    write(ann / "something-something-v1-validation.csv", "100220;Holding something\n")
    write(ann / "something-something-v1-test.csv", "100221\n")
    for vid, n in (("100218", 4), ("100219", 3), ("100220", 5), ("100221", 2)):
        write_jpegs(root / "20bn-something-something-v1" / vid, n)
    return root


def test_sthv1_reader_lists_and_loading(sthv1, tmp_path):
    frames = sthv1 / "20bn-something-something-v1"
    assert detect_layout(sthv1) == "sthv1" and available_subsets(sthv1) == ("train", "val", "test")
    train, labels = B.read_sthv1(sthv1, "train")
    assert labels.names == ("Holding something", "Pushing something from left to right",
                            "Putting something, something and something on the table")
    assert rows(train) == [
        (frames / "100218", 1, "100218", "something-something-v1-train.csv:1", None, None, None),
        (frames / "100219", 2, "100219", "something-something-v1-train.csv:2", None, None, None)]
    assert [(r.video_id, r.label) for r in B.read_sthv1(sthv1, "test")[0]] == [("100221", -1)]
    assert check_dataset(sthv1) == []  # bare 00001.jpg names are frames, numbered from 1

    written = build_lists(sthv1, tmp_path / "lists", kind="frames")
    assert [p.name for p in written] == ["classInd.txt", "sthv1_train_split_1_rawframes.txt",
                                         "sthv1_val_split_1_rawframes.txt"]
    assert (tmp_path / "lists" / "sthv1_train_split_1_rawframes.txt").read_text() == (
        "../sthv1/20bn-something-something-v1/100218 4 1\n../sthv1/20bn-something-something-v1/100219 3 2\n")
    with pytest.raises(DataError, match="distributed as frame folders"):
        build_lists(sthv1, tmp_path / "v", kind="video")

    from tsnlib.datasets import TSNDataset
    from tsnlib.sampling import FrameSampler

    back, _ = load_annotations(tmp_path / "lists", subset="train", kind="list", list_kind="frames")
    item = TSNDataset(back, FrameSampler(2, mode="val"), source="frames")[0]
    assert item["frame_indices"].tolist() == [[1], [3]]
    assert item["imgs"][:, 0, 0, 0].tolist() == [20, 40]  # 00002.jpg and 00004.jpg (grey 10 * i)


def test_sthv1_errors(sthv1):
    ann = sthv1 / "annotations" / "something-something-v1-train.csv"
    ann.write_text(ann.read_text() + "100222;Juggling something\n")
    with pytest.raises(AnnotationError, match=r"class 'Juggling something' is not in something-something-v1-labels\.csv"
                       r".*something-something-v1-train\.csv:3"):
        B.read_sthv1(sthv1, "train")
    ann.write_text("100218;Holding something\n100218\n")
    with pytest.raises(AnnotationError, match=r"expected '<id>;<class name>', got '100218'"):
        B.read_sthv1(sthv1, "train")


@pytest.fixture
def sthv2(tmp_path):
    root = tmp_path / "sthv2"
    labels = {"Holding something next to something": "0", "Pushing something from left to right": "1",
              "Approaching something with your camera": "2"}
    write(root / "labels" / "labels.json", json.dumps(labels))
    write(root / "labels" / "train.json", json.dumps([
        {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
         "template": "Holding [something] next to [something]", "placeholders": ["potato", "vicks vaporub bottle"]},
        {"id": "42326", "label": "pushing a pen from left to right",
         "template": "Pushing [something] from left to right", "placeholders": ["a pen"]}]))
    write(root / "labels" / "validation.json", json.dumps([
        {"id": "74225", "label": "approaching a cup with your camera",
         "template": "Approaching [something] with your camera", "placeholders": ["a cup"]}]))
    write(root / "labels" / "test.json", json.dumps([{"id": "1420"}]))
    touch(root / "20bn-something-something-v2" / "78687.webm")
    touch(root / "20bn-something-something-v2" / "42326.mp4")  # transcoded: found by its name
    return root


def test_sthv2_reader(sthv2):
    videos = sthv2 / "20bn-something-something-v2"
    assert detect_layout(sthv2) == "sthv2" and available_subsets(sthv2) == ("train", "val", "test")
    train, labels = B.read_sthv2(sthv2, "train")
    assert labels.names == ("Holding something next to something", "Pushing something from left to right",
                            "Approaching something with your camera")  # the file's indices, not sorted
    assert rows(train) == [(videos / "78687.webm", 0, "78687", "train.json:entry 1", None, None, None),
                           (videos / "42326.mp4", 1, "42326", "train.json:entry 2", None, None, None)]
    assert [(r.path, r.label) for r in B.read_sthv2(sthv2, "val")[0]] == [(videos / "74225.webm", 2)]
    assert [(r.video_id, r.label) for r in B.read_sthv2(sthv2, "test")[0]] == [("1420", -1)]


def test_sthv2_errors(sthv2):
    ann = sthv2 / "labels" / "validation.json"
    ann.write_text(json.dumps([{"id": "1", "template": "Spinning [something]"}]))
    with pytest.raises(AnnotationError, match=r"template 'Spinning \[something\]' is no class of labels\.json") as info:
        B.read_sthv2(sthv2, "val")
    assert info.value.source == "validation.json:entry 1" and info.value.kind == "unknown-class"
    ann.write_text(json.dumps([{"id": "1", "template": "Holding [something] next to [something]"},
                               {"id": "1", "template": "Holding [something] next to [something]"}]))
    with pytest.raises(AnnotationError, match=r"video id '1' appears twice \(also validation\.json:entry 1\)"):
        B.read_sthv2(sthv2, "val")
    ann.write_text("[{\"id\": 1,}")
    with pytest.raises(AnnotationError, match=r"not valid JSON"):
        B.read_sthv2(sthv2, "val")


# ----------------------------------------------------------------------------------------------
# Diving48
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def diving48(tmp_path):
    root = tmp_path / "diving48"
    ann = root / "annotations"
    write(ann / "Diving48_vocab.json", json.dumps([["Back", "15som", "05Twis", "FREE"], ["Back", "15som", "15Twis", "FREE"],
                                                   ["Forward", "25som", "NoTwis", "PIKE"]]))
    write(ann / "Diving48_V2_train.json", json.dumps([
        {"vid_name": "-mmq0PT-u8k_00155", "label": 2, "start_frame": 0, "end_frame": 59},
        {"vid_name": "_8Vy3dlHg2w_00000", "label": 0, "start_frame": 0, "end_frame": 83}]))
    write(ann / "Diving48_V2_test.json", json.dumps([
        {"vid_name": "zzzzzzzzzzz_00001", "label": 1, "start_frame": 0, "end_frame": 40}]))
    touch(root / "rgb" / "-mmq0PT-u8k_00155.mp4")
    return root


def test_diving48_reader(diving48):
    rgb = diving48 / "rgb"
    assert detect_layout(diving48) == "diving48" and available_subsets(diving48) == ("train", "test")
    train, labels = B.read_diving48(diving48, "train")
    assert labels.names == ("Back 15som 05Twis FREE", "Back 15som 15Twis FREE", "Forward 25som NoTwis PIKE")
    assert rows(train) == [
        (rgb / "-mmq0PT-u8k_00155.mp4", 2, "-mmq0PT-u8k_00155", "Diving48_V2_train.json:entry 1", None, None, None),
        (rgb / "_8Vy3dlHg2w_00000.mp4", 0, "_8Vy3dlHg2w_00000", "Diving48_V2_train.json:entry 2", None, None, None)]
    assert [(r.video_id, r.label) for r in B.read_diving48(diving48, "test")[0]] == [("zzzzzzzzzzz_00001", 1)]
    with pytest.raises(DataError, match="Diving48 has no validation subset"):
        load_annotations(diving48, subset="val")
    ann = diving48 / "annotations" / "Diving48_V2_test.json"
    ann.write_text(json.dumps([{"vid_name": "a", "label": 3, "start_frame": 0, "end_frame": 9}]))
    with pytest.raises(AnnotationError, match=r"label 3 out of range: 3 classes \(0\.\.2\).*Diving48_V2_test\.json:entry 1"):
        B.read_diving48(diving48, "test")
    ann.write_text(json.dumps([{"vid_name": "a", "label": 1, "start_frame": 9, "end_frame": 2}]))
    with pytest.raises(AnnotationError, match=r"frames 9\.\.2 are no segment"):
        B.read_diving48(diving48, "test")


# ----------------------------------------------------------------------------------------------
# Moments in Time and Multi-Moments in Time
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def mit(tmp_path):
    root = tmp_path / "Moments_in_Time_Raw"
    write(root / "moments_categories.txt", "applauding,0\nbarking,1\nyawning,2\n")
    write(root / "trainingSet.csv", "applauding/yt-0Gz8m8p5OKI_1.mp4,applauding,3,0\nyawning/flickr-5-3-2_1.mp4,yawning,2,1\n")
    write(root / "validationSet.csv", "barking/getty-dog-1_2.mp4,barking,4,0\n")
    touch(root / "training" / "applauding" / "yt-0Gz8m8p5OKI_1.mp4")
    touch(root / "training" / "yawning" / "flickr-5-3-2_1.mp4")
    touch(root / "validation" / "barking" / "getty-dog-1_2.mp4")
    return root


def test_mit_reader(mit):
    assert detect_layout(mit) == "mit" and available_subsets(mit) == ("train", "val")
    train, labels = B.read_mit(mit, "train")
    assert labels.names == ("applauding", "barking", "yawning")
    assert rows(train) == [
        (mit / "training" / "applauding" / "yt-0Gz8m8p5OKI_1.mp4", 0, "yt-0Gz8m8p5OKI_1", "trainingSet.csv:1", None,
         None, None),
        (mit / "training" / "yawning" / "flickr-5-3-2_1.mp4", 2, "flickr-5-3-2_1", "trainingSet.csv:2", None, None,
         None)]
    assert [(r.path, r.label) for r in B.read_mit(mit, "val")[0]] == [
        (mit / "validation" / "barking" / "getty-dog-1_2.mp4", 1)]
    with pytest.raises(DataError, match="no labelled test subset"):
        B.read_mit(mit, "test")
    (mit / "validationSet.csv").write_text("barking/getty-dog-1_2.mp4,yawning,4,0\n")
    with pytest.raises(AnnotationError, match=r"class 'yawning' does not match the folder 'barking'.*validationSet\.csv:1"):
        B.read_mit(mit, "val")
    (mit / "moments_categories.txt").write_text("applauding,0\nbarking,2\n")
    with pytest.raises(AnnotationError, match=r"class indices must be 0\.\.1; missing \[1\]"):
        B.read_mit(mit, "val")


@pytest.fixture
def mmit(tmp_path):
    root = tmp_path / "mmit"
    write(root / "annotations" / "moments_categories.txt", "adult+female+singing,0\nbarking,1\nclapping,2\n")
    write(root / "annotations" / "trainingSet.csv",
          "adult+female+singing/0-3-6-2-9-1-2-6-14603629126_5.mp4,0,2\nbarking/yt-zxQfALnTdfc_56.mp4,1\n")
    write(root / "annotations" / "validationSet.csv", "clapping/yt-abc_3.mp4,2,0,1\n")
    for rel in ("adult+female+singing/0-3-6-2-9-1-2-6-14603629126_5.mp4", "barking/yt-zxQfALnTdfc_56.mp4",
                "clapping/yt-abc_3.mp4"):
        touch(root / "videos" / rel)
    return root


def test_mmit_reader_and_multi_label_lists(mmit, tmp_path):
    videos = mmit / "videos"
    assert detect_layout(mmit) == "mmit" and available_subsets(mmit) == ("train", "val")
    train, labels = B.read_mmit(mmit, "train")
    assert labels.names == ("adult+female+singing", "barking", "clapping")
    assert rows(train) == [
        (videos / "adult+female+singing" / "0-3-6-2-9-1-2-6-14603629126_5.mp4", 0, "0-3-6-2-9-1-2-6-14603629126_5",
         "trainingSet.csv:1", None, None, (0, 2)),
        (videos / "barking" / "yt-zxQfALnTdfc_56.mp4", 1, "yt-zxQfALnTdfc_56", "trainingSet.csv:2", None, None, (1,))]

    written = build_lists(mmit, tmp_path / "lists", kind="video", relative_to=videos)
    assert [p.name for p in written] == ["classInd.txt", "mmit_train_split_1_videos.txt", "mmit_val_split_1_videos.txt"]
    assert (tmp_path / "lists" / "mmit_train_split_1_videos.txt").read_text() == (
        "adult+female+singing/0-3-6-2-9-1-2-6-14603629126_5.mp4 0 2\nbarking/yt-zxQfALnTdfc_56.mp4 1\n")
    assert (tmp_path / "lists" / "mmit_val_split_1_videos.txt").read_text() == "clapping/yt-abc_3.mp4 2 0 1\n"
    # read back: the name says multi-label; the labels come back as written
    back, back_labels = read_list_file(tmp_path / "lists" / "mmit_val_split_1_videos.txt", data_prefix=videos)
    assert back_labels == labels
    assert [(r.path, r.label, r.labels) for r in back] == [(videos / "clapping" / "yt-abc_3.mp4", 2, (2, 0, 1))]
    loaded, _ = load_annotations(tmp_path / "lists", subset="train", kind="list", data_prefix=videos)
    assert [r.labels for r in loaded] == [(0, 2), (1,)]


@pytest.mark.parametrize("line, pattern", [
    ("clapping/x.mp4", r"empty label set: clapping/x\.mp4 has no class index"),
    ("clapping/x.mp4,2,3", r"class index 3 is not in moments_categories\.txt \(0\.\.2\)"),
    ("clapping/x.mp4,2,2", r"a class index appears twice in \[2, 2\]"),
    ("clapping/x.mp4,two", r"class indices must be numbers"),
    ("clapping/yt-abc_3.mp4,1", r"video 'clapping/yt-abc_3\.mp4' appears twice \(also validationSet\.csv:1\)"),
])
def test_mmit_errors(mmit, line, pattern):
    ann = mmit / "annotations" / "validationSet.csv"
    ann.write_text(ann.read_text() + line + "\n")
    with pytest.raises(AnnotationError, match=pattern) as info:
        B.read_mmit(mmit, "val")
    assert info.value.source == "validationSet.csv:2"


# ----------------------------------------------------------------------------------------------
# ActivityNet: segments of untrimmed videos
# ----------------------------------------------------------------------------------------------



def anet_database():
    return {
        "aaaaaaaaaaa": {"subset": "training", "duration": 10.0, "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa",
                        "annotations": [{"segment": [1.0, 3.1], "label": "Long jump"},
                                        {"segment": [6.0, 10.4], "label": "Long jump"}]},
        "bbbbbbbbbbb": {"subset": "training", "duration": 5.0,
                        "annotations": [{"segment": [0.5, 2.0], "label": "Washing dishes"}]},
        "ccccccccccc": {"subset": "validation", "duration": 5.0,
                        "annotations": [{"segment": [2.0, 4.0], "label": "Discus throw"}]},
        "ddddddddddd": {"subset": "testing", "duration": 8.0, "annotations": []},
    }


@pytest.fixture
def activitynet(tmp_path):
    root = tmp_path / "ActivityNet"
    write(root / "annotations" / "activity_net.v1-3.min.json",
          json.dumps({"version": "VERSION 1.3", "taxonomy": TAXONOMY, "database": anet_database()}))
    write_mp4(root / "videos" / "v_aaaaaaaaaaa.mp4", n=100, fps=10)
    write_mp4(root / "videos" / "v_bbbbbbbbbbb.mp4", n=50, fps=10)
    write_mp4(root / "videos" / "v_ccccccccccc.mp4", n=50, fps=10)
    return root


def test_activitynet_clip_and_video_levels(activitynet):
    v = activitynet / "videos"
    src = "activity_net.v1-3.min.json"
    assert detect_layout(activitynet) == "activitynet" and available_subsets(activitynet) == ("train", "val", "test")
    clips, labels = B.read_activitynet(activitynet, "train")
    assert labels.names == ("Discus throw", "Long jump", "Washing dishes")  # the taxonomy's leaves, sorted
    assert rows(clips) == [
        (v / "v_aaaaaaaaaaa.mp4", 1, "v_aaaaaaaaaaa#0", f"{src}:aaaaaaaaaaa, segment 1", 1.0, 3.1, None),
        (v / "v_aaaaaaaaaaa.mp4", 1, "v_aaaaaaaaaaa#1", f"{src}:aaaaaaaaaaa, segment 2", 6.0, 10.0, None),  # clipped
        (v / "v_bbbbbbbbbbb.mp4", 2, "v_bbbbbbbbbbb#0", f"{src}:bbbbbbbbbbb, segment 1", 0.5, 2.0, None)]
    videos, _ = load_annotations(activitynet, subset="train", kind="activitynet", activitynet_level="video")
    assert rows(videos) == [(v / "v_aaaaaaaaaaa.mp4", 1, "v_aaaaaaaaaaa", f"{src}:aaaaaaaaaaa", None, None, None),
                            (v / "v_bbbbbbbbbbb.mp4", 2, "v_bbbbbbbbbbb", f"{src}:bbbbbbbbbbb", None, None, None)]
    test, _ = B.read_activitynet(activitynet, "test", level="video")
    assert [(r.path, r.label) for r in test] == [(v / "v_ddddddddddd.mp4", -1)]  # not downloaded: expected place
    assert B.read_activitynet(activitynet, "test")[0] == []  # no segments to read at clip level


@pytest.mark.parametrize("segment, label, kind, pattern", [
    ([5.0, 7.0], "Long jump", "bad-segment", r"segment \[5, 7\] s starts after the video's end \(5 s\)"),
    ([2.0, 2.0], "Long jump", "bad-segment", r"segment \[2, 2\] s is empty or starts before 0"),
    ([-1.0, 2.0], "Long jump", "bad-segment", r"segment \[-1, 2\] s is empty or starts before 0"),
    (["a", 2.0], "Long jump", "bad-segment", r"segment times are not numbers"),
    ([1.0, 2.0], "Cooking", "unknown-class", r"label 'Cooking' is not an ActivityNet class"),
])
def test_activitynet_errors(activitynet, segment, label, kind, pattern):
    ann = activitynet / "annotations" / "activity_net.v1-3.min.json"
    data = json.loads(ann.read_text())
    data["database"]["ccccccccccc"]["annotations"].append({"segment": segment, "label": label})
    ann.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=pattern) as info:
        B.read_activitynet(activitynet, "val")
    assert info.value.kind == kind and info.value.source == "activity_net.v1-3.min.json:ccccccccccc, segment 2"
    data["database"]["ccccccccccc"]["annotations"] = []
    ann.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match="video ccccccccccc of the validation subset has no labelled segment"):
        B.read_activitynet(activitynet, "val", level="video")


def test_activitynet_segments_are_sampled_inside(activitynet):
    from tsnlib.datasets import TSNDataset
    from tsnlib.sampling import FrameSampler, segment_frames

    assert segment_frames(1.0, 3.1, 10.0, 100) == (10, 22)  # frames 10..31
    assert segment_frames(6.0, 10.0, 10.0, 100) == (60, 40)  # the end is the last frame, 99
    with pytest.raises(ValueError, match="outside the video"):
        segment_frames(12.0, 13.0, 10.0, 100)
    clips, _ = B.read_activitynet(activitynet, "train")
    ds = TSNDataset(clips, FrameSampler(4, mode="test"), source="video")
    assert ds[0]["frame_indices"].ravel().tolist() == [12, 18, 23, 29]  # 10 + test indices of 22 frames
    assert ds[1]["frame_indices"].ravel().tolist() == [65, 75, 85, 95]
    assert ds[0]["imgs"].shape == (4, 3, H, W)
    # frame k of the fixture is grey 20 * k (MPEG-4: within a few levels)
    assert np.abs(ds[0]["imgs"][:, 0, 10, 10].numpy().astype(int) - [(20 * k) % 256 for k in (12, 18, 23, 29)]).max() <= 6
    bad = VideoRecord(path=clips[2].path, label=0, start=7.0, end=9.0)  # past the 5 s video
    with pytest.raises(DataError, match="cannot read the segment: segment \\[7.0, 9.0\\] s lies outside"):
        TSNDataset([bad], FrameSampler(1, mode="val"), source="video")[0]


def test_activitynet_check_data_frames_and_offset_lists(activitynet, tmp_path):
    from tsnlib.datasets import TSNDataset
    from tsnlib.frame_folders import extract_dataset_frames
    from tsnlib.sampling import FrameSampler

    assert check_dataset(activitynet) == []
    ann = activitynet / "annotations" / "activity_net.v1-3.min.json"
    data = json.loads(ann.read_text())
    data["database"]["bbbbbbbbbbb"]["duration"] = 9.0  # the annotation says 9 s, the file has 5 s of frames
    data["database"]["bbbbbbbbbbb"]["annotations"][0]["segment"] = [6.0, 8.0]
    ann.write_text(json.dumps(data))
    problems = check_dataset(activitynet)
    assert [(p.kind, p.path.name) for p in problems] == [("bad-segment", "v_bbbbbbbbbbb.mp4")]
    assert "outside the video's 50 frames at 10 fps" in problems[0].message
    ann.write_text(json.dumps({"taxonomy": TAXONOMY, "database": anet_database()}))

    # frames of each whole video once, then lists whose lines place each segment in its video's folder
    frames = tmp_path / "rawframes"
    records = [r for s in ("train", "val") for r in load_annotations(activitynet, subset=s)[0]]
    extract_dataset_frames({r.path: r for r in records}.values(), frames, workers=0, progress=False)
    assert sorted(p.name for p in (frames / "videos").iterdir()) == ["v_aaaaaaaaaaa", "v_bbbbbbbbbbb", "v_ccccccccccc"]
    written = build_lists(activitynet, tmp_path / "lists", kind="frames", frames_root=frames)
    assert [p.name for p in written] == ["classInd.txt", "activitynet_clip_train_split_1_rawframes.txt",
                                         "activitynet_clip_val_split_1_rawframes.txt"]
    # fps = 100 frames / 10 s: [1, 3.1] s -> frames 10..31; [6, 10] s -> 60..99; [0.5, 2] s at 50 / 5 s -> 5..20
    assert (tmp_path / "lists" / "activitynet_clip_train_split_1_rawframes.txt").read_text() == (
        "../rawframes/videos/v_aaaaaaaaaaa 10 22 1\n../rawframes/videos/v_aaaaaaaaaaa 60 40 1\n"
        "../rawframes/videos/v_bbbbbbbbbbb 5 16 2\n")
    back, labels = load_annotations(tmp_path / "lists", subset="train", kind="list", list_kind="frames")
    assert labels.names == ("Discus throw", "Long jump", "Washing dishes")
    assert [(r.path.name, r.offset, r.num_frames, r.video_id) for r in back] == [
        ("v_aaaaaaaaaaa", 10, 22, "v_aaaaaaaaaaa#10"), ("v_aaaaaaaaaaa", 60, 40, "v_aaaaaaaaaaa#60"),
        ("v_bbbbbbbbbbb", 5, 16, "v_bbbbbbbbbbb#5")]
    item = TSNDataset(back, FrameSampler(4, mode="test"), source="frames")[1]
    assert item["frame_indices"].ravel().tolist() == [65, 75, 85, 95]  # the same frames as from the video
    assert check_dataset(tmp_path / "lists") == []
    video_level = build_lists(activitynet, tmp_path / "vl", kind="frames", frames_root=frames, activitynet_level="video")
    assert video_level[1].name == "activitynet_video_train_split_1_rawframes.txt"
    assert video_level[1].read_text() == "../rawframes/videos/v_aaaaaaaaaaa 100 1\n../rawframes/videos/v_bbbbbbbbbbb 50 2\n"
    with pytest.raises(DataError, match="list lines have no time window"):
        build_lists(activitynet, tmp_path / "v", kind="video")


# ----------------------------------------------------------------------------------------------
# HVU: multi-label tags in six categories
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def hvu(tmp_path):
    root = tmp_path / "hvu"
    ann = root / "annotations"
    write(ann / "hvu_categories.csv", "Tag,Category\nrunning,action\njumping,action\nbeach,scene\nball,object\n"
                                      "sports,concept\n")
    write(ann / "hvu_train.csv", "Tags,youtube_id,time_start,time_end\n"
                                 "running|beach|ball,OLpWTpTC4P8,57,67\n"
                                 "beach|sports,xsPKW4tZZBc,233,243\n"
                                 "jumping|running,yyyyyyyyyyy,1.5,11.5\n")
    write(ann / "hvu_val.csv", "Tags,youtube_id,time_start,time_end\nball,zzzzzzzzzzz,0,10\n")
    touch(root / "videos_train" / "OLpWTpTC4P8_000570_000670.mp4")  # MMAction2's names: tenths of a second
    touch(root / "videos_train" / "xsPKW4tZZBc_002330_002430.mp4")
    touch(root / "videos_train" / "yyyyyyyyyyy.mp4")  # untrimmed
    return root


def test_hvu_reader_categories(hvu):
    v = hvu / "videos_train"
    assert detect_layout(hvu) == "hvu" and available_subsets(hvu) == ("train", "val")
    action, labels = B.read_hvu(hvu, "train")
    assert labels.names == ("jumping", "running")
    assert rows(action) == [
        (v / "OLpWTpTC4P8_000570_000670.mp4", 1, "OLpWTpTC4P8_000570_000670", "hvu_train.csv:2", None, None, (1,)),
        # no action tag in row 3: not a sample of the action labels
        (v / "yyyyyyyyyyy.mp4", 0, "yyyyyyyyyyy_000015_000115", "hvu_train.csv:4", 1.5, 11.5, (0, 1))]
    every, all_labels = load_annotations(hvu, subset="train", kind="hvu", hvu_category="all")
    assert all_labels.names == ("jumping", "running", "sports", "ball", "beach")  # action, attribute, concept, ...
    assert [r.labels for r in every] == [(1, 3, 4), (2, 4), (0, 1)]
    scene, scene_labels = B.read_hvu(hvu, "train", category="scene")
    assert scene_labels.names == ("beach",) and [r.video_id for r in scene] == [
        "OLpWTpTC4P8_000570_000670", "xsPKW4tZZBc_002330_002430"]
    assert B.read_hvu(hvu, "val", category="event") == ([], LabelMap([]))


@pytest.mark.parametrize("line, kind, pattern", [
    (",aaaaaaaaaaa,0,10", "malformed-line", r"empty tag set: clip aaaaaaaaaaa has no tag"),
    ("running|surfing,aaaaaaaaaaa,0,10", "unknown-class", r"tag\(s\) 'surfing' not in hvu_categories\.csv"),
    ("ball,zzzzzzzzzzz,0,10", "duplicate", r"clip 'zzzzzzzzzzz_000000_000100' appears twice \(also hvu_val\.csv:2\)"),
])
def test_hvu_errors(hvu, line, kind, pattern):
    ann = hvu / "annotations" / "hvu_val.csv"
    ann.write_text(ann.read_text() + line + "\n")
    with pytest.raises(AnnotationError, match=pattern) as info:
        B.read_hvu(hvu, "val", category="object")
    assert info.value.kind == kind and info.value.source == "hvu_val.csv:3"


def test_hvu_lists_per_category(hvu, tmp_path):
    (hvu / "videos_train" / "yyyyyyyyyyy.mp4").unlink()  # an untrimmed video has no video-list line
    written = build_lists(hvu, tmp_path / "lists", kind="video", hvu_category="all", skip_missing=True,
                          relative_to=hvu / "videos_train")
    assert [p.name for p in written] == ["classInd.txt", "hvu_all_train_split_1_videos.txt"]
    assert written[1].read_text() == "OLpWTpTC4P8_000570_000670.mp4 1 3 4\nxsPKW4tZZBc_002330_002430.mp4 2 4\n"
    assert LabelMap.from_file(written[0]).names == ("jumping", "running", "sports", "ball", "beach")
    back, _ = read_list_file(written[1], data_prefix=hvu / "videos_train")
    assert [(r.label, r.labels) for r in back] == [(1, (1, 3, 4)), (2, (2, 4))]


# ----------------------------------------------------------------------------------------------
# Lists: multi-label and offset lines
# ----------------------------------------------------------------------------------------------


def test_list_files_multi_label_and_offsets(tmp_path):
    folder = write_jpegs(tmp_path / "raw" / "v1", 6, "img_{:05d}.jpg")
    recs = [VideoRecord(folder, 2, num_frames=3, offset=1, labels=(2, 0)),
            VideoRecord(folder, 1, num_frames=2, offset=4, labels=(1,))]
    out = write_list_file(recs, tmp_path / "raw" / "x_clip_rawframes.txt", kind="frames")
    assert out.read_text() == "v1 1 3 2 0\nv1 4 2 1\n"
    back, labels = read_list_file(out, kind="frames", multi_label=True)  # "clip" in the name: offsets
    assert [(r.offset, r.num_frames, r.label, r.labels, r.video_id) for r in back] == [
        (1, 3, 2, (2, 0), "v1#1"), (4, 2, 1, (1,), "v1#4")]
    assert labels.names == ("0", "1", "2")
    with pytest.raises(AnnotationError, match="multi-label lines are not supported"):
        read_list_file(out, kind="frames", with_offset=True)
    with pytest.raises(DataError, match="video lists have no offsets"):
        write_list_file(recs, tmp_path / "v.txt", kind="video")
    with pytest.raises(DataError, match="has no label"):
        write_list_file([VideoRecord(folder, -1, num_frames=3, labels=())], tmp_path / "e.txt", kind="frames")
    (tmp_path / "raw" / "y_clip.txt").write_text("v1 -1 3 0\n")
    with pytest.raises(AnnotationError, match="the offset must be >= 0"):
        read_list_file(tmp_path / "raw" / "y_clip.txt", kind="frames")


def test_check_data_command_on_a_benchmark(mmit, capsys):
    ann = mmit / "annotations" / "trainingSet.csv"
    ann.write_text(ann.read_text() + "clapping/new.mp4\nclapping/other.mp4,7\n")
    assert main(["check-data", str(mmit), "--no-decode"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        f"{ann} (trainingSet.csv:3): malformed-line: empty label set: clapping/new.mp4 has no class index",
        f"{ann} (trainingSet.csv:4): unknown-class: class index 7 is not in moments_categories.txt (0..2)"]
    assert out[-1].startswith("2 problems in 1 file (2 errors, 0 warnings); 3 files checked")
    assert main(["lists", str(mmit), "--out", str(mmit / "lists")]) == 1
    assert "trainingSet.csv:3" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# Frame extraction at the presets' resolutions, with a settings stamp
# ----------------------------------------------------------------------------------------------


def test_parse_size_and_settings():
    from tsnlib.frame_folders import extraction_settings, parse_size, resized_size
    from tsnlib.errors import UsageError

    assert parse_size("340x256") == parse_size(["340", "256"]) == parse_size((340, 256)) == (340, 256)
    assert parse_size(None) is None
    for bad in ("340", "340x", "0x256", ["a", "b"]):
        with pytest.raises(UsageError):
            parse_size(bad)
    assert extraction_settings(320) == {"short_side": 320, "size": None}
    assert extraction_settings(None, "340x256", quality=95) == {"short_side": None, "size": [340, 256], "quality": 95}
    with pytest.raises(UsageError, match="not both"):
        extraction_settings(256, "340x256")
    # the presets' resolutions on a 640x480 and a 480x640 (portrait) video
    assert resized_size(480, 640, short_side=256) == (256, 341)
    assert resized_size(480, 640, short_side=320) == (320, 427)
    assert resized_size(640, 480, short_side=320) == (427, 320)
    assert resized_size(480, 640, size=(340, 256)) == (256, 340)


def test_frames_command_resizes_and_stamps(tmp_path, capsys):
    videos = tmp_path / "videos"
    write_mp4(videos / "Wave" / "a.mp4", n=4)
    out = tmp_path / "frames"
    assert main(["frames", str(videos), "--out", str(out), "--size", "34x26", "--workers", "0"]) == 0
    assert cv2.imread(str(out / "Wave" / "a" / "img_00001.jpg")).shape == (26, 34, 3)
    assert json.loads((out / "frames.json").read_text()) == {"short_side": None, "size": [34, 26], "quality": 95}
    # another size into the same folder is refused, naming the change; --no-resume redoes everything
    assert main(["frames", str(videos), "--out", str(out), "--short-side", "32", "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "short_side: None there, 32 asked, size: [34, 26] there, None asked" in err and "--no-resume" in err
    assert main(["frames", str(videos), "--out", str(out), "--short-side", "32", "--workers", "0", "--no-resume"]) == 0
    assert cv2.imread(str(out / "Wave" / "a" / "img_00001.jpg")).shape == (32, 43, 3)
    assert json.loads((out / "frames.json").read_text())["short_side"] == 32
    assert main(["frames", str(videos), "--out", str(out), "--short-side", "32", "--size", "34x26"]) == 1
    assert "not both" in capsys.readouterr().err


def test_flow_extraction_resizes_and_stamps(tmp_path):
    from tsnlib.flow import FLOW_STAMP, extract_dataset_flow

    video = write_mp4(tmp_path / "v" / "Wave" / "a.mp4", n=3)
    out = tmp_path / "flow"
    records, failures = extract_dataset_flow([video], out, workers=0, progress=False, size=(34, 26))
    assert failures == [] and (records[0].num_frames, records[0].num_flow_frames) == (3, 2)
    assert cv2.imread(str(out / "Wave" / "a" / "flow_x_00001.jpg"), cv2.IMREAD_GRAYSCALE).shape == (26, 34)
    stamp = json.loads((out / FLOW_STAMP).read_text())
    assert (stamp["size"], stamp["short_side"], stamp["method"], stamp["bound"]) == ([34, 26], None, "dis", 20.0)
    with pytest.raises(DataError, match=r"size: \[34, 26\] there, \[40, 30\] asked"):
        extract_dataset_flow([video], out, workers=0, progress=False, size=(40, 30))
    extract_dataset_flow([video], out, workers=0, progress=False, size=(40, 30), resume=False)
    assert cv2.imread(str(out / "Wave" / "a" / "img_00001.jpg")).shape == (30, 40, 3)


def test_config_keys_of_the_benchmarks():
    from tsnlib.config import ConfigError, load_config

    cfg = load_config("tsn_r8_synthetic_rgb", ["data.dataset=hvu", "data.hvu_category=scene",
                                               "data.activitynet_level=video"])
    assert (cfg["data"]["dataset"], cfg["data"]["hvu_category"], cfg["data"]["activitynet_level"]) == (
        "hvu", "scene", "video")
    assert load_config("tsn_r8_synthetic_rgb")["data"]["activitynet_level"] == "clip"
    assert load_config("tsn_r8_synthetic_rgb")["data"]["hvu_category"] == "action"
    for layout in B.BENCHMARK_LAYOUTS:
        assert load_config("tsn_r8_synthetic_rgb", [f"data.dataset={layout}"])["data"]["dataset"] == layout
    with pytest.raises(ConfigError, match="data.activitynet_level must be one of"):
        load_config("tsn_r8_synthetic_rgb", ["data.activitynet_level=segment"])


def test_kinetics_frame_lists_with_an_untrimmed_video_read_back(tmp_path):
    """A Kinetics clip kept in its whole video gets an offset line; the list is named 'clip' so it reads back."""
    from benchmark_fixtures import make_kinetics
    from tsnlib.frame_folders import extract_dataset_frames

    root = tmp_path / "kinetics400"
    make_kinetics(root)
    frames = tmp_path / "rawframes"
    records = [r for s in ("train", "val") for r in load_annotations(root, subset=s)[0]]
    extract_dataset_frames({r.path: r for r in records}.values(), frames, workers=0, progress=False)
    written = build_lists(root, tmp_path / "lists", kind="frames", frames_root=frames)
    # train holds the untrimmed video's segment: offset lines, 'clip' in the name; val is all trimmed clips
    assert [p.name for p in written] == ["classInd.txt", "kinetics400_clip_train_split_1_rawframes.txt",
                                         "kinetics400_val_split_1_rawframes.txt"]
    train_list = (tmp_path / "lists" / "kinetics400_clip_train_split_1_rawframes.txt").read_text().splitlines()
    assert train_list[-1] == "../rawframes/videos_train/untrimmed01 10 11 0"  # 2..4 s at 5 fps: frames 10..20
    assert train_list[0] == "../rawframes/air_drumming/tr000000000_000000_000010 0 12 1"
    back, labels = load_annotations(tmp_path / "lists", subset="train", kind="list", list_kind="frames")
    assert labels.names == ("abseiling", "air drumming", "arm wrestling") and len(back) == 7
    assert (back[-1].path.name, back[-1].offset, back[-1].num_frames, back[-1].label) == ("untrimmed01", 10, 11, 0)
    assert all(r.offset == 0 for r in back[:-1])
