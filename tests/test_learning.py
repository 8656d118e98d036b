"""Training learns: the course's RGB preset, trained for a few epochs on a small synthetic set, beats chance
by far on the classes one frame can show, and stays near chance on those it cannot.

Every other test checks that training runs, resumes and saves; this one checks that it *learns*. It
trains the real pipeline (``tsnlib.training.train``, the course's ``resnet8`` preset) on held-out groups, so
memorising the training clips is not enough. It reads the videos themselves (``data.source=video``): the
preset's frame folders would take a minute to extract for these 520 clips, and decoding gives the same
frames up to the JPEG compression.
"""

from __future__ import annotations

import pytest

from tsnlib import experiment, lessons, training
from tsnlib.config import load_config
from tsnlib.synthetic import CLASS_GROUPS, generate_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    """13 classes x 40 videos of the course's size (two thirds of it): 9 groups per class, 3 for test, 1 for val."""
    root = tmp_path_factory.mktemp("learning") / "synthetic" / "ucf101"
    return generate_dataset(root, size="default", videos_per_class=40, seed=11, progress=False)


def test_rgb_stream_learns_appearance_and_not_motion(small_set, tmp_path):
    cfg = load_config("tsn_r8_synthetic_rgb", [
        "data.dataset=ucf101", f"data.root={small_set}", "data.source=video", "optim.epochs=10", "train.workers=2", "test.workers=0", "train.val_interval=0",
        "train.tensorboard=false", "test.num_clips=5", "test.num_crops=1", "train.seed=0",
    ])
    training.train(cfg, work_dir=tmp_path / "run", device="cpu")
    scores = experiment.test_checkpoint(cfg, tmp_path / "run" / "last.pth", device="cpu")
    chance = 1 / len(scores.class_names)
    appearance = lessons.group_top1(scores, "appearance")
    motion = lessons.group_top1(scores, "motion")
    print(f"appearance top-1 {appearance}, motion top-1 {motion}, all {lessons.group_top1(scores)}, "
          f"chance {chance:.3f}")  # shown by pytest -rP
    test_records = experiment.load_subset(cfg, "test")[0]
    assert appearance.n == sum(scores.class_names[r.label] in CLASS_GROUPS["appearance"] for r in test_records)
    # eight times chance and more, on clips of groups the network never saw
    assert appearance.value >= 0.6, f"appearance top-1 {appearance} (chance {chance:.3f})"
    # one RGB frame cannot tell a motion's direction: among the six motion classes it can only guess (1/6)
    assert motion.value <= 0.3, f"motion top-1 {motion} (chance {chance:.3f})"
