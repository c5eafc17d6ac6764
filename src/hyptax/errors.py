"""User-facing errors: one line, naming the file, the line and the problem.

Library code raises these; the CLI prints ``hyptax: error: <message>`` and exits
with status 2. Anything else escaping to the CLI is a bug in hyptax.
"""

from __future__ import annotations

import importlib
import reprlib
from os import PathLike
from types import ModuleType


class HyptaxError(Exception):
    """A problem the user can fix (bad input, bad flag, missing data)."""

    exit_code = 2


class InputError(HyptaxError):
    """Bad content in an input file.

    >>> str(InputError("self-loop: 'a' -> 'a'", path="edges.tsv", line=3))
    "edges.tsv: line 3: self-loop: 'a' -> 'a'"
    """

    def __init__(
        self, problem: str, *, path: str | PathLike[str] | None = None, line: int | None = None
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        super().__init__(": ".join([*where, problem]))


class ConfigError(HyptaxError):
    """A flag or configuration value out of range."""


class AmbiguousName(HyptaxError):
    """A display name that several nodes share; ``rows`` are their indices.

    >>> str(AmbiguousName("Bacillus", [0, 4], ["Bacillus (1386)", "Bacillus (55087)"]))
    "'Bacillus' names 2 nodes: Bacillus (1386), Bacillus (55087); ask for 'Bacillus (ID)' or the id"
    """

    SHOWN = 10

    def __init__(self, name: str, rows: list[int], labels: list[str]) -> None:
        self.name, self.rows = name, list(rows)
        more = f" and {len(labels) - self.SHOWN:,} more" if len(labels) > self.SHOWN else ""
        super().__init__(
            f"{name!r} names {len(rows):,} nodes: {', '.join(labels[: self.SHOWN])}{more}; "
            f"ask for '{name} (ID)' or the id"
        )


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 200


EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("plot", "pictures (hyptax plot)"),
    "nltk": ("wordnet", "the WordNet datasets"),
}
"""Optional dependencies: module -> (the extra that installs it, what needs it)."""


def require(module: str) -> ModuleType:
    """Import an optional dependency (a key of :data:`EXTRAS`), or raise a one-line
    HyptaxError naming the ``pip install`` that brings it.

    >>> require("nltk").__name__  # doctest: +SKIP
    'nltk'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module is there but broken: not ours to explain
            raise
        extra, what = EXTRAS[module]
        raise HyptaxError(
            f"{what} need {module}, which is not installed: pip install 'hyptax[{extra}]'"
        ) from None


def brief(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, for one-line messages; safe for
    deeply nested lists and for whole numbers too long to print.

    >>> brief("x" * 100, 10)
    "'xxxxxx..."
    """
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= width else text[: width - 3] + "..."
