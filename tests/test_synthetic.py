"""Tests of the synthetic dataset generator: layouts, decoding, determinism, ground truth, true flow."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tsnlib import synthetic
from tsnlib.commands.data import add_synth_arguments, cli_synth
from tsnlib.errors import DataError
from tsnlib.synthetic import CLASS_GROUPS, CLASSES
from tsnlib.synthetic import camera as syn_camera
from tsnlib.synthetic import dataset as syn_dataset
from tsnlib.synthetic import plan as syn_plan
from tsnlib.synthetic import scene as syn_scene
from tsnlib.synthetic import truth as syn_truth


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory):
    """A tiny synthetic set in the UCF101 layout, seed 0 (a second generation besides conftest's)."""
    root = tmp_path_factory.mktemp("synth") / "ucf101"
    return synthetic.generate_dataset(root, size="tiny", seed=0, progress=False)


@pytest.fixture(scope="module")
def hmdb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "hmdb51"
    return synthetic.generate_dataset(root, layout="hmdb51", size="tiny", seed=0, progress=False)


@pytest.fixture(scope="module")
def tiny_specs():
    return {s.rel_path: s for s in synthetic.plan_dataset("ucf101", "tiny", seed=0)}


@pytest.fixture(scope="module")
def swaying_specs():
    """The tiny plan of seed 0 with a quarter of the clips swaying (``camera_share=0.25``)."""
    return {s.rel_path: s for s in synthetic.plan_dataset("ucf101", "tiny", seed=0, camera_share=0.25)}


def _spec(tiny_specs, cls, group=1, clip=1):
    return tiny_specs[f"UCF-101/{cls}/v_{cls}_g{group:02d}_c{clip:02d}.avi"]


def _world(spec):
    """The clip's truth before any camera films it (the scene itself; equal to make_truth on the still clips)."""
    return syn_truth._truth_to_python(syn_scene._scene(spec)[0])


def _read_lines(path: Path) -> list[str]:
    data = path.read_bytes().decode()
    assert data.endswith("\r\n"), f"{path.name}: the official UCF101 lists use Windows line ends"
    return data.split("\r\n")[:-1]


# ----------------------------------------------------------------------------------------------
# classes and names
# ----------------------------------------------------------------------------------------------


def test_classes_and_groups():
    assert set(CLASS_GROUPS) == {"appearance", "motion", "event"}
    assert len(CLASSES) == 13 and len(set(CLASSES)) == 13
    assert {"MoveLeft", "MoveRight", "RotateCW", "RotateCCW", "ZoomIn", "ZoomOut"} <= set(CLASS_GROUPS["motion"])
    assert synthetic.class_group("RotateCW") == "motion"
    assert synthetic.class_group("rotate_cw") == "motion"
    assert synthetic.class_group("FlashRed") == "event"
    assert synthetic.class_group("striped_disc") == "appearance"
    assert synthetic.hmdb_class_name("RotateCCW") == "rotate_ccw"
    assert synthetic.hmdb_class_name("PlainSquare") == "plain_square"
    with pytest.raises(KeyError, match="Dance"):
        synthetic.class_group("Dance")
    with pytest.raises(ValueError, match="at least 3"):
        synthetic.plan_dataset(videos_per_class=2)
    with pytest.raises(ValueError, match="layout"):
        synthetic.plan_dataset(layout="kinetics")


# ----------------------------------------------------------------------------------------------
# layouts
# ----------------------------------------------------------------------------------------------


def test_ucf101_layout(ucf_root):
    lists = ucf_root / "ucfTrainTestlist"
    class_ind = [line.split(" ") for line in _read_lines(lists / "classInd.txt")]
    assert [int(i) for i, _ in class_ind] == list(range(1, 14))
    names = [n for _, n in class_ind]
    assert names == sorted(CLASSES)
    manifest = synthetic.load_manifest(ucf_root)
    assert manifest["classes"] == names and manifest["num_videos"] == 13 * 6
    assert manifest["class_groups"] == CLASS_GROUPS
    assert manifest["camera_share"] == 0.0 and manifest["version"] == synthetic.GENERATOR_VERSION

    all_videos = {str(p.relative_to(ucf_root / "UCF-101")) for p in (ucf_root / "UCF-101").rglob("*.avi")}
    assert len(all_videos) == 78
    pattern = re.compile(r"^(\w+)/v_\1_g(\d\d)_c(\d\d)\.avi$")
    held_out = []
    for split in (1, 2, 3):
        train, val, test = {}, [], []
        for line in _read_lines(lists / f"trainlist0{split}.txt"):
            path, label = line.split(" ")
            m = pattern.match(path)
            assert m, line
            assert names[int(label) - 1] == m.group(1)  # 1-based label of classInd
            train[path] = int(label)
        for line in _read_lines(lists / f"testlist0{split}.txt"):
            assert " " not in line and pattern.match(line), line  # no label in test lists
            test.append(line)
        for line in _read_lines(lists / f"vallist0{split}.txt"):
            assert " " not in line and pattern.match(line), line  # no label in val lists either
            val.append(line)
        # every video in exactly one subset
        assert sorted([*train, *val, *test]) == sorted(all_videos)
        group = lambda p: pattern.match(p).group(1, 2)  # noqa: E731
        groups = {name: {group(p) for p in paths} for name, paths in (("train", train), ("val", val), ("test", test))}
        assert not groups["train"] & groups["test"], "a group in both train and test"
        assert not groups["train"] & groups["val"] and not groups["val"] & groups["test"]
        assert 0.2 < len(test) / len(all_videos) < 0.4
        # tiny: 3 groups per class, one each; every class has train, val and test videos
        for name, paths in (("train", train), ("val", val), ("test", test)):
            assert {pattern.match(p).group(1) for p in paths} == set(names), name
        held_out.append(frozenset(test))
    assert len(set(held_out)) == 3  # each split holds out different groups
    assert [f for f in manifest["list_files"] if "vallist" in f] == [
        f"ucfTrainTestlist/vallist0{k}.txt" for k in (1, 2, 3)]


@pytest.mark.parametrize("num_groups", range(1, 21))
def test_val_groups_follow_the_test_block(num_groups):
    for split in (1, 2, 3):
        test = syn_plan._test_groups(num_groups, split)
        val = syn_plan._val_groups(num_groups, split)
        assert val <= set(range(1, num_groups + 1)) and not val & test
        train = set(range(1, num_groups + 1)) - test - val
        assert train or num_groups == 1, "val never takes the last training group"
        if len(test) + max(1, round(0.15 * num_groups)) >= num_groups:
            assert val == set()  # too few groups: val would take the last training group
            continue
        assert len(val) == max(1, round(0.15 * num_groups))
        # contiguous, right after the test block, wrapping around
        last_test = next(g for g in test if g % num_groups + 1 not in test)
        expected = {(last_test - 1 + k) % num_groups + 1 for k in range(1, len(val) + 1)}
        assert val == expected


def test_ucf101_val_split_of_many_groups(tmp_path):
    """_write_lists with 9 groups per class: train, val and test hold disjoint groups, the val groups
    of _val_groups, and every video once (lists only: nothing is rendered)."""
    specs = synthetic.plan_dataset("ucf101", "tiny", videos_per_class=40, seed=0)
    written = syn_dataset._write_lists(tmp_path, "ucf101", specs)
    assert written == ["ucfTrainTestlist/classInd.txt"] + [
        f"ucfTrainTestlist/{s}list0{k}.txt" for k in (1, 2, 3) for s in ("train", "val", "test")]
    lists = tmp_path / "ucfTrainTestlist"
    pattern = re.compile(r"^(\w+)/v_\1_g(\d\d)_c(\d\d)\.avi$")
    by_class = {}
    for s in specs:
        by_class.setdefault(s.class_name, []).append(s)
    for split in (1, 2, 3):
        subsets = {
            "train": [line.split(" ")[0] for line in _read_lines(lists / f"trainlist0{split}.txt")],
            "val": _read_lines(lists / f"vallist0{split}.txt"),
            "test": _read_lines(lists / f"testlist0{split}.txt"),
        }
        assert sorted(sum(subsets.values(), [])) == sorted(s.rel_path.split("/", 1)[1] for s in specs)
        for cls, vids in by_class.items():
            num_groups = max(v.group for v in vids)
            assert num_groups == 9
            groups = {name: {int(pattern.match(p).group(2)) for p in paths if pattern.match(p).group(1) == cls}
                      for name, paths in subsets.items()}
            assert groups["test"] == syn_plan._test_groups(num_groups, split)
            assert groups["val"] == syn_plan._val_groups(num_groups, split) and len(groups["val"]) == 1
            assert len(groups["train"]) == 5
            assert not (groups["train"] & groups["val"] or groups["train"] & groups["test"]
                        or groups["val"] & groups["test"])
            assert groups["train"] | groups["val"] | groups["test"] == set(range(1, num_groups + 1))


def test_synthetic_ucf101_checks_clean(ucf_root):
    """tsnlib check-data reads the val lists too: no val video is reported as unlisted."""
    from tsnlib.checks import check_dataset

    assert check_dataset(ucf_root, decode=False) == []


@pytest.mark.slow  # generates the HMDB51-layout set (its fixture): 3-8 s here
def test_hmdb51_layout(hmdb_root):
    split_dir = hmdb_root / "testTrainMulti_7030_splits"
    classes = sorted(synthetic.hmdb_class_name(c) for c in CLASSES)
    assert sorted(p.name for p in (hmdb_root / "hmdb51_org").iterdir()) == classes
    assert all(re.fullmatch(r"[a-z_]+", c) for c in classes)
    names_all = []
    for cls in classes:
        videos = sorted(p.name for p in (hmdb_root / "hmdb51_org" / cls).glob("*.avi"))
        assert len(videos) == 6
        names_all += videos
        for split in (1, 2, 3):
            lines = (split_dir / f"{cls}_test_split{split}.txt").read_text().splitlines()
            tags = {}
            for line in lines:
                name, tag = line.rstrip().rsplit(" ", 1)
                tags[name] = int(tag)
            assert sorted(tags) == videos
            assert set(tags.values()) == {0, 1, 2}
            title = lambda n: n.split(f"_{cls}_")[0]  # noqa: E731  source video = group
            train = {title(n) for n, t in tags.items() if t == 1}
            test = {title(n) for n, t in tags.items() if t == 2}
            assert train and test and not train & test
            # HMDB51's tags have no validation subset: the synthetic val group stays in train
            assert len(train) == 2 and len(test) == 1  # tiny: 3 groups per class
    for ch in synthetic.HMDB_SPECIAL_CHARS:
        assert any(ch in n for n in names_all), f"no HMDB name with {ch!r}"
    assert not any(" " in n for n in names_all)
    assert synthetic.load_manifest(hmdb_root)["class_groups"]["motion"][0] == "move_left"


# ----------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------


def test_videos_decode_with_decord_and_pyav(ucf_root):
    import av
    import decord

    path = ucf_root / "UCF-101" / "FlashBlue" / "v_FlashBlue_g02_c01.avi"
    truth = synthetic.load_truth(path)
    H, W = truth["frame_size"]
    vr = decord.VideoReader(str(path))
    assert len(vr) == truth["num_frames"] == len(truth["boxes"])
    assert vr[0].shape == (H, W, 3)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mpeg4" and stream.codec_tag == "XVID"
        frames = list(container.decode(stream))
    assert len(frames) == truth["num_frames"]
    assert (frames[0].width, frames[0].height) == (W, H)
    keys = [i for i, f in enumerate(frames) if f.key_frame]
    assert keys == list(range(0, truth["num_frames"], 12))  # GOP 12: seeking has to decode forward
    # every video of the set has as many frames as its truth
    for p in sorted((ucf_root / "UCF-101").rglob("*.avi"))[::7]:
        assert len(decord.VideoReader(str(p))) == synthetic.load_truth(p)["num_frames"], p


def test_h264_video(tmp_path, tiny_specs):
    import decord

    spec = dataclasses.replace(_spec(tiny_specs, "MoveRight"), codec="h264",
                               rel_path="UCF-101/MoveRight/v_MoveRight_g01_c01.mp4")
    syn_dataset._write_video(spec, tmp_path)
    path = tmp_path / spec.rel_path
    vr = decord.VideoReader(str(path))
    assert len(vr) == spec.num_frames and vr[0].shape == (spec.height, spec.width, 3)
    decoded = vr.get_batch([0, spec.num_frames - 1]).asnumpy().astype(float)
    rendered = synthetic.render_video(spec)[[0, -1]]
    assert np.abs(decoded - rendered).mean() < 6  # lossy, but the same pictures
    assert not list(tmp_path.rglob("*.partial"))


# ----------------------------------------------------------------------------------------------
# determinism and idempotence
# ----------------------------------------------------------------------------------------------


def test_same_seed_same_truth_and_frames(ucf_root, tiny_ucf101):
    import decord

    ours = sorted(ucf_root.rglob("*.truth.npz"))
    theirs = sorted(tiny_ucf101.rglob("*.truth.npz"))  # conftest's generation, same seed
    assert [p.relative_to(ucf_root) for p in ours] == [p.relative_to(tiny_ucf101) for p in theirs]
    for a, b in zip(ours, theirs):
        assert a.read_bytes() == b.read_bytes(), a.name
    rel = Path("UCF-101/RotateCW/v_RotateCW_g03_c02.avi")
    fa = decord.VideoReader(str(ucf_root / rel)).get_batch([0, 5, 20]).asnumpy()
    fb = decord.VideoReader(str(tiny_ucf101 / rel)).get_batch([0, 5, 20]).asnumpy()
    np.testing.assert_array_equal(fa, fb)


def test_different_seed_differs(tiny_specs):
    spec0 = _spec(tiny_specs, "MoveLeft")
    spec1 = {s.rel_path: s for s in synthetic.plan_dataset("ucf101", "tiny", seed=1)}[spec0.rel_path]
    t0, t1 = synthetic.make_truth(spec0), synthetic.make_truth(spec1)
    assert not np.array_equal(t0["actor"], t1["actor"])
    np.testing.assert_array_equal(synthetic.render_video(spec0)[:3], synthetic.render_video(spec0)[:3])


@pytest.mark.slow  # generates a set three times: 3-7 s here
def test_idempotent_and_resumes(tmp_path):
    root = tmp_path / "s"
    synthetic.generate_dataset(root, size="tiny", videos_per_class=3, progress=False)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    assert synthetic.generate_dataset(root, size="tiny", videos_per_class=3, progress=False) == root
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes  # nothing rewritten (how fast: benchmarks/, not a test)

    # an interrupted run: one video missing, a half-written one under its temporary name
    victim = root / "UCF-101" / "ZoomIn" / "v_ZoomIn_g02_c01.avi"
    truth_bytes = synthetic.truth_path(victim).read_bytes()
    victim.unlink()
    (victim.parent / (victim.name + ".partial")).write_bytes(b"junk")
    synthetic.generate_dataset(root, size="tiny", videos_per_class=3, progress=False)
    assert victim.is_file() and synthetic.truth_path(victim).read_bytes() == truth_bytes
    assert not list(root.rglob("*.partial"))
    untouched = [p for p in files if p.suffix in (".avi", ".npz") and p.name.split(".")[0] != victim.stem]
    assert all(p.stat().st_mtime_ns == mtimes[p] for p in untouched)

    # force=True regenerates everything, to the same truth
    synthetic.generate_dataset(root, size="tiny", videos_per_class=3, progress=False, force=True)
    assert all(p.stat().st_mtime_ns != mtimes[p] for p in untouched)
    assert synthetic.truth_path(victim).read_bytes() == truth_bytes


def test_refuses_to_overwrite_a_real_dataset(tmp_path):
    (tmp_path / "UCF-101" / "Archery").mkdir(parents=True)
    with pytest.raises(DataError, match="refusing"):
        synthetic.generate_dataset(tmp_path, size="tiny", progress=False)
    assert (tmp_path / "UCF-101" / "Archery").is_dir()


def test_missing_truth_and_manifest_name_the_file(tmp_path):
    with pytest.raises(DataError, match=r"v_x\.truth\.npz"):
        synthetic.load_truth(tmp_path / "v_x.avi")
    with pytest.raises(DataError, match="synthetic.json"):
        synthetic.load_manifest(tmp_path)


# ----------------------------------------------------------------------------------------------
# ground truth
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["StripedDisc", "PlainSquare", "ZoomOut", "FlashBlue"])
def test_boxes_hold_the_actor(tiny_specs, cls):
    spec = _spec(tiny_specs, cls, group=2)
    truth = synthetic.make_truth(spec)
    H, W = truth["frame_size"]
    boxes = truth["boxes"].astype(int)
    assert boxes.dtype == np.int64 and truth["boxes"].dtype == np.int16
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= W).all() and (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= H).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    with_actor = synthetic.render_video(spec, noise=False).astype(float)
    without = synthetic.render_video(spec, actor=False, noise=False).astype(float)
    diff = np.abs(with_actor - without).mean(-1)  # (T, H, W)
    for t in range(0, len(boxes), 4):
        x0, y0, x1, y1 = boxes[t]
        inside = diff[t, y0:y1, x0:x1]
        assert inside.mean() > 10, (t, inside.mean())
        assert diff[t][synthetic.actor_mask(truth, t)].mean() > 15  # on the actor's own pixels
        outside = diff[t].copy()
        outside[y0:y1, x0:x1] = 0
        assert outside.max() == 0  # the actor is drawn only inside its box


def test_motion_classes_move_as_named(tiny_specs):
    for spec in tiny_specs.values():
        truth = _world(spec)  # the scene's motion; a swaying camera adds its own (tested below)
        cx, angle, scale = truth["actor"][:, 0], truth["actor"][:, 2], truth["actor"][:, 3]
        dx = np.diff(cx - truth["camera"][:, 0])  # actor motion without the camera shake
        W = spec.width
        if spec.class_name in ("MoveLeft", "MoveRight"):
            sign = 1 if spec.class_name == "MoveRight" else -1
            wraps = np.abs(dx) > W / 2  # the conveyor re-enters on the other side
            assert wraps.sum() <= 1 + 0.02 * len(dx)  # at most 0.02 W per frame over a span wider than W
            step = dx[~wraps]
            np.testing.assert_allclose(step, step[0], atol=1e-3)  # constant speed
            assert 0.012 * W - 1e-3 <= sign * step[0] <= 0.02 * W + 1e-3
        elif spec.class_name == "RotateCW":
            assert (np.diff(angle) >= 7 - 1e-3).all()  # 7-12 degrees per frame; clockwise on screen = increasing angle
        elif spec.class_name == "RotateCCW":
            assert (np.diff(angle) <= -7 + 1e-3).all()
        elif spec.class_name.startswith("Zoom"):
            sign = 1 if spec.class_name == "ZoomIn" else -1
            dlog = sign * np.diff(np.log(scale.astype(np.float64)))
            resets = dlog < 0  # the saw-tooth jumps back once per period
            assert resets.sum() <= len(dlog) / 20 + 1
            ramp = dlog[~resets]
            np.testing.assert_allclose(ramp, ramp[0], rtol=1e-3)  # a steady zoom between resets
            period = np.log(2.5) / ramp[0]  # frames for one 2.5x zoom: 0.8-1.2 s at 25 fps
            assert 20 - 0.5 <= period <= 30 + 0.5
        if spec.class_name in ("RotateCW", "RotateCCW", "ZoomIn", "ZoomOut"):
            assert np.ptp(cx - truth["camera"][:, 0]) < 1e-3  # no translation: only the named motion
        if synthetic.class_group(spec.class_name) == "motion":
            assert np.ptp(scale) < 1e-6 or spec.class_name.startswith("Zoom")


def test_motion_classes_look_alike_in_one_frame():
    """Single-frame marginals (actor shape, size, angle, position, colour) are the same for all motion classes."""
    specs = [s for s in synthetic.plan_dataset("ucf101", "default", seed=0) if s.class_name in CLASS_GROUPS["motion"]]
    stats: dict[str, list] = {c: [] for c in CLASS_GROUPS["motion"]}
    alphas = set()
    for spec in specs:
        truth = synthetic.make_truth(spec)
        alphas.add(truth["actor_alpha"].tobytes())
        a = truth["actor"]
        stats[spec.class_name].append(np.stack([
            np.log(a[:, 3] * syn_scene._TEMPLATE / spec.height),  # actor size relative to the frame
            (a[:, 0] - truth["camera"][:, 0]) / spec.width,  # horizontal position
            np.cos(np.radians(a[:, 2])),  # orientation: uniform, so cos and sin average to 0
            np.sin(np.radians(a[:, 2])),
        ], axis=1))
    assert len(alphas) == 1  # one actor shape for every motion class
    per_video = {c: np.stack([x.mean(0) for x in v]) for c, v in stats.items()}  # (videos, 4) per class
    pooled = np.concatenate(list(per_video.values()))
    ref = pooled.mean(0)
    for c, v in per_video.items():
        m = v.mean(0)
        se = pooled.std(0) / np.sqrt(len(v))  # the standard error of a class mean under one distribution
        assert (np.abs(m[:2] - ref[:2]) < 3.5 * se[:2]).all(), (c, m, ref, se)  # same mean size and position
        # a video's angle is frozen unless it rotates, so 60 videos give a noisy mean (std ~0.11)
        assert np.abs(m[2:]).max() < 0.4, (c, m)


def test_event_spans(tiny_specs):
    for spec in tiny_specs.values():
        truth = _world(spec)  # a swaying camera's zoom changes the actor's scale in the picture
        T = truth["num_frames"]
        e0, e1 = truth["event_span"]
        if spec.class_name in ("FlashRed", "FlashBlue"):
            assert 0 <= e0 <= e1 <= T - 1
            assert 0.25 * T - 0.5 <= e1 - e0 + 1 <= 0.32 * T + 0.5  # 25-32 % of the video, rounded
            active = np.flatnonzero(truth["tint"] > 0)
            assert active[0] == e0 and active[-1] == e1 and len(active) == e1 - e0 + 1
            red, blue = (235, 30, 30), (40, 40, 235)
            assert tuple(truth["tint_colour"]) == (red if spec.class_name == "FlashRed" else blue)
            scale = truth["actor"][:, 3]
            assert np.all(scale == scale[0])  # the event changes the colour only
        else:
            assert (e0, e1) == (-1, -1)
            assert not truth["tint"].any() and not truth["tint_colour"].any()


def test_actor_colours_carry_the_appearance_class_and_the_event_group():
    """Each appearance class draws its actor's main colour from its own hue family; event actors are grey."""
    import colorsys

    specs = synthetic.plan_dataset("ucf101", "tiny", seed=5)
    for spec in specs:
        scene = syn_scene._scene(spec)[1]
        premult = scene["template"]
        alpha = premult[..., 3]
        rgb = premult[..., :3][alpha > 0.99] / alpha[alpha > 0.99][:, None]
        group = synthetic.class_group(spec.class_name)
        if group == "event":  # grey: every pixel's channels are equal up to the shading
            assert np.ptp(rgb, axis=1).max() < 1.0, spec.class_name
        elif spec.class_name in ("PlainDisc", "PlainSquare"):  # one colour: its hue is the class's
            h = colorsys.rgb_to_hsv(*(np.median(rgb, axis=0) / 255))[0]
            centre = syn_scene._ACTOR_HUES[spec.class_name]
            assert min(abs(h - centre), 1 - abs(h - centre)) <= 0.05, (spec.class_name, h)


def test_actor_colours_avoid_the_flash_hues():
    """Motion actors (and appearance actors' second colour) never take the red or blue of a flash."""
    import colorsys

    rng = np.random.default_rng(0)
    hues = np.array([colorsys.rgb_to_hsv(*(syn_scene._random_colour(rng, avoid_flash=True) / 255))[0]
                     for _ in range(2000)])
    assert not ((hues >= 0.9) | (hues < 0.1) | ((hues > 0.6) & (hues < 0.74))).any()
    assert (hues < 0.6).mean() == pytest.approx(0.5 / 0.66, abs=0.04)  # uniform over the hues left
    assert (hues > 0.74).mean() == pytest.approx(0.16 / 0.66, abs=0.04)


def test_truth_file_round_trip(ucf_root, tiny_specs):
    spec = _spec(tiny_specs, "DottedDisc", group=3, clip=2)
    saved = synthetic.load_truth(ucf_root / spec.rel_path)
    made = synthetic.make_truth(spec)
    assert saved["class_name"] == "DottedDisc" and saved["group"] == "appearance"
    assert saved["video_id"] == "v_DottedDisc_g03_c02" and saved["fps"] == 25
    assert saved["frame_size"] == (spec.height, spec.width)
    for key in ("boxes", "actor", "bg_shift", "camera", "distractors", "actor_alpha", "tint", "tint_colour"):
        np.testing.assert_array_equal(saved[key], made[key])
    assert saved["distractors"].shape[1:] == (saved["distractors"].shape[1], 3)


# ----------------------------------------------------------------------------------------------
# true flow
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["MoveLeft", "RotateCW", "ZoomIn", "FlashBlue"])
def test_true_flow_warps_frame_back(swaying_specs, cls):
    """At a camera share of 0.25, MoveLeft and FlashBlue (g01 c01) are filmed by a swaying camera, RotateCW and
    ZoomIn by a still one."""
    import cv2

    from tsnlib.camera_motion import homography_flow

    spec = _spec(swaying_specs, cls)
    assert (synthetic.dataset_camera(spec) is not None) == (cls in ("MoveLeft", "FlashBlue"))
    truth = synthetic.make_truth(spec)
    frames = synthetic.render_video(spec, noise=False)
    H, W = truth["frame_size"]
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    errors, baseline = [], []
    checked = range(0, truth["num_frames"] - 1, 3)
    for t in checked:
        flow = synthetic.true_flow(truth, t)
        assert flow.dtype == np.float32 and flow.shape == (H, W, 2)
        mask = synthetic.true_flow_mask(truth, t)
        labels, _ = syn_truth._layers(truth, t)
        actor = synthetic.actor_mask(truth, t) & mask
        x0, _, x1, _ = truth["boxes"][t]
        if cls == "MoveLeft" and (x0 == 0 or x1 == W):  # wrapping round: partly or wholly outside
            continue
        assert actor.sum() > 10
        back = cv2.remap(frames[t + 1], xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)
        errors.append(np.abs(back.astype(float) - frames[t]).mean(-1)[actor].mean())
        baseline.append(np.abs(frames[t + 1].astype(float) - frames[t]).mean(-1)[actor].mean())
        # background pixels move with the global translation, or with the swaying camera's homography
        bg = (labels == 0) & mask
        if "view" in truth:
            expected = homography_flow(synthetic.background_homography(truth, t), (H, W))[bg]
        else:
            expected = np.broadcast_to(truth["bg_shift"][t + 1] - truth["bg_shift"][t], flow[bg].shape)
        np.testing.assert_allclose(flow[bg], expected, atol=1e-4)
    assert len(errors) >= 4
    assert np.mean(errors) < 2.5
    assert np.mean(errors) < 0.5 * np.mean(baseline)


def test_true_flow_of_rotation_is_a_rotation(tiny_specs):
    spec = _spec(tiny_specs, "RotateCCW")
    truth = synthetic.make_truth(spec)
    t = 4
    flow = synthetic.true_flow(truth, t)
    cx, cy, a0, s0 = truth["actor"][t].astype(float)
    cx1, cy1, a1, s1 = truth["actor"][t + 1].astype(float)
    x0, y0, x1, y1 = truth["boxes"][t].astype(int)
    y, x = (y0 + y1) // 2, (x0 + x1) // 2
    assert synthetic.actor_mask(truth, t)[y, x]  # the box centre shows the actor
    d = np.radians(a1 - a0)
    rot = np.array([[np.cos(d), -np.sin(d)], [np.sin(d), np.cos(d)]]) * (s1 / s0)
    expected = rot @ np.array([x - cx, y - cy]) + [cx1, cy1] - [x, y]
    np.testing.assert_allclose(flow[y, x], expected, atol=1e-3)
    with pytest.raises(ValueError, match="out of range"):
        synthetic.true_flow(truth, truth["num_frames"] - 1)


def test_true_flow_from_a_video_path(ucf_root):
    path = ucf_root / "UCF-101" / "MoveRight" / "v_MoveRight_g01_c01.avi"
    truth = synthetic.load_truth(path)
    widths = truth["boxes"][:-1, 2].astype(int) - truth["boxes"][:-1, 0]
    t = int(np.argmax(widths))  # a frame where the whole actor is in view
    flow = synthetic.true_flow(path, t)
    on_actor = synthetic.actor_mask(truth, t) & synthetic.true_flow_mask(truth, t)
    assert on_actor.sum() > 50
    assert np.median(flow[on_actor, 0]) > 0.5  # the actor moves right


# ----------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------


def test_cli_synth(ucf_root, capsys):
    parser = argparse.ArgumentParser()
    add_synth_arguments(parser)
    args = parser.parse_args(["--root", str(ucf_root), "--size", "tiny", "--seed", "0"])
    assert args.layout == "ucf101" and args.codec == "xvid" and not args.force and args.camera_share == 0.0
    assert parser.parse_args(["--camera-share", "0.25"]).camera_share == 0.25
    for bad in ("1.5", "-0.1", "a quarter"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--camera-share", bad])
    mtime = os.stat(ucf_root / "synthetic.json").st_mtime_ns
    assert cli_synth(args) == 0
    out = capsys.readouterr().out
    assert "13 classes, 78 videos" in out
    assert os.stat(ucf_root / "synthetic.json").st_mtime_ns == mtime


# ----------------------------------------------------------------------------------------------
# camera motion: the dataset's swaying cameras, and the opt-in camera of single clips
# ----------------------------------------------------------------------------------------------

#: sha256 of the truth file and of the frames of v_MoveRight_g01_c01 (tiny, seed 0), generator version 7,
#: measured before the dataset had cameras: the clips filmed by a still camera must stay byte for byte what they were
_TRUTH_SHA256 = "3bd1095d41b352c41bfda7a59280b1e011532cc9463e400964326f703d9eb9c6"
_FRAMES_SHA256 = "d4fb6c8a8829abd3e91bec7898e5464304e5c8a92d92c00dde49bd74e26a85cd"


def test_the_still_clips_are_unchanged_by_the_cameras(tiny_specs, swaying_specs, tmp_path):
    import hashlib

    assert not any(synthetic.dataset_camera(s) for s in tiny_specs.values())  # the course's dataset: no sway
    spec = _spec(tiny_specs, "MoveRight")
    assert synthetic.dataset_camera(_spec(swaying_specs, "MoveRight")) is None  # still at a share of 0.25 too
    truth, _ = syn_camera._filmed(spec)
    syn_truth._write_npz_deterministic(tmp_path / "t.truth.npz", truth)  # what generate_dataset writes
    frames = synthetic.render_video(spec)
    assert synthetic.GENERATOR_VERSION == "8"
    assert hashlib.sha256((tmp_path / "t.truth.npz").read_bytes()).hexdigest() == _TRUTH_SHA256
    assert hashlib.sha256(frames.tobytes()).hexdigest() == _FRAMES_SHA256
    assert np.array_equal(synthetic.render_video(_spec(swaying_specs, "MoveRight")), frames)
    assert "view" not in synthetic.make_truth(spec) and "view" not in synthetic.make_truth(spec, camera=None)
    # a camera at rest films the same clip: the same truth, the background drawn by a warp instead of a
    # shift (at most one grey level apart)
    still = synthetic.CameraMotion()
    made, at_rest = synthetic.make_truth(spec), synthetic.make_truth(spec, camera=still)
    for key in ("boxes", "actor", "bg_shift", "camera", "distractors"):
        np.testing.assert_allclose(at_rest[key], made[key], atol=1e-4)
    np.testing.assert_array_equal(at_rest["view"], np.broadcast_to(np.eye(3), (spec.num_frames, 3, 3)))
    diff = np.abs(synthetic.render_video(spec, camera=still).astype(int) - frames)
    assert diff.max() <= 1 and diff.mean() < 0.01


def test_a_share_of_the_clips_sway_and_the_sway_is_drawn_as_documented():
    plan = {share: [s for seed in (0, 1, 2) for s in synthetic.plan_dataset("ucf101", "default", seed=seed,
                                                                          camera_share=share)]
            for share in (0.0, 0.25, 1.0)}
    cameras = {share: [synthetic.dataset_camera(s) for s in specs] for share, specs in plan.items()}
    specs = plan[0.25]
    swaying = [(s, c) for s, c in zip(specs, cameras[0.25]) if c is not None]
    # 540 of 2340 at a share of 0.25 (0.231; binomial standard error 0.009), none at 0, every clip at 1
    assert len(swaying) == 540
    assert not any(cameras[0.0]) and all(cameras[1.0])
    # a clip that sways at 0.25 sways the same way at 1
    assert all(c == c1 for c, c1 in zip(cameras[0.25], cameras[1.0]) if c is not None)
    for group, names in CLASS_GROUPS.items():  # every group is filmed alike
        share = np.mean([c is not None for s, c in zip(specs, cameras[0.25]) if s.class_name in names])
        assert abs(share - 0.23) < 0.04, (group, share)
    for s, c in swaying:
        assert isinstance(c, synthetic.SwayingCamera) and 0 <= c.direction < 360 and 0 <= c.phase < 2 * np.pi
        assert 0.5 * s.width / 128 <= c.speed <= 1.0 * s.width / 128
        assert 1.5 * s.fps <= c.period <= 3.0 * s.fps and abs(c.zoom_rate) <= 0.004
    # drawn from the clip's own stream: the same spec, the same camera; the codec does not change it
    s = swaying[0][0]
    assert synthetic.dataset_camera(s) == swaying[0][1]
    assert synthetic.dataset_camera(dataclasses.replace(s, codec="h264")) == swaying[0][1]
    with pytest.raises(ValueError, match="camera_share"):
        synthetic.plan_dataset("ucf101", "tiny", camera_share=1.5)


def test_swaying_camera_views():
    cam = synthetic.SwayingCamera(direction=30.0, speed=0.8, period=50.0, zoom_rate=0.003, phase=1.0)
    T, W, H = 101, 128, 96
    views = cam.views(T, W, H)
    assert views.shape == (T, 3, 3) and views.dtype == np.float64
    np.testing.assert_allclose(views[50], np.eye(3), atol=1e-12)  # the middle frame sees the world
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    # what the frame's centre looks at, in the world: c + speed w(s) (cos 30, sin 30), and the scale exp(zoom_rate w(s))
    s = np.arange(T) - 50.0
    w = 50.0 / (2 * np.pi) * (np.sin(2 * np.pi * s / 50.0 + 1.0) - np.sin(1.0))
    looked_at = np.linalg.solve(views, np.broadcast_to(np.r_[c, 1.0], (T, 3))[..., None])[..., 0]
    u = np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])
    np.testing.assert_allclose(looked_at[:, :2], c + 0.8 * w[:, None] * u, atol=1e-9)
    np.testing.assert_allclose(views[:, 0, 0], np.exp(0.003 * w), rtol=1e-12)
    # the centre's speed peaks at `speed` px/frame and the sway never goes further than speed period / pi
    step = np.linalg.norm(np.diff(looked_at[:, :2], axis=0), axis=1)
    assert 0.79 < step.max() <= 0.8 and np.linalg.norm(looked_at[:, :2] - c, axis=1).max() <= 0.8 * 50 / np.pi
    with pytest.raises(ValueError, match="period"):
        synthetic.SwayingCamera(direction=0.0, speed=1.0, period=0.0).views(3, 40, 30)


def test_a_swaying_clip_is_its_world_filmed_by_its_camera(swaying_specs, tmp_path):
    spec = _spec(swaying_specs, "MoveLeft")
    cam = synthetic.dataset_camera(spec)
    assert cam is not None
    world, truth = _world(spec), synthetic.make_truth(spec)
    views = cam.views(spec.num_frames, spec.width, spec.height)
    np.testing.assert_allclose(truth["view"], views, atol=1e-6)
    # the actor's centre and the discs' centres are the world's seen through the view; sizes scale by its zoom
    centres = np.einsum("tij,tj->ti", views, np.c_[world["actor"][:, :2], np.ones(spec.num_frames)])[:, :2]
    np.testing.assert_allclose(truth["actor"][:, :2], centres, atol=1e-3)
    np.testing.assert_allclose(truth["actor"][:, 3], world["actor"][:, 3] * views[:, 0, 0], rtol=1e-5)
    np.testing.assert_allclose(truth["distractors"][..., 2], world["distractors"][..., 2] * views[:, 0, :1], rtol=1e-5)
    for key in ("bg_shift", "camera", "tint", "event_span"):  # the world's, unchanged
        np.testing.assert_array_equal(truth[key], world[key])
    # the dataset writes the filmed truth
    syn_dataset._write_video(spec, tmp_path)
    saved = synthetic.load_truth(tmp_path / spec.rel_path)
    np.testing.assert_array_equal(saved["view"], truth["view"])
    np.testing.assert_array_equal(saved["boxes"], truth["boxes"])


def test_camera_views_pan_and_zoom_about_the_centre():
    cam = synthetic.CameraMotion(pan=(2.0, -1.0), zoom=1.02)
    views = cam.views(5, 40, 30)
    assert views.shape == (5, 3, 3) and views.dtype == np.float64
    np.testing.assert_allclose(views[2], np.eye(3))  # the middle frame sees the world as the dataset's clip
    c = np.array([19.5, 14.5])
    for t in range(5):
        s = t - 2
        # the frame's centre looks at the world point the pan has reached; the scale is zoom^s
        np.testing.assert_allclose(views[t] @ np.r_[c + s * np.array([2.0, -1.0]), 1.0], np.r_[c, 1.0], atol=1e-12)
        np.testing.assert_allclose(np.diag(views[t])[:2], [1.02 ** s] * 2)
    # a pan alone moves the scene by -pan per frame, a translation
    pan = synthetic.CameraMotion(pan=(3.0, 0.5)).views(4, 40, 30)
    np.testing.assert_allclose(pan[1] @ np.linalg.inv(pan[0]), [[1, 0, -3.0], [0, 1, -0.5], [0, 0, 1]], atol=1e-12)
    with pytest.raises(ValueError, match="zoom"):
        synthetic.CameraMotion(zoom=0.0).views(3, 40, 30)


@pytest.mark.parametrize("cls, camera", [("MoveRight", True), ("PlainDisc", True), ("MoveLeft", False),
                                         ("MoveLeft", True)])
def test_camera_clip_truth_matches_its_frames(swaying_specs, cls, camera):
    """At a camera share of 0.25, MoveRight and PlainDisc (g01 c01) have a still camera, MoveLeft a swaying
    one: alone (``camera=False``) and filmed again by a pan and zoom (the two cameras composed)."""
    import cv2

    from tsnlib.camera_motion import warp_back

    spec = _spec(swaying_specs, cls)
    assert (synthetic.dataset_camera(spec) is not None) == (cls == "MoveLeft")
    cam = synthetic.CameraMotion(pan=(2.5, -0.5), zoom=1.01) if camera else None
    truth = synthetic.make_truth(spec, camera=cam)
    frames = synthetic.render_video(spec, noise=False, camera=cam)
    H, W = truth["frame_size"]
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    bg_err, bg_base, actor_err = [], [], []
    for t in range(2, truth["num_frames"] - 1, 4):
        B = synthetic.background_homography(truth, t)
        mask = synthetic.true_flow_mask(truth, t)
        background = synthetic.background_mask(truth, t)
        bg = background & mask
        assert not (background & synthetic.actor_mask(truth, t)).any() and bg.mean() > 0.3
        # warping frame t+1 back by the background's true homography gives frame t on the background
        back = warp_back(frames[t + 1], B).astype(float)
        bg_err.append(np.abs(back - frames[t]).mean(-1)[bg].mean())
        bg_base.append(np.abs(frames[t + 1].astype(float) - frames[t]).mean(-1)[bg].mean())
        # the true flow carries the actor's pixels to where frame t+1 shows them
        flow = synthetic.true_flow(truth, t)
        actor = synthetic.actor_mask(truth, t) & mask
        # relative to the background: zero on it, and B^-1 (p + flow) - p on the actor
        rel = synthetic.true_flow(truth, t, relative=True)
        assert np.abs(rel[background]).max() < 1e-3
        if actor.sum() > 50:
            moved = cv2.remap(frames[t + 1], xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR).astype(float)
            actor_err.append(np.abs(moved - frames[t]).mean(-1)[actor].mean())
            p = np.array([xs[actor][0], ys[actor][0]], dtype=np.float64)
            q = np.linalg.inv(B) @ np.r_[p + flow[actor][0], 1.0]
            np.testing.assert_allclose(rel[actor][0], q[:2] / q[2] - p, atol=1e-3)
    # measured: 0.11 (MoveRight) and 0.07 (PlainDisc) grey levels after the warp, 1.25 and 0.68 without it
    # (the background is a smooth texture: about 1.3 grey levels per pixel of motion); the sway alone moves
    # the background less: 0.12 after the warp (the interpolation's), 0.37 without it
    assert np.mean(bg_err) < 0.5 and np.mean(bg_err) < np.mean(bg_base) / (5 if camera else 2.5)
    assert len(actor_err) >= 3 and np.mean(actor_err) < 2.5


def test_a_pan_leaves_the_actors_motion_relative_to_the_scene(tiny_specs):
    """Pan only: relative to the background, a MoveRight actor moves as in the dataset's clip, less the
    world's background drift."""
    spec = _spec(tiny_specs, "MoveRight")
    world = synthetic.make_truth(spec)
    truth = synthetic.make_truth(spec, camera=synthetic.CameraMotion(pan=(3.0, 1.0)))
    widths = truth["boxes"][:-1, 2].astype(int) - truth["boxes"][:-1, 0]
    t = int(np.argmax(widths))
    actor = synthetic.actor_mask(truth, t) & synthetic.true_flow_mask(truth, t)
    assert actor.sum() > 50
    expected = (world["actor"][t + 1, :2] - world["actor"][t, :2]) - (world["bg_shift"][t + 1] - world["bg_shift"][t])
    rel = synthetic.true_flow(truth, t, relative=True)
    np.testing.assert_allclose(rel[actor], np.broadcast_to(expected, rel[actor].shape), atol=1e-3)
    # in the picture the scene slides by -pan (plus the world's drift), the actor by its motion less the pan
    full = synthetic.true_flow(truth, t)
    np.testing.assert_allclose(full[actor].mean(0), world["actor"][t + 1, :2] - world["actor"][t, :2] - [3.0, 1.0],
                               atol=1e-3)
    np.testing.assert_allclose(synthetic.background_homography(world, t)[:2, 2], world["bg_shift"][t + 1] - world["bg_shift"][t],
                               atol=1e-6)
