"""The prototype's closure pickles: the strategy :func:`pickle_cases`, the exact
outcome of a list of pairs (:func:`expect_pairs`) and pickles that would run code
(:func:`malicious_pickles`)."""

from __future__ import annotations

import builtins
import collections
import contextlib
import os
import pickle
import random
import struct
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .cases import Case, Writer, id_pairs, transitive
from .damage import BINARY_DAMAGE
from .graphs import closure_of, make_ids, random_edges


def deep(depth: int) -> Any:
    x: Any = "a"
    for _ in range(depth):
        x = [x]
    return x


BAD_RECORDS: dict[str, Any] = {
    "float": (1.5, "a"),
    "none": (None, "a"),
    "bool": (True, "a"),
    "bytes": (b"a", "b"),
    "empty-str": ("  ", "a"),
    "triple": ("a", "b", "c"),
    "dict-keys": {"child": "a", "parent": "b"},
    "string-record": "a,b",
    "deep": ("a", deep(2000)),
    "bigint": (10**5000, "a"),
    "nested-id": (("a",), "b"),
}
"""One record replaced by each of these must be refused."""

BAD_TOP: dict[str, Any] = {"top-dict": {"pairs": []}, "top-int": 42, "empty-list": [],
                           "set": {("a", "b")}}  # fmt: skip
"""Whole pickles that hold no list of records."""


def _pickle_pairs(r: random.Random, n: int) -> tuple[list[tuple[int, int]], list[str]]:
    edges = random_edges(r, n)
    pairs = closure_of(n, edges) if r.random() < 0.7 else list(edges)
    problems = []
    if r.random() < 0.06 and pairs:
        c, p = r.choice(pairs)
        pairs.append((p, c))
        problems.append("cycle")
    if r.random() < 0.04 and len(pairs) > 1:
        pairs += [(p, c) for c, p in list(pairs)]
        problems.append("cycle")
    if r.random() < 0.3:  # reflexive pairs, a closure convention
        pairs += [(k, k) for k in r.sample(range(n), r.randint(1, n))]
    if r.random() < 0.2 and pairs:
        pairs += r.choices(pairs, k=3)
    r.shuffle(pairs)
    return pairs, problems


def _records(r: random.Random, ids: list[str], pairs: list[tuple[int, int]], form: str):
    def rep(k: int) -> Any:
        s = ids[k]
        if s.isdigit() and r.random() < 0.6:
            return int(s)
        return r.choice(["", " ", "\t"]) + s + r.choice(["", "  "]) if r.random() < 0.2 else s

    out: list[Any] = []
    for c, p in pairs:
        a, b = rep(c), rep(p)
        if form == "taxid":
            out.append({"descendant_taxid": a, "ancestor_taxid": b, "distance": 1})
        elif form == "idx":
            out.append({"descendant_idx": a, "ancestor_idx": b})
        else:
            out.append((a, b) if form == "tuple" else [a, b])
    return out


def _pickle_bytes(data: Any, protocol: int) -> bytes:
    try:
        return pickle.dumps(data, protocol=protocol)
    except (RecursionError, ValueError):  # deep nesting or a huge int at a text protocol
        depth = 100_000  # built by opcodes: [("a", "b"), [[[...]]]]
        return (
            b"\x80\x02](X\x01\x00\x00\x00aX\x01\x00\x00\x00bta" + b"]" * depth + b"a" * depth + b"."
        )


def pickle_case(r: random.Random, folder: Path, *, form: str, protocol: int) -> Case:
    """The prototype's closure pickle, records of ``form`` at pickle ``protocol``:
    lists of records or pairs, good or bad."""
    n = r.choice([1, 2, 4, 9, 20]) + 1
    kinds = ["int"] if r.random() < 0.5 else ["word", "unicode", "tricky", "huge"]
    ids = make_ids(r, n, kinds)
    pairs, problems = _pickle_pairs(r, n)
    data: Any = _records(r, ids, pairs, form)
    bad = r.choice([*BAD_RECORDS, *BAD_TOP, "neg-int"]) if r.random() < 0.15 else None
    if bad in BAD_TOP:
        data = BAD_TOP[bad]
    elif bad is not None:
        record = (-7, "a") if bad == "neg-int" else BAD_RECORDS[bad]  # "-7" is a fine id
        data = [*data[: len(data) // 2], record, *data[len(data) // 2 :]]
    raw = _pickle_bytes(data, protocol)
    damage = r.choice([*BINARY_DAMAGE, "tail"]) if r.random() < 0.2 else None
    if damage == "tail":
        raw += r.randbytes(5)
    elif damage is not None:
        raw = bytes(BINARY_DAMAGE[damage](r, bytearray(raw)))
    path = folder / r.choice(["closure.pkl", "closure.pickle"])
    path.write_bytes(raw)
    kind = "+".join([form, f"p{protocol}", *([damage] if damage else []),
                     *([bad] if bad else []), *problems])  # fmt: skip
    case = Case("pickle", str(path), kind, str(path))
    if damage is None and bad is not None and bad != "neg-int":
        case.error = "record|expected|empty|refused"
    elif damage is None and bad is None:
        expect_pairs(case, {(ids[c].strip(), ids[p].strip()) for c, p in pairs})
    return case


def expect_pairs(case: Case, listed: set[tuple[str, str]]) -> None:
    """The exact outcome of a pickle of these (stripped) id pairs."""
    given = {e for e in listed if e[0] != e[1]}
    closure = transitive(given)
    if not listed:
        case.error = "empty"
    elif closure is None:
        case.error = "cycle"
    else:
        all_ids = {x for e in listed for x in e}

        def ok(tax: Any) -> None:
            assert set(tax.ids.tolist()) == all_ids, "ids differ"
            assert id_pairs(tax, tax.closure) == given, "given closure differs from the pairs"
            assert id_pairs(tax, tax.derived_closure()) == closure, "closure differs"

        case.ok = ok


class Reduce:
    """Unpickles as ``fn(*args)``: a payload."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


def malicious_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that would create ``marker`` (or run other code) if any global were
    resolved: every opcode that looks up a class or function, and nested cases."""
    import copyreg

    cmd = f"touch {marker}".encode()
    out = {
        "GLOBAL os.system": b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        "GLOBAL posix.system": b"cposix\nsystem\n(S'" + cmd + b"'\ntR.",
        "INST os.system": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "OBJ os.system": b"(cos\nsystem\nS'" + cmd + b"'\no.",
        "GLOBAL builtins.eval": b'cbuiltins\neval\n(S\'__import__("os").system("%s")\'\ntR.' % cmd,
        "GLOBAL builtins.exec": b'cbuiltins\nexec\n(S\'open("%s", "w")\'\ntR.'
        % str(marker).encode(),
        "builtins.getattr p0": b"cbuiltins\ngetattr\n(cos\nS'system'\ntR(S'" + cmd + b"'\ntR.",
        "importlib": b"cimportlib\nimport_module\n(S'os'\ntR.",
        "STACK_GLOBAL subprocess.call": pickle.dumps(
            Reduce(subprocess.call, ["touch", str(marker)]), protocol=4
        ),
        "STACK_GLOBAL builtins.open": pickle.dumps(Reduce(builtins.open, str(marker), "w"), 5),
        "REDUCE os.system p2": pickle.dumps(Reduce(os.system, cmd.decode()), protocol=2),
        "getattr chain": pickle.dumps(Reduce(getattr, Reduce(__import__, "os"), "system"), 3),
        "nested in records": pickle.dumps([("a", "b"), ("c", Reduce(os.system, cmd.decode()))]),
        "inside a dict record": pickle.dumps(
            [{"descendant_taxid": Reduce(os.system, cmd.decode()), "ancestor_taxid": 1}]
        ),
        "collections.OrderedDict": pickle.dumps(collections.OrderedDict(a=1)),
        "numpy array": pickle.dumps(np.array([1, 2])),
        "a class instance": pickle.dumps(Case("x", "y", "z", "w"), protocol=2),
    }
    code = 0x7FF0  # an extension code: resolved through find_class too
    with contextlib.suppress(ValueError):
        copyreg.add_extension("os", "system", code)
    short = b"U" + bytes([len(cmd)]) + cmd
    out["EXT2 os.system"] = b"\x80\x02\x83" + struct.pack("<H", code) + short + b"\x85R."
    return out


def pickle_cases() -> st.SearchStrategy[Writer]:
    """Closure pickles: the record form and pickle protocol drawn by hypothesis; ids,
    pairs, bad records and damage by a hypothesis-seeded Random."""
    return st.builds(
        partial,
        st.just(pickle_case),
        st.randoms(use_true_random=True),
        form=st.sampled_from(["taxid", "idx", "tuple", "list"]),
        protocol=st.integers(0, pickle.HIGHEST_PROTOCOL),
    )
