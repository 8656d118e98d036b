"""The ``tsnlib`` command line: ``python -m tsnlib <subcommand>`` or the installed ``tsnlib``.

Each subcommand lives in the module of its idea, which exposes ``add_<name>_arguments(parser)``
and ``cli_<name>(args) -> int``; this file only dispatches, importing a module when its
subcommand is used (so ``tsnlib info`` stays fast and works with parts of the stack missing).

Errors: an expected error (:class:`tsnlib.errors.TsnlibError`: bad config, data, checkpoint or
argument; or an ``OSError`` such as a full disk) is printed as one line,
``tsnlib <command>: error: <what, where, what to do>``, with exit status 1. Any other exception is
a bug: its traceback is printed, then a line saying so. ``--debug`` (anywhere on the command line)
or ``TSNLIB_DEBUG=1`` prints the traceback of every error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from tsnlib.errors import TsnlibError, one_line

#: subcommand → (module, one-line help). The module defines add_<cmd>_arguments and cli_<cmd>.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("tsnlib.info", "versions, device, decoders and flow methods, OK/FAIL per line"),
    "synth": ("tsnlib.commands.data", "generate the built-in synthetic action dataset"),
    "check-data": ("tsnlib.checks", "scan a dataset and report every problem at once"),
    "lists": ("tsnlib.commands.data", "write MMAction2-style list files for a dataset and split"),
    "frames": ("tsnlib.commands.extract", "extract RGB frame folders (img_00001.jpg, ...) from videos"),
    "train": ("tsnlib.commands.run", "train a TSN from a config preset or file"),
    "test": ("tsnlib.commands.run", "test a checkpoint with the full test protocol, save scores"),
    "predict": ("tsnlib.commands.run", "top-5 classes for any video file; --out writes it with a Grad-CAM overlay"),
    "flow": ("tsnlib.commands.extract", "extract optical flow into frame folders (flow_x/flow_y JPEGs)"),
    "fuse": ("tsnlib.fusion", "late fusion of saved score files"),
}


def _func_name(cmd: str) -> str:
    return cmd.replace("-", "_")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsnlib", description="Temporal Segment Networks: the course library's command line.",
        epilog="Errors are printed as one line (exit status 1); --debug anywhere on the command line, or "
               "TSNLIB_DEBUG=1, also prints their traceback.",
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of every error")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for cmd, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(cmd, help=help_text, description=help_text)
        if cmd != only:
            continue  # other subcommands' modules are imported only when used
        mod = importlib.import_module(module)
        getattr(mod, f"add_{_func_name(cmd)}_arguments")(p)
        p.set_defaults(_module=module)
    return parser


def debug_enabled(argv: list[str] | None = None) -> bool:
    """Whether errors keep their traceback: ``--debug`` in ``argv`` or ``TSNLIB_DEBUG`` set to 1/true/yes."""
    env = os.environ.get("TSNLIB_DEBUG", "").strip().lower()
    return "--debug" in (argv or []) or env in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled(argv)
    argv = [a for a in argv if a != "--debug"]
    cmd = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=cmd if cmd in COMMANDS else None)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        mod = importlib.import_module(COMMANDS[args.command][0])
        result = getattr(mod, f"cli_{_func_name(args.command)}")(args)
    except (TsnlibError, OSError) as err:  # expected: the user can fix it; the message says how
        if debug:
            raise
        print(f"tsnlib {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"tsnlib {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: keep everything a report needs
        traceback.print_exc()
        print(f"tsnlib {args.command}: unexpected error ({type(err).__name__}): this is a bug in tsnlib, not in "
              "your input; please report it with the traceback above", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
