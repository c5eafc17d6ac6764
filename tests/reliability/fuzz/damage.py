"""Damage done to the bytes of a good file: text files (edge lists, taxdumps) and
binary ones (pickles, prepared datasets, checkpoints). Each kind takes a
hypothesis-seeded :class:`random.Random` and the bytes."""

from __future__ import annotations

import random
from collections.abc import Callable


def _flip(r: random.Random, b: bytearray, most: int = 4) -> bytearray:
    for _ in range(r.randint(1, most)):
        if b:
            b[r.randrange(len(b))] = r.randrange(256)
    return b


def _insert(r: random.Random, b: bytearray) -> bytearray:
    for _ in range(r.randint(1, 4)):
        at = r.randrange(len(b) + 1)
        b[at:at] = bytes(r.randrange(256) for _ in range(r.randint(1, 3)))
    return b


def _delete_separator(r: random.Random, b: bytearray) -> bytearray:
    for sep in (b",", b"\t", b" "):
        at = b.find(sep, r.randrange(len(b) + 1))
        if at >= 0:
            del b[at]
            break
    return b


def _mixed_encodings(r: random.Random, b: bytearray) -> bytearray:
    """One line re-encoded as latin-1."""
    lines = bytes(b).split(b"\n")
    k = r.randrange(len(lines))
    lines[k] = (lines[k].decode("utf-8", "replace") + "é").encode("latin-1", "replace")
    return bytearray(b"\n".join(lines))


def _recode(codec: str) -> Callable[[random.Random, bytearray], bytearray]:
    def recode(r: random.Random, b: bytearray) -> bytearray:
        return bytearray(bytes(b).decode("utf-8", "replace").encode(codec, "replace"))

    return recode


TEXT_DAMAGE: dict[str, Callable[[random.Random, bytearray], bytearray]] = {
    "truncate": lambda r, b: b[: r.randrange(len(b))] if b else b,
    "flip": _flip,
    "insert": _insert,
    "delete-separator": _delete_separator,
    "latin1": _recode("latin-1"),
    "utf16": _recode("utf-16"),
    "mixed-encodings": _mixed_encodings,
    "nul": lambda r, b: b[:0] + b"\x00" + b,
    "swap-delimiters": lambda r, b: bytearray(bytes(b).replace(b"\t", b";").replace(b",", b"\t")),
    "random": lambda r, b: bytearray(r.randbytes(r.randint(1, 400))),
    "empty": lambda r, b: bytearray(),
    "whitespace": lambda r, b: bytearray(b" \n\t\r\n  \n"),
}


def mutate_text(r: random.Random, raw: bytes) -> tuple[str, bytes]:
    """Damage a text file; returns ``(what was done, the bytes)``."""
    kind = r.choice(list(TEXT_DAMAGE))
    return kind, bytes(TEXT_DAMAGE[kind](r, bytearray(raw)))


BINARY_DAMAGE: dict[str, Callable[[random.Random, bytearray], bytearray]] = {
    "truncate": lambda r, b: b[: r.randrange(len(b))] if b else b,
    "flip": lambda r, b: _flip(r, b, 6),
    "append": lambda r, b: b + r.randbytes(r.randint(1, 100)),
    "garbage": lambda r, b: bytearray(r.randbytes(r.randint(1, 600))),
    "empty": lambda r, b: bytearray(),
}
