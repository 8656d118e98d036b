"""The synthetic tag dataset: tags drawn from the seed, disjoint groups, multi-label lists the library reads back,
categories that cover the label map, truth files, and determinism."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from tsnlib import synthetic_tags as st
from tsnlib.annotations import LabelMap, load_annotations, read_list_file
from tsnlib.errors import DataError
from tsnlib.synthetic import load_truth


@pytest.fixture(scope="module")
def tiny_tags(tmp_path_factory):
    return st.generate_tags(tmp_path_factory.mktemp("tags") / "tags", size="tiny", seed=0, progress=False)


def test_tags_are_one_per_category_drawn_from_the_seed():
    a, b, other = st.plan_tags(seed=0), st.plan_tags(seed=0), st.plan_tags(seed=1)
    assert a == b  # the same seed: the same clips, tags, sizes and lengths
    assert [c.tags for c in a] != [c.tags for c in other]
    assert len(a) == 480 and len({c.video_id for c in a}) == 480
    for clip in a:
        assert [st.tag_category(t) for t in clip.tags] == list(st.TAG_CATEGORIES)
        assert clip.labels == tuple(st.TAGS.index(t) for t in clip.tags)
    # drawn independently: every tag is common, and every pair of tags of two categories occurs together
    counts = Counter(t for c in a for t in c.tags)
    for category, tags in st.TAG_CATEGORIES.items():
        for tag in tags:
            assert abs(counts[tag] / len(a) - 1 / len(tags)) < 0.08, (tag, counts[tag])
    pairs = Counter(p for c in a for p in itertools.combinations(c.tags, 2))
    for c1, c2 in itertools.combinations(st.TAG_CATEGORIES, 2):
        for t1, t2 in itertools.product(st.TAG_CATEGORIES[c1], st.TAG_CATEGORIES[c2]):
            assert pairs[(t1, t2)] > 0, (t1, t2)
    assert st.plan_tags(size="tiny", seed=0)[0].num_frames <= 1.4 * 25
    assert len(st.plan_tags(num_videos=10)) == 12  # whole groups of four, at least three groups
    with pytest.raises(ValueError, match="size must be one of"):
        st.plan_tags(size="huge")


def test_groups_are_whole_and_the_subsets_disjoint():
    clips = st.plan_tags(seed=0)
    num_groups = max(c.group for c in clips)
    subset_of = {g: st.group_subset(g, num_groups) for g in range(1, num_groups + 1)}
    assert Counter(subset_of.values()) == {"train": 66, "test": 36, "val": 18}  # 30 % test, 15 % val
    assert Counter(c.group for c in clips) == {g: st.CLIPS_PER_GROUP for g in subset_of}


def test_lists_read_back_as_multi_label_with_every_tag(tiny_tags):
    manifest = st.load_tags_manifest(tiny_tags)
    clips = {c.video_id: c for c in st.plan_tags(size="tiny", seed=0)}
    assert manifest["tags"] == st.TAGS and manifest["categories"] == st.TAG_CATEGORIES
    assert manifest["subsets"] == {"train": 24, "val": 8, "test": 16}
    seen: dict[str, str] = {}
    groups: dict[str, set] = {}
    for subset in ("train", "val", "test"):
        path = tiny_tags / f"tags_{subset}_split_1_rawframes.txt"
        records, label_map = read_list_file(path, kind="frames")  # multi-label: guessed from the name
        assert label_map == LabelMap(st.TAGS)
        assert len(records) == manifest["subsets"][subset]
        for r in records:
            clip = clips[r.video_id]
            assert r.labels == clip.labels and r.label == clip.labels[0]
            assert r.num_frames == clip.num_frames == len(list(r.path.glob("img_*.jpg")))
            assert r.video_id not in seen
            seen[r.video_id] = subset
            groups.setdefault(subset, set()).add(clip.group)
        # the layout-aware reader finds the same list in the dataset folder
        assert [r.video_id for r in load_annotations(tiny_tags, subset=subset, kind="list", list_kind="frames")[0]] == \
            [r.video_id for r in records]
    assert len(seen) == len(clips)
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"]) and \
        not (groups["val"] & groups["test"])


def test_categories_cover_the_label_map(tiny_tags):
    categories = st.read_tag_categories(tiny_tags)
    assert list(categories) == list(LabelMap.from_file(tiny_tags / "classInd.txt").names) == st.TAGS
    assert {c: [t for t in categories if categories[t] == c] for c in st.TAG_CATEGORIES} == st.TAG_CATEGORIES
    bad = tiny_tags.parent / "bad.csv"
    bad.write_text("name,kind\ndisc,shape\n")
    with pytest.raises(DataError, match="header 'tag,category'"):
        st.read_tag_categories(bad)
    bad.write_text("tag,category\ndisc,shape\ndisc,colour\n")
    with pytest.raises(DataError, match=r"bad.csv:3"):
        st.read_tag_categories(bad)


def test_truth_and_frames(tiny_tags):
    clip = st.plan_tags(size="tiny", seed=0)[5]
    folder = tiny_tags / "rawframes" / clip.video_id
    truth = load_truth(folder)  # <video_id>.truth.npz beside the frame folder
    assert truth["class_name"] == " ".join(clip.tags) and truth["video_id"] == clip.video_id
    assert truth["num_frames"] == clip.num_frames and truth["frame_size"] == (clip.height, clip.width)
    made = st.make_clip_truth(clip)
    assert all(np.array_equal(truth[k], made[k]) for k in ("boxes", "actor", "actor_alpha", "distractors"))
    frames = st.render_clip(clip)
    assert frames.shape == (clip.num_frames, clip.height, clip.width, 3) and frames.dtype == np.uint8
    import cv2

    jpeg = cv2.imread(str(folder / "img_00001.jpg"))
    assert min(jpeg.shape[:2]) == 54  # the course's short side
    by_motion = {m: [c for c in st.plan_tags(size="tiny", seed=0) if c.tags[3] == m][0] for m in st.TAG_CATEGORIES["motion"]}
    still, rotating = (st.make_clip_truth(by_motion[m]) for m in ("still", "rotate"))
    assert np.ptp(still["actor"][:, 2]) == 0 and np.ptp(rotating["actor"][:, 2]) > 30  # angle held / turning
    for truth in (still, rotating):  # both stay inside the frame: a box in every frame
        assert (truth["boxes"][:, 2] > truth["boxes"][:, 0]).all() and np.ptp(truth["actor"][:, 0]) < 3
    for m, sign in (("left", -1), ("right", 1)):  # the conveyor: steady steps one way, one jump back as it wraps
        steps = np.diff(st.make_clip_truth(by_motion[m])["actor"][:, 0])
        assert (np.sign(steps[np.abs(steps) < 20]) == sign).mean() > 0.8


@pytest.mark.slow  # generates the tag set twice more: 3-8 s here
def test_generation_is_deterministic_and_idempotent(tiny_tags, tmp_path):
    again = st.generate_tags(tmp_path / "again", size="tiny", seed=0, progress=False)
    for rel in ("tags_train_split_1_rawframes.txt", "classInd.txt", "tag_categories.csv",
                "rawframes/tags_g001_c01.truth.npz", "rawframes/tags_g001_c01/img_00003.jpg"):
        assert (again / rel).read_bytes() == (tiny_tags / rel).read_bytes(), rel
    stamp = (again / "rawframes" / "tags_g001_c01" / "img_00001.jpg").stat().st_mtime_ns
    assert st.generate_tags(again, size="tiny", seed=0, progress=False) == again  # complete: nothing rewritten
    assert (again / "rawframes" / "tags_g001_c01" / "img_00001.jpg").stat().st_mtime_ns == stamp
    other = st.generate_tags(again, size="tiny", seed=1, progress=False)  # another seed replaces it
    assert st.load_tags_manifest(other)["seed"] == 1
    assert (other / "rawframes" / "tags_g001_c01.truth.npz").read_bytes() != \
        (tiny_tags / "rawframes" / "tags_g001_c01.truth.npz").read_bytes()
    (other / "tags.json").rename(other / "tags.partial.json")  # as a run stopped half-way leaves it: redone, not refused
    assert st.load_tags_manifest(st.generate_tags(other, size="tiny", seed=1, progress=False))["seed"] == 1
    assert not (other / "tags.partial.json").exists()
    foreign = tmp_path / "foreign"
    (foreign / "rawframes").mkdir(parents=True)
    with pytest.raises(DataError, match="refusing to overwrite"):
        st.generate_tags(foreign, size="tiny", progress=False)


def test_a_multi_label_config_reads_the_tags_as_targets(tiny_tags):
    from tsnlib.config import load_config
    from tsnlib.datasets import multi_hot
    from tsnlib.experiment import build_datasets

    cfg = load_config("tsn_r8_synthetic_rgb", [f"data.root={tiny_tags}", "model.multi_label=true",
                                               "train.save_best=val_mAP", "test.num_clips=2", "test.num_crops=1"])
    data = build_datasets(cfg, subsets=("test",))
    item = data["test"][0]
    record = data["test"].records[0]
    assert data["label_map"].names == tuple(st.TAGS)
    assert item["target"].tolist() == multi_hot(record.labels, len(st.TAGS)).tolist()
    assert item["target"].sum() == len(st.TAG_CATEGORIES) and item["imgs"].shape == (2, 3, 48, 48)
