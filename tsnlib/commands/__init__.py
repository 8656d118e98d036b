"""The command line's subcommands, apart from the domain modules they call.

Each module here defines ``add_<name>_arguments(parser)`` and ``cli_<name>(args) -> int`` for its
subcommands; :mod:`tsnlib.cli` dispatches to them (see its ``COMMANDS`` table).
"""
