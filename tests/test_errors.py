"""Errors a person can read: every expected error of the command line is one line, exit status 1, no traceback.

Each case runs the command (in-process ``tsnlib.cli.main``, one through a subprocess) and checks the
exact line printed: it names the file, list line or key and says what to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tsnlib import checkpoints, training
from tsnlib.cli import main
from tsnlib.config import ConfigError, load_config
from tsnlib.datasets import SKIP_BAD_HINT
from tsnlib.errors import CheckpointError, DataError, TsnlibError, UsageError, one_line

torch.set_num_threads(1)

PRESET = "tsn_r8_synthetic_rgb"
#: one short epoch of the course preset on the tiny set, no validation, no workers
QUICK = ["data.num_segments=2", "train.batch_size=4", "train.workers=0", "test.workers=0", "train.tensorboard=false",
         "optim.epochs=1", "train.max_steps_per_epoch=1", "train.val_interval=0"]
ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv) -> tuple[int, str]:
    """``(exit status, stderr)`` of ``tsnlib *argv`` run in this process."""
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def assert_one_line(err: str, expected: str) -> None:
    """stderr is exactly the one line ``expected`` (no traceback)."""
    assert "Traceback" not in err
    assert err.strip().splitlines() == [expected], err


@pytest.fixture
def data_env(tiny_data_root, monkeypatch):
    monkeypatch.setenv("TSN_DATA", str(tiny_data_root))
    monkeypatch.delenv("TSNLIB_DEBUG", raising=False)
    return tiny_data_root


@pytest.fixture(scope="module")
def checkpoint(tiny_data_root, tmp_path_factory):
    """A tsnlib checkpoint (``last.pth``) of one training step on the tiny set."""
    wd = tmp_path_factory.mktemp("errors_run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TSN_DATA", str(tiny_data_root))
        assert main(["train", PRESET, *QUICK, "--work-dir", str(wd), "--device", "cpu"]) == 0
    return wd / "last.pth"


@pytest.fixture
def video(tiny_ucf101) -> Path:
    return sorted((tiny_ucf101 / "UCF-101").rglob("*.avi"))[0]


# ---------------------------------------------------------------------------------------------
# the mechanism: one family of errors, one place that prints them
# ---------------------------------------------------------------------------------------------


def test_every_expected_error_is_a_tsnlib_error_and_keeps_its_old_base():
    for cls, base in ((DataError, ValueError), (ConfigError, ValueError), (CheckpointError, RuntimeError),
                      (UsageError, ValueError)):
        assert issubclass(cls, TsnlibError) and issubclass(cls, base)
    assert checkpoints.CheckpointError is CheckpointError


def test_one_line_keeps_the_original_message_of_a_loader_worker_error():
    # what torch's DataLoader re-raises in the main process: the worker's traceback inside the message
    inner = DataError("cannot decode frame 3", path="a b.avi", source="trainlist01.txt:7", hint="do this")
    worker = DataError("Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
                       '  File "x.py", line 1, in f\n    raise DataError(...)\n'
                       f"tsnlib.errors.DataError: {inner}\n")
    assert one_line(worker) == "cannot decode frame 3 [a b.avi; from trainlist01.txt:7]: do this"
    assert one_line(ConfigError("a\n  b")) == "a b"


def test_a_bug_keeps_its_traceback_and_says_so(monkeypatch, capsys):
    import tsnlib.info

    monkeypatch.delenv("TSNLIB_DEBUG", raising=False)
    monkeypatch.setattr(tsnlib.info, "cli_info", lambda args: 1 / 0)
    rc, err = run_cli(capsys, "info")
    assert rc == 1
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert err.strip().splitlines()[-1] == ("tsnlib info: unexpected error (ZeroDivisionError): this is a bug in "
                                            "tsnlib, not in your input; please report it with the traceback above")


def test_debug_flag_and_variable_show_the_traceback(data_env, monkeypatch, capsys):
    with pytest.raises(ConfigError, match="optim.lr must be a number"):
        main(["train", PRESET, "optim.lr=abc", "--debug"])
    monkeypatch.setenv("TSNLIB_DEBUG", "1")
    with pytest.raises(ConfigError, match="optim.lr must be a number"):
        main(["train", PRESET, "optim.lr=abc"])


@pytest.mark.slow  # a subprocess
def test_the_installed_command_prints_one_line_and_exits_1(data_env, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TSN_DATA": str(data_env)}
    env.pop("TSNLIB_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "tsnlib", "train", PRESET, "optim.lr=abc"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert_one_line(proc.stderr, "tsnlib train: error: optim.lr must be a number, got 'abc' (override optim.lr)")


# ---------------------------------------------------------------------------------------------
# configs
# ---------------------------------------------------------------------------------------------


def test_bad_number(data_env, capsys):
    rc, err = run_cli(capsys, "train", PRESET, "optim.lr=abc")
    assert rc == 1
    assert_one_line(err, "tsnlib train: error: optim.lr must be a number, got 'abc' (override optim.lr)")


def test_empty_value_is_refused_when_the_config_is_loaded(data_env, capsys):
    rc, err = run_cli(capsys, "train", PRESET, "optim.lr=")
    assert rc == 1
    assert_one_line(err, "tsnlib train: error: optim.lr needs a value, e.g. optim.lr=0.01; got nothing "
                         "(override optim.lr)")
    with pytest.raises(ConfigError, match="train.batch_size needs a value"):
        load_config(PRESET, ["train.batch_size=null"])
    # keys documented as nullable still take null
    assert load_config(PRESET, ["optim.clip_grad=", "train.max_steps_per_epoch=null"])["optim"]["clip_grad"] is None


@pytest.mark.parametrize("override,message", [
    ("optim.lr=-0.1", "optim.lr must be > 0, got -0.1"),
    ("optim.lr=0", "optim.lr must be > 0, got 0.0"),
    ("optim.momentum=1.5", "optim.momentum must be in [0, 1), got 1.5"),
    ("model.dropout=1", "model.dropout must be in [0, 1), got 1.0"),
    ("train.workers=-1", "train.workers must be >= 0, got -1"),
    ("test.num_clips=0", "test.num_clips must be >= 1, got 0"),
    ("data.num_segments=0", "data.num_segments must be >= 1, got 0"),
    ("train.max_steps_per_epoch=0", "train.max_steps_per_epoch must be >= 1, got 0"),
    ("train.max_steps_per_epoch=abc", "train.max_steps_per_epoch must be an integer, got 'abc' "
                                      "(override train.max_steps_per_epoch)"),
    ("data.start_index=-1", "data.start_index must be >= 0, got -1"),
    ("data.num_fixed_crops=7", "data.num_fixed_crops must be one of [5, 13], got 7"),
    ("train.save_best=val_loss", "train.save_best must be one of ['val_top1', 'val_top5', "
                                 "'val_mean_class_accuracy', 'val_mAP'], got 'val_loss'"),
    ("data.backend=opencv", "data.backend must be one of ['auto', 'decord', 'pyav'], got 'opencv'"),
    ("data.root=[1, 2]", "data.root must be a text value, got [1, 2] (override data.root)"),
])
def test_values_are_checked_for_type_and_range_when_loaded(data_env, capsys, override, message):
    if override.startswith("data.backend="):
        from tsnlib.decoding import BACKENDS

        message = f"data.backend must be one of {list(BACKENDS)}, got 'opencv'"
    rc, err = run_cli(capsys, "train", PRESET, override)
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: {message}")


def test_unknown_key(data_env, capsys):
    rc, err = run_cli(capsys, "train", PRESET, "optim.lrx=1")
    assert rc == 1
    assert_one_line(err, "tsnlib train: error: unknown config key 'optim.lrx' (override optim.lrx=1). Valid keys in "
                         "optim: optim.lr, optim.momentum, optim.nesterov, optim.weight_decay, optim.schedule, "
                         "optim.steps, optim.step_size, optim.gamma, optim.min_lr, optim.warmup_epochs, "
                         "optim.warmup_start_factor, optim.epochs, optim.clip_grad, optim.label_smoothing, "
                         "optim.loss_weight, optim.fc_lr5, optim.base_batch_size, optim.auto_scale_lr")


def test_unknown_preset_and_missing_file(data_env, capsys):
    from tsnlib.config import list_presets

    presets = ", ".join(list_presets())
    rc, err = run_cli(capsys, "train", "tsn_nope")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: no config 'tsn_nope': not a preset and not a YAML file. "
                         f"Presets: {presets}")
    rc, err = run_cli(capsys, "test", "missing.yaml", "x.pth")
    assert rc == 1
    assert_one_line(err, f"tsnlib test: error: config file not found: 'missing.yaml'; give an existing YAML file or "
                         f"a preset name: {presets}")


def test_yaml_syntax_error_names_file_line_and_column(data_env, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: tsn_r8_synthetic_rgb\noptim:\n  lr: [0.1,\n", encoding="utf-8")
    rc, err = run_cli(capsys, "train", bad)
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: cannot parse config file '{bad.resolve()}' at line 4, column 1: "
                         "expected the node content, but found '<stream end>' (while parsing a flow node): "
                         "fix the YAML there")


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def test_missing_data_root(data_env, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    rc, err = run_cli(capsys, "train", PRESET, f"data.root={missing}", "--work-dir", tmp_path / "run")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: data.root not found [{missing}]: set data.root=<folder> on the command "
                         "line or in the config (presets read ${TSN_DATA}, default <repo>/data); tsnlib synth writes "
                         "the synthetic dataset")


@pytest.mark.parametrize("label,message", [
    ("99", "label 99 out of range: 13 classes in classInd.txt"),
    ("-1", "label -1 out of range: labels are 0-based, >= 0"),
    ("1.5", "expected '<frame_dir> <total_frames> <label>', got '{line}'"),
    ("Jumping", "expected '<frame_dir> <total_frames> <label>', got '{line}'"),
])
def test_bad_list_labels_name_the_list_line(data_env, tmp_path, capsys, label, message):
    frames = data_env / "synthetic" / "ucf101" / "rawframes"
    lists = tmp_path / "lists"
    lists.mkdir()
    for f in frames.glob("*.txt"):
        shutil.copy(f, lists / f.name)
    train_list = lists / "ucf101_train_split_1_rawframes.txt"
    lines = train_list.read_text(encoding="utf-8").splitlines()
    head, _, _ = lines[2].rpartition(" ")
    lines[2] = f"{head} {label}"
    train_list.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, err = run_cli(capsys, "train", PRESET, f"data.annotations={lists}", "--work-dir", tmp_path / "run", *QUICK)
    assert rc == 1
    what = message.format(line=lines[2])
    assert_one_line(err, f"tsnlib train: error: {what} [{train_list}; from {train_list.name}:3]")


def test_unknown_class_in_a_split_file(data_env, tiny_ucf101, tmp_path, capsys):
    root = tmp_path / "ucf"
    root.mkdir()
    (root / "UCF-101").symlink_to(tiny_ucf101 / "UCF-101", target_is_directory=True)
    shutil.copytree(tiny_ucf101 / "ucfTrainTestlist", root / "ucfTrainTestlist")
    split = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = split.read_text(encoding="utf-8").splitlines()
    lines[1] = "Nope/" + lines[1].split("/", 1)[1]
    split.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, err = run_cli(capsys, "train", PRESET, "data.dataset=ucf101", "data.source=video", f"data.root={root}",
                      "--work-dir", tmp_path / "run", *QUICK)
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: class folder 'Nope' is not in classInd.txt [{split}; "
                         "from trainlist01.txt:2]")


@pytest.mark.parametrize("workers", [0, pytest.param(1, marks=pytest.mark.slow)])  # 1: a loader worker process
def test_broken_video_in_training_names_file_and_list_line(data_env, tiny_ucf101, tmp_path, capsys, workers):
    root = tmp_path / "ucf"
    shutil.copytree(tiny_ucf101 / "UCF-101", root / "UCF-101")
    shutil.copytree(tiny_ucf101 / "ucfTrainTestlist", root / "ucfTrainTestlist")
    first = (root / "ucfTrainTestlist" / "trainlist01.txt").read_text(encoding="utf-8").split()[0]
    broken = root / "UCF-101" / first
    broken.write_text("not a video\n", encoding="utf-8")
    rc, err = run_cli(capsys, "train", PRESET, "data.dataset=ucf101", "data.source=video", f"data.root={root}",
                      "--work-dir", tmp_path / "run", *QUICK, f"train.workers={workers}", "train.batch_size=26",
                      "--device", "cpu")
    assert rc == 1
    assert "Traceback" not in err
    [line] = [ln for ln in err.strip().splitlines() if ln.startswith("tsnlib train:")]
    assert line.startswith("tsnlib train: error: ")
    assert line.endswith(f"[{broken}; from trainlist01.txt:1]: {SKIP_BAD_HINT}")
    assert "data.skip_bad=true" in line and "tsnlib check-data" in line
    # the only other lines are what the decoders themselves print while failing
    assert all(first in ln or "video_reader" in ln for ln in err.strip().splitlines() if ln != line)


def test_missing_paths_for_frames_flow_fuse(data_env, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    rc, err = run_cli(capsys, "frames", missing, "--out", tmp_path / "out")
    assert rc == 1
    assert_one_line(err, f"tsnlib frames: error: path not found [{missing}]: give a dataset folder, a list file or a "
                         "folder of videos")
    rc, err = run_cli(capsys, "flow", missing, "--out", tmp_path / "out")
    assert rc == 1
    assert_one_line(err, f"tsnlib flow: error: path not found [{missing}]: give a dataset folder, a list file or a "
                         "folder of videos")
    rc, err = run_cli(capsys, "fuse", tmp_path / "a.npz", tmp_path / "b.npz")
    assert rc == 1
    assert_one_line(err, f"tsnlib fuse: error: score file not found [{tmp_path / 'a.npz'}]")


# ---------------------------------------------------------------------------------------------
# predict and test
# ---------------------------------------------------------------------------------------------


def test_predict_missing_and_broken_video(checkpoint, tmp_path, capsys):
    missing = tmp_path / "none.mp4"
    rc, err = run_cli(capsys, "predict", missing, "--checkpoint", checkpoint, "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib predict: error: video file not found [{missing}]: give the path of a video file")
    broken = tmp_path / "text.mp4"
    broken.write_text("hello\n", encoding="utf-8")
    rc, err = run_cli(capsys, "predict", broken, "--checkpoint", checkpoint, "--device", "cpu")
    assert rc == 1
    assert "Traceback" not in err
    [line] = [ln for ln in err.strip().splitlines() if ln.startswith("tsnlib predict:")]
    assert line.startswith("tsnlib predict: error: ") and line.endswith(f"[{broken}]")
    assert "check-data" not in line  # a lone file has no list line to skip


@pytest.mark.parametrize("argv,message", [
    (["--clips", "-3"], "--clips must be a whole number >= 1, got -3"),
    (["--clips", "0"], "--clips must be a whole number >= 1, got 0"),
    (["--topk", "0"], "--topk must be a whole number >= 1, got 0"),
    (["--topk", "-2"], "--topk must be a whole number >= 1, got -2"),
])
def test_predict_refuses_counts_below_one(checkpoint, video, capsys, argv, message):
    rc, err = run_cli(capsys, "predict", video, "--checkpoint", checkpoint, "--device", "cpu", *argv)
    assert rc == 1
    assert_one_line(err, f"tsnlib predict: error: {message}")


def test_test_refuses_negative_clips(data_env, checkpoint, capsys):
    rc, err = run_cli(capsys, "test", PRESET, checkpoint, "--clips", "-3", "--device", "cpu")
    assert rc == 1
    assert_one_line(err, "tsnlib test: error: --clips must be a whole number >= 1, got -3")


def test_not_a_checkpoint(data_env, checkpoint, video, tmp_path, capsys):
    fake = tmp_path / "fake.pth"
    fake.write_text("not a checkpoint\n", encoding="utf-8")
    rc, err = run_cli(capsys, "predict", video, "--checkpoint", fake, "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib predict: error: '{fake}' is not a checkpoint (not a file written by torch.save): "
                         "give a last.pth or best.pth written by tsnlib train, or a state dict saved with torch.save")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(checkpoint.read_bytes()[:4000])
    rc, err = run_cli(capsys, "predict", video, "--checkpoint", truncated, "--device", "cpu")
    assert rc == 1
    [line] = err.strip().splitlines()
    assert line.startswith(f"tsnlib predict: error: '{truncated}' is not a checkpoint torch can read (truncated? "
                           "torch.load: ")
    assert line.endswith("give a last.pth or best.pth written by tsnlib train, or a state dict saved with torch.save")
    missing = tmp_path / "none.pth"
    rc, err = run_cli(capsys, "test", PRESET, missing, "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib test: error: checkpoint not found: '{missing}' (no such file)")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_device_cuda_without_a_gpu(data_env, checkpoint, video, tmp_path, capsys):
    expected = ("device 'cuda' (--device): no CUDA GPU is available on this machine; use cpu, or leave the device "
                "unset to pick the best one available")
    rc, err = run_cli(capsys, "predict", video, "--checkpoint", checkpoint, "--device", "cuda")
    assert rc == 1
    assert_one_line(err, f"tsnlib predict: error: {expected}")
    rc, err = run_cli(capsys, "train", PRESET, *QUICK, "--work-dir", tmp_path / "run", "--device", "cuda")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: {expected}")
    assert not (tmp_path / "run").exists()


def test_unknown_device(data_env, video, checkpoint, capsys):
    rc, err = run_cli(capsys, "predict", video, "--checkpoint", checkpoint, "--device", "gpu")
    assert rc == 1
    assert_one_line(err, "tsnlib predict: error: unknown device 'gpu' (--device): use cpu, cuda, cuda:N or mps")


# ---------------------------------------------------------------------------------------------
# training runs: resume, overwrite
# ---------------------------------------------------------------------------------------------


def test_resume_with_another_class_count_is_one_line(data_env, checkpoint, tmp_path, capsys):
    ckpt = checkpoints.load_checkpoint(checkpoint)
    ckpt["class_names"] = ckpt["class_names"][:5]
    ckpt["model"]["fc.weight"] = ckpt["model"]["fc.weight"][:5].clone()
    ckpt["model"]["fc.bias"] = ckpt["model"]["fc.bias"][:5].clone()
    other = tmp_path / "five_classes.pth"
    checkpoints.save_checkpoint(ckpt, other)
    rc, err = run_cli(capsys, "train", PRESET, *QUICK, "--work-dir", tmp_path / "run", "--resume", other,
                      "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: '{other}' was trained on 5 classes (DottedDisc, FlashBlue, FlashRed, "
                         "MoveLeft, ...), this config's dataset has 13 (DottedDisc, FlashBlue, FlashRed, MoveLeft, ...): "
                         "resuming continues a run on the same classes; to start from its weights on these classes "
                         "use --init-from (init_from=) instead")


def test_resume_into_an_empty_folder(data_env, tmp_path, capsys):
    wd = tmp_path / "run"
    rc, err = run_cli(capsys, "train", PRESET, *QUICK, "--work-dir", wd, "--resume", "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: nothing to resume in '{wd}': it has no last.pth; start the run without "
                         "--resume (resume=), or name the checkpoint: --resume CKPT")


@pytest.mark.slow  # trains two short runs
def test_a_folder_with_a_run_is_never_mixed_with_another(data_env, tmp_path, capsys):
    wd = tmp_path / "run"
    assert main(["train", PRESET, *QUICK, "--work-dir", str(wd), "--device", "cpu"]) == 0
    (wd / "best.pth").write_bytes((wd / "last.pth").read_bytes())  # as if an older run had validated
    (wd / "scores_old_3x3.npz").write_bytes(b"old")
    before = {p.name: p.stat().st_mtime_ns for p in wd.iterdir()}
    capsys.readouterr()
    rc, err = run_cli(capsys, "train", PRESET, *QUICK, "--work-dir", wd, "--device", "cpu")
    assert rc == 1
    assert_one_line(err, f"tsnlib train: error: '{wd}' already holds a run (best.pth, config.yaml, last.pth, "
                         "metrics.jsonl, scores_old_3x3.npz): continue it with --resume (resume=True), replace it "
                         "with --overwrite (overwrite=True; its files are deleted first), or give another --work-dir")
    assert {p.name: p.stat().st_mtime_ns for p in wd.iterdir()} == before  # nothing touched

    # --overwrite: the old run's files go first, so nothing of it is left beside the new one
    assert main(["train", PRESET, *QUICK, "--work-dir", str(wd), "--device", "cpu", "--overwrite"]) == 0
    assert "--overwrite: deleting the old run" in capsys.readouterr().out
    assert sorted(p.name for p in wd.iterdir()) == ["config.yaml", "last.pth", "metrics.jsonl"]
    assert [r["epoch"] for r in training.read_metrics(wd)] == [1]

    # --resume and --overwrite contradict each other
    rc, err = run_cli(capsys, "train", PRESET, *QUICK, "--work-dir", wd, "--device", "cpu", "--overwrite", "--resume")
    assert rc == 1
    assert_one_line(err, "tsnlib train: error: give resume (continue the run in the work folder) or overwrite "
                         "(replace it), not both")

    # the Python API has the same protection, with an explicit argument
    cfg = load_config(PRESET, QUICK)
    with pytest.raises(UsageError, match="already holds a run"):
        training.train(cfg, work_dir=wd, device="cpu")
    training.train(cfg, work_dir=wd, device="cpu", overwrite=True)


def test_run_files_ignore_a_folder_without_checkpoints(tmp_path):
    assert training.run_files(tmp_path / "none") == []
    (tmp_path / "config.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "metrics.jsonl").write_text("", encoding="utf-8")  # a run that failed before its first epoch
    assert training.run_files(tmp_path) == []
    (tmp_path / "epoch_002.pth").write_bytes(b"")
    assert [p.name for p in training.run_files(tmp_path)] == ["config.yaml", "epoch_002.pth", "metrics.jsonl"]


# ---------------------------------------------------------------------------------------------
# lists
# ---------------------------------------------------------------------------------------------


def test_lists_accept_paths_with_spaces(tiny_ucf101, tmp_path, capsys):
    from tsnlib.annotations import load_annotations

    root = tmp_path / "my data"
    shutil.copytree(tiny_ucf101 / "ucfTrainTestlist", root / "ucfTrainTestlist")
    (root / "UCF-101").symlink_to(tiny_ucf101 / "UCF-101", target_is_directory=True)
    out = tmp_path / "my lists"
    with pytest.warns(UserWarning, match="path\\(s\\) with spaces.*MMAction2's list loaders"):
        rc = main(["lists", str(root), "--out", str(out), "--splits", "1", "--relative-to", str(tmp_path)])
    assert rc == 0
    text = (out / "ucf101_train_split_1_videos.txt").read_text(encoding="utf-8")
    assert text.startswith("my data/UCF-101/")
    records, _ = load_annotations(out / "ucf101_train_split_1_videos.txt", kind="list", data_prefix=tmp_path)
    assert all(Path(r.path).is_file() for r in records) and len(records) == 26


def test_lists_leave_no_half_written_folder(tiny_ucf101, tmp_path, capsys):
    out = tmp_path / "lists"
    rc, err = run_cli(capsys, "lists", tiny_ucf101, "--out", out, "--splits", "1", "7")
    assert rc == 1
    [line] = err.strip().splitlines()
    assert line.startswith("tsnlib lists: error: ")
    assert not out.exists()  # split 1 was fine, split 7 is not: nothing was written
