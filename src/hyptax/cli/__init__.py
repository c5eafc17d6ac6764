"""The ``hyptax`` command line: argparse lives here and in the command modules beside it.

Each command module exposes ``register(subparsers)``, which adds its subcommands and
sets ``handler`` to a function ``(args) -> int``. Handlers turn flags into config
dataclasses and call the library; :class:`~hyptax.errors.HyptaxError` becomes a
one-line message and exit status 2.
"""

from .app import COMMAND_MODULES, build_parser, main

__all__ = ["COMMAND_MODULES", "build_parser", "main"]
