"""Fuzz cases for every hyptax input format, as hypothesis strategies.

One module per format (:mod:`.edges`, :mod:`.taxdump`, :mod:`.pickles`,
:mod:`.prepared`, :mod:`.checkpoints`), each with a strategy of writers (a writer
puts one input in a folder and returns its :class:`~.cases.Case`); :mod:`.cases`
holds the runner and the oracles, :mod:`.graphs` and :mod:`.damage` the raw material.
Used by ``test_fuzz_parsers.py`` (quick and slow tiers) and ``benchmarks/fuzz_long.py``.
"""

from __future__ import annotations

import collections
from pathlib import Path

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from .cases import Writer, examples, fresh_folder, run_case
from .checkpoints import checkpoint_cases
from .edges import edge_cases
from .pickles import pickle_cases
from .prepared import prepared_cases
from .taxdump import taxdump_cases

STRATEGIES: dict[str, st.SearchStrategy[Writer]] = {
    "edges": edge_cases(),
    "taxdump": taxdump_cases(),
    "pickle": pickle_cases(),
    "prepared": prepared_cases(),
    "checkpoint": checkpoint_cases(),
}


def generated(fmt: str, n: int, root: Path, *, random_seed: int | None = None) -> dict[str, int]:
    """Run ``n`` hypothesis examples of ``fmt`` (derandomized, or from ``random_seed``);
    returns outcome counts (``ok``, ``error``, and ``exact``: cases with an exact
    expected outcome). The first failing case raises, shrunk by hypothesis."""
    outcomes: collections.Counter[str] = collections.Counter()
    chosen = examples(n) if random_seed is None else settings(examples(n), derandomize=False)

    @chosen
    @given(writer=STRATEGIES[fmt])
    def one(writer: Writer) -> None:
        case = writer(fresh_folder(root, fmt))
        outcome, _ = run_case(case)
        outcomes[outcome] += 1
        outcomes["exact"] += case.ok is not None or case.error is not None

    if random_seed is not None:
        one = seed(random_seed)(one)
    one()
    return dict(outcomes)
