"""``python -m tsnlib`` is the same as the installed ``tsnlib`` command."""

from tsnlib.cli import main

if __name__ == "__main__":  # worker processes (spawn start method) re-import this module
    raise SystemExit(main())
