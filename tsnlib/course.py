"""Run the whole course in one go: ``python -m tsnlib.course`` (what ``make demo`` calls).

1. generates the built-in synthetic dataset for ``--seed`` (skipped when it is already there);
2. executes every ``notebooks/NN_*.ipynb`` with papermill into ``<out>/notebooks/``, in *course mode*
   (what a notebook opened in Jupyter does: enough training to learn) or, with ``--smoke``, in the
   seconds-long smoke mode the tests use (its numbers mean nothing); later notebooks reuse the runs
   of earlier ones from ``<out>``;
3. renders each executed notebook to HTML in ``<out>/html/`` so it reads in any browser
   (figures are also saved as PNG files in ``<out>/figures/`` by the notebooks themselves);
4. judges the course's lessons from what the notebooks left (:mod:`tsnlib.lessons`), prints one
   row per lesson with its 95 % interval and the paper's figure, and writes
   ``<out>/results/summary.json``.

``--paper`` runs only notebook 08 in its full mode (``make paper``): every run of the paper's tables that the
course has not made is trained, the rest reused, and the scoreboard printed (no lesson table).

``--seed N`` regenerates the synthetic set with generator seed N (under ``<data>/seed-N`` unless N is
0) and seeds every run with it, in ``<out>/seed-N`` (unless 0): the lessons must hold for any seed.
``--camera-share S`` films that share of the synthetic clips with a swaying hand-held camera (for warped
flow; the course's dataset has none), under ``<data>/camera-P`` and in ``<out>/camera-P``, ``P`` the
percentage (``seed-N-camera-P`` with a seed).

Papermill parameters can be passed to every notebook, as an instructor does in class:
``python -m tsnlib.course -p EPOCHS 1 -p NUM_SEGMENTS 5``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from tsnlib import synthetic
from tsnlib.lessons import combine_seeds, format_lessons, format_seeds, measure_lessons, write_summary
from tsnlib.paper_tables import format_scoreboard
from tsnlib.records import load_records
from tsnlib.utils import data_root, output_dir, repo_root, synthetic_root


#: The notebook of the paper's tables, which ``--paper`` runs in its full mode.
PAPER_NOTEBOOK = "08_paper_tables"


def notebook_paths(folder: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """The course notebooks in order (``NN_topic.ipynb``), optionally those whose name contains ``only``."""
    folder = folder or repo_root() / "notebooks"
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(o in p.stem for o in only)]
    return paths


def _parse_value(text: str):
    """Papermill's ``-p NAME VALUE`` typing: JSON-like literals, else the string."""
    try:
        return json.loads(text)
    except ValueError:
        lowered = text.lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        return text


def run_key(path: Path, parameters: dict, previous: str = "") -> str:
    """What a notebook's results depend on: its own text, the parameters, the library's sources and
    ``previous``, the key of the notebook before it (later notebooks reuse earlier ones' checkpoints,
    so a change that reruns notebook 03 reruns 04-06 too)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(previous.encode())
    h.update(json.dumps(parameters, sort_keys=True).encode())
    for src in sorted((repo_root() / "tsnlib").rglob("*")):
        if src.suffix in {".py", ".yaml"}:
            h.update(src.read_bytes())
    for var in ("TSN_DATA", "TSN_DEVICE"):
        h.update(os.environ.get(var, "").encode())
    return h.hexdigest()


def execute_notebook(path: Path, out: Path, parameters: dict, timeout: int | None = None) -> Path:
    """Execute one notebook with papermill into ``<out>/notebooks`` and render it to HTML."""
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    executed = out / "notebooks" / path.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(path),
        str(executed),
        parameters=parameters,
        cwd=str(path.parent),
        progress_bar=False,
        execution_timeout=timeout,
        kernel_name="python3",
        # the kernel's start-up log (a warning about TCP without encryption, on every start) is not the course's
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    html_dir = out / "html"
    html_dir.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    (html_dir / f"{path.stem}.html").write_text(body, encoding="utf-8")
    return executed


def format_results(records: dict[str, dict]) -> str:
    """The recorded numbers as a plain-text table: notebook · quantity · value."""
    rows = []
    for nb, values in records.items():
        for key, value in values.items():
            if isinstance(value, float):
                text = f"{value:.4g}"
            elif isinstance(value, (dict, list)):
                continue  # tables and per-class lists live in the notebook and its JSON file
            else:
                text = str(value)
            rows.append((nb, key, text))
    if not rows:
        return "(no results recorded)"
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{'notebook':<{w0}}  {'quantity':<{w1}}  value", "-" * (w0 + w1 + 10)]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def seed_folder(base: Path, seed: int, camera_share: float = 0.0) -> Path:
    """Where the course of generator ``seed`` (and ``camera_share``) keeps its data or outputs: ``base``
    for seed 0 without cameras, else ``base/seed-N``, ``base/camera-P`` or ``base/seed-N-camera-P``
    (``P``: the share in percent; ``base`` itself when it already is that folder, as after an earlier
    call of this process moved ``$TSN_OUTPUT`` / ``$TSN_DATA`` there)."""
    parts = ([f"seed-{seed}"] if seed else []) + ([f"camera-{round(100 * camera_share)}"] if camera_share else [])
    name = "-".join(parts)
    if not name or base.name == name:
        return base
    return base / name


def run_course(out=None, quick: bool = False, only=None, parameters: dict | None = None, data=None,
               force: bool = False, seed: int = 0, started: float | None = None, lessons: bool = True,
               camera_share: float = 0.0) -> dict:
    """Generate the data, execute the notebooks, render HTML; returns the recorded results.

    ``lessons``: measure, print and write the lesson table (``summary.json``) at the end; ``make paper``
    (``--paper``), which runs notebook 08 alone, does not. ``camera_share``: the synthetic set with
    that share of swaying clips, passed to the notebooks as ``CAMERA_SHARE`` (see :func:`seed_folder`).

    A notebook is skipped when it already ran with the same text, parameters and library sources,
    and every notebook before it is unchanged too (its key, :func:`run_key`, is kept in
    ``<out>/notebooks/.<name>.key``); ``force=True`` runs everything again.
    """

    started = time.time() if started is None else float(started)
    seed, camera_share = int(seed), float(camera_share)
    out = seed_folder(output_dir(out).resolve(), seed, camera_share)
    os.environ["TSN_OUTPUT"] = str(out)
    os.environ.setdefault("TSN_PROGRESS", "off")  # papermill would log every bar update
    os.environ.setdefault("MPLBACKEND", "Agg")
    if data:
        os.environ["TSN_DATA"] = str(Path(data).resolve())
    if seed or camera_share:
        os.environ["TSN_DATA"] = str(seed_folder(Path(data_root()).resolve(), seed, camera_share))

    cameras = f", {camera_share:.0%} of the clips swaying" if camera_share else ""
    print(f"[course] synthetic dataset: {synthetic_root()} (generator seed {seed}{cameras})")
    synthetic.generate_dataset(synthetic_root(), seed=seed, camera_share=camera_share)

    params = {"QUICK_RUN": bool(quick), "SEED": seed}
    if camera_share:  # only then: the course's own runs keep their keys
        params["CAMERA_SHARE"] = camera_share
    params.update(parameters or {})
    paths = notebook_paths(only=only)
    if not paths:
        raise SystemExit("no notebooks found")
    keys, previous = {}, ""
    for path in notebook_paths():  # chained over the whole course, whatever ``only`` selects
        previous = keys[path] = run_key(path, params, previous)
    for path in paths:
        key_file = out / "notebooks" / f".{path.stem}.key"
        key = keys.get(path) or run_key(path, params)
        done = (out / "notebooks" / path.name).exists() and (out / "html" / f"{path.stem}.html").exists()
        if not force and done and key_file.exists() and key_file.read_text() == key:
            print(f"[course] {path.name}: unchanged since its last run, skipped (--force runs it again)")
            continue
        start = time.perf_counter()
        mode = "smoke" if quick else "full" if params.get("MODE") == "full" else "course"
        print(f"[course] running {path.name} ({mode} mode) ...", flush=True)
        key_file.unlink(missing_ok=True)
        execute_notebook(path, out, params)
        key_file.write_text(key)
        print(f"[course]   done in {time.perf_counter() - start:.0f} s", flush=True)
    records = load_records(out)
    if not lessons:
        return records
    result = measure_lessons(out, seed=seed, demo_seconds=time.time() - started)
    summary_path = write_summary(result, out)
    print()
    if quick:
        print("SMOKE RUN: the networks trained for a few batches; these numbers are not results.")
    print(format_lessons(result))
    print(f"\nEvery recorded number: {out / 'results'} (summary: {summary_path.name})\n"
          f"Executed notebooks: {out / 'notebooks'}\nHTML: {out / 'html'}\nFigures: {out / 'figures'}")
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsnlib.course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="output folder (default $TSN_OUTPUT or outputs/)")
    parser.add_argument("--smoke", action="store_true",
                        help="the seconds-long smoke mode of the tests (QUICK_RUN True) instead of the course mode")
    parser.add_argument("--seed", type=int, default=0, help="generator and training seed (default 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="run the course once per seed (seed 0 in --out, seed N in <out>/seed-N) and print the "
                             "headline numbers over them")
    parser.add_argument("--full", action="store_true", help="the full mode: the course over seeds 0, 1 and 2 (--seeds 0 1 2)")
    parser.add_argument("--paper", action="store_true",
                        help="the paper's tables in full (make paper): notebook 08 with MODE full, which trains "
                             "every run the course has not made, then the scoreboard")
    parser.add_argument("--camera-share", type=float, default=0.0,
                        help="share of the synthetic clips filmed by a swaying camera, for warped flow (default 0: "
                             "the course's dataset; 0.25: one clip in four), in <out>/camera-P")
    parser.add_argument("--started", type=float, default=None,
                        help="Unix time the demo started (make demo passes it, so that set-up counts in the time)")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name contains one of these")
    parser.add_argument("--data", default=None, help="data folder (default $TSN_DATA or data/)")
    parser.add_argument("--force", action="store_true", help="run every notebook, even those unchanged since their last run")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter for every notebook, e.g. -p EPOCHS 1")
    args = parser.parse_args(argv)
    if not 0.0 <= args.camera_share <= 1.0:
        parser.error(f"--camera-share: a share of the clips, from 0 to 1; got {args.camera_share}")
    params = {name: _parse_value(value) for name, value in args.parameter}
    seeds = [0, 1, 2] if args.full else args.seeds
    if args.paper:
        run_course(out=args.out, quick=args.smoke, only=[PAPER_NOTEBOOK], parameters={**params, "MODE": "full"},
                   data=args.data, force=args.force, seed=args.seed, lessons=False, camera_share=args.camera_share)
        board = json.loads((seed_folder(output_dir(args.out).resolve(), args.seed, args.camera_share) / "results"
                            / "paper_tables.json").read_text())
        print(format_scoreboard(board))
        return 0
    if not seeds:
        run_course(out=args.out, quick=args.smoke, only=args.only, parameters=params, data=args.data, force=args.force,
                   seed=args.seed, started=args.started, camera_share=args.camera_share)
        return 0

    base_out, base_data = output_dir(args.out).resolve(), data_root(args.data).resolve()  # before any seed moves them
    summaries, held = [], []
    for seed in seeds:
        print(f"\n[course] ===== seed {seed} =====", flush=True)
        run_course(out=base_out, quick=args.smoke, only=args.only, parameters=params, data=base_data,
                   force=args.force, seed=seed, started=args.started if seed == seeds[0] else None,
                   camera_share=args.camera_share)
        seed_out = seed_folder(base_out, seed, args.camera_share)
        summary = json.loads((seed_out / "results" / "summary.json").read_text())
        summaries.append(summary)
        held.append(measure_lessons(seed_out, seed=seed)["all_hold"])
    combined = combine_seeds(summaries)
    path = base_out / "results" / "summary_seeds.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(combined, indent=2) + "\n")
    print("\nThe headline numbers over seeds (" + str(path) + "):")
    print(format_seeds(combined, held))
    return 0


if __name__ == "__main__":
    sys.exit(main())
