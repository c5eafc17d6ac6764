"""The parser of every ``hyptax`` command, and :func:`main`, which runs one and turns
errors into a one-line message and an exit status (see :mod:`hyptax.cli`)."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import HyptaxError
from ..version import __version__

COMMAND_MODULES = ("data_cmds", "train_cmds", "eval_cmds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyptax",
        description="Hyperbolic embeddings of large taxonomies.",
    )
    parser.add_argument("--version", action="version", version=f"hyptax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HyptaxError as exc:
        print(f"hyptax: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except MemoryError as exc:  # an allocation no estimate foresaw
        detail = f" ({' '.join(str(exc).split())})" if str(exc) else ""
        print(
            f"hyptax: error: out of memory{detail}; try a smaller --dim, --dtype float32, "
            "--sample N, or a smaller dataset",
            file=sys.stderr,
        )
        return HyptaxError.exit_code
    except KeyboardInterrupt:
        print("hyptax: interrupted", file=sys.stderr)
        return 130
