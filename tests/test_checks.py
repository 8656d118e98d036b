"""check_dataset: every problem of a broken dataset reported once, in one call; the check-data CLI."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tsnlib.annotations import build_lists
from tsnlib.checks import Problem, check_dataset, check_frame_folder, check_video, format_problems
from tsnlib.cli import main
from tsnlib.errors import DataError

# the tiny UCF101/HMDB51 trees of test_annotations.py, loaded by path (the tests folder is no package)
_spec = importlib.util.spec_from_file_location("_annotation_trees", Path(__file__).with_name("test_annotations.py"))
_trees = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_trees)
HMDB_NAMES, make_hmdb51, make_ucf101 = _trees.HMDB_NAMES, _trees.make_hmdb51, _trees.make_ucf101
write_avi, write_frames = _trees.write_avi, _trees.write_frames


def kinds_by_name(problems: list[Problem]) -> dict[tuple[str, str], int]:
    """``{(file name, kind): count}``."""
    out: dict[tuple[str, str], int] = {}
    for p in problems:
        key = (Path(p.path).name, p.kind)
        out[key] = out.get(key, 0) + 1
    return out


@pytest.fixture()
def ucf(tmp_path):
    return make_ucf101(tmp_path / "ucf101")


@pytest.fixture()
def lists_dataset(ucf, tmp_path):
    """A folder of lists (build_lists output): videos lists and rawframes lists of the UCF tree."""
    raw = ucf / "rawframes"
    for v in sorted((ucf / "UCF-101").rglob("*.avi")):
        write_frames(raw / v.parent.name / v.stem, n_img=10, n_flow=9)
    out = tmp_path / "lists"
    build_lists(ucf, out, kind="video", splits=(1,))
    build_lists(ucf, out, kind="frames", splits=(1,))
    return out


def test_clean_trees_have_no_problems(ucf, lists_dataset, tmp_path):
    assert check_dataset(ucf) == []
    assert check_dataset(lists_dataset) == []
    hmdb = make_hmdb51(tmp_path / "hmdb51")
    assert check_dataset(hmdb) == []  # names with & ( ) ! # ' and tag-0 videos are fine
    assert check_dataset(ucf / "UCF-101", workers=2) == []  # a folder per class
    write_avi(ucf / "UCF-101" / "stray.avi")  # in no class folder: no label
    assert [(p.path.name, p.kind, p.severity) for p in check_dataset(ucf / "UCF-101")] == [
        ("stray.avi", "unlisted", "warning")]


def test_broken_list_dataset_every_problem_once(ucf, lists_dataset):
    videos = ucf / "UCF-101"
    deleted = videos / "Basketball" / "v_Basketball_g01_c01.avi"
    truncated = videos / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g02_c01.avi"
    emptied = videos / "HandstandPushups" / "v_HandstandPushups_g01_c01.avi"
    deleted.unlink()
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    emptied.write_bytes(b"")
    train_list = lists_dataset / "ucf101_train_split_1_videos.txt"
    with open(train_list, "a") as f:
        f.write("UCF-101/Basketball/v_new.avi\n")  # no label
    test_list = lists_dataset / "ucf101_test_split_1_videos.txt"
    lines = test_list.read_text().splitlines()
    lines[0] = lines[0].rsplit(" ", 1)[0] + " 7"  # mislabel: 3 classes in classInd.txt
    test_list.write_text("\n".join(lines) + "\n")
    gap = ucf / "rawframes" / "Basketball" / "v_Basketball_g02_c01"
    (gap / "img_00005.jpg").unlink()

    problems = check_dataset(lists_dataset)
    assert kinds_by_name(problems) == {
        ("v_Basketball_g01_c01.avi", "missing-file"): 1,
        ("v_ApplyEyeMakeup_g02_c01.avi", "truncated"): 1,
        ("v_HandstandPushups_g01_c01.avi", "zero-frames"): 1,
        ("ucf101_train_split_1_videos.txt", "malformed-line"): 1,
        ("ucf101_test_split_1_videos.txt", "bad-label"): 1,
        ("v_Basketball_g02_c01", "missing-frame"): 1,
    }
    by_kind = {p.kind: p for p in problems}
    assert by_kind["malformed-line"].source == "ucf101_train_split_1_videos.txt:4"
    assert by_kind["bad-label"].source == "ucf101_test_split_1_videos.txt:1"
    assert "label 7 out of range" in by_kind["bad-label"].message
    assert by_kind["missing-file"].source == "ucf101_test_split_1_videos.txt:2"
    assert by_kind["missing-frame"].path == gap and "img_00005.jpg" in by_kind["missing-frame"].message
    assert by_kind["missing-frame"].source == "ucf101_train_split_1_rawframes.txt:2"
    report = format_problems(problems)
    assert len(report.splitlines()) == 6
    assert f"{truncated} (ucf101_train_split_1_videos.txt:1): truncated: " in report


def test_broken_ucf101_root_in_one_call(ucf):
    videos = ucf / "UCF-101"
    (videos / "Basketball" / "v_Basketball_g02_c01.avi").unlink()
    truncated = videos / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    write_avi(videos / "Basketball" / "v_Basketball_g09_c01.avi")  # on disk, in no list
    ann = ucf / "ucfTrainTestlist"
    (ann / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 2\n"  # mislabel: folder says 1
        "Basketball/v_Basketball_g02_c01.avi 2\n"
        "Diving/v_Diving_g01_c01.avi 3\n"
        "just some words\n"
        "Basketball/v_Basketball_g02_c01.avi 2\n"
        "HandstandPushups/v_HandstandPushups_g02_c01.avi 3\n")
    problems = check_dataset(ucf)
    got = [(Path(p.path).name, p.source, p.kind) for p in problems]
    assert got == [
        ("trainlist01.txt", "trainlist01.txt:1", "bad-label"),
        ("trainlist01.txt", "trainlist01.txt:3", "unknown-class"),
        ("trainlist01.txt", "trainlist01.txt:4", "malformed-line"),
        ("trainlist01.txt", "trainlist01.txt:5", "duplicate"),
        ("v_Basketball_g02_c01.avi", "trainlist01.txt:2", "missing-file"),
        ("v_ApplyEyeMakeup_g01_c01.avi", "testlist01.txt:1", "truncated"),
        # listed only on the mislabelled line (reported above), so on disk but referenced by no valid line
        ("v_ApplyEyeMakeup_g02_c01.avi", None, "unlisted"),
        ("v_Basketball_g09_c01.avi", None, "unlisted"),
    ]
    assert [p.severity for p in problems].count("warning") == 2
    # split=1 alone, and without decoding: the truncated file is not opened
    fast = check_dataset(ucf, split=1, decode=False)
    assert "truncated" not in {p.kind for p in fast} and "missing-file" in {p.kind for p in fast}


def test_hmdb51_problems(tmp_path):
    hmdb = make_hmdb51(tmp_path / "hmdb51")
    d = hmdb / "testTrainMulti_7030_splits"
    names = HMDB_NAMES["cartwheel"]
    (d / "cartwheel_test_split2.txt").write_text(f"{names[0]} 1 \n{names[1]} 9 \n{names[2]}\n")
    (hmdb / "hmdb51_org" / "brush_hair" / HMDB_NAMES["brush_hair"][1]).unlink()
    problems = check_dataset(hmdb)
    got = [(Path(p.path).name, p.source, p.kind) for p in problems]
    assert got == [
        ("cartwheel_test_split2.txt", "cartwheel_test_split2.txt:2", "malformed-line"),
        ("cartwheel_test_split2.txt", "cartwheel_test_split2.txt:3", "malformed-line"),
        (HMDB_NAMES["brush_hair"][1], "brush_hair_test_split1.txt:2", "missing-file"),
    ]


def test_single_file_checks(tmp_path):
    v = write_avi(tmp_path / "a.avi", n=10)
    assert check_video(v) == []
    (tmp_path / "z.avi").write_bytes(b"")
    assert check_video(tmp_path / "z.avi") == [("zero-frames", "empty file (0 bytes)")]
    (tmp_path / "t.avi").write_bytes(b"RIFF not really a video" * 10)
    assert check_video(tmp_path / "t.avi")[0][0] == "unreadable-video"
    assert check_video(tmp_path / "missing.avi") == [("missing-file", "video file not found")]

    f = write_frames(tmp_path / "f0", n_img=6, n_flow=5, start=0)  # denseflow numbering from 0
    assert check_frame_folder(f, num_frames=6, num_flow_frames=5) == []
    assert check_frame_folder(f, num_frames=7) == [
        ("count-mismatch", "the list says 7 frames, the folder has 6 img_ frames")]
    (f / "flow_y_00004.jpg").unlink()
    assert [k for k, _ in check_frame_folder(f)] == ["count-mismatch"]  # 5 flow_x, 4 flow_y
    g = write_frames(tmp_path / "f1", n_img=6, n_flow=3)
    assert check_frame_folder(g) == [("count-mismatch", "3 flow frames for 6 RGB frames (expected 6 or 5)")]
    (g / "img_00003.jpg").write_bytes(b"")
    assert check_frame_folder(g, decode=True)[-1][0] == "count-mismatch"  # middle frames are not decoded
    (g / "img_00006.jpg").write_bytes(b"not a jpeg")
    assert ("unreadable-frame", "img_00006.jpg cannot be decoded") in check_frame_folder(g)


def test_cli_check_data(ucf, capsys):
    assert main(["check-data", str(ucf)]) == 0
    out = capsys.readouterr().out
    assert "0 problems in 0 files" in out and "6 files checked" in out

    write_avi(ucf / "UCF-101" / "Basketball" / "v_extra.avi")
    assert main(["check-data", str(ucf), "--workers", "2"]) == 0  # a warning alone does not fail
    assert "unlisted" in capsys.readouterr().out

    (ucf / "UCF-101" / "Basketball" / "v_Basketball_g01_c01.avi").write_bytes(b"")
    shutil.rmtree(ucf / "UCF-101" / "ApplyEyeMakeup")
    assert main(["check-data", str(ucf), "--split", "1", "--no-decode"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "4 problems in 4 files (3 errors, 1 warning); 6 files checked (not decoded)"
    assert any(line.endswith("(testlist01.txt:2): zero-frames: empty file (0 bytes)") for line in out)

    assert main(["check-data", str(ucf.parent / "nowhere")]) == 1
    assert "dataset path not found" in capsys.readouterr().out
    with pytest.raises(DataError):
        check_dataset(ucf.parent / "nowhere")
