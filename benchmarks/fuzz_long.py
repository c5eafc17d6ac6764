"""The long fuzz run: many more generated cases per input format than CI runs.

    python benchmarks/fuzz_long.py --cases 20000 --seed 1

Uses the hypothesis strategies and oracles of ``tests/reliability/fuzz/`` (each case: an
exact expected result or error where the input's meaning is known, the invariants
always, one-line HyptaxError or a correct result, a 10 s limit per case). Stops at the
first failing case and prints it; else prints a table of outcomes per format.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

import fuzz
from fuzz.cases import MARKER, Case, run_case
from fuzz.pickles import malicious_pickles
from notes import COUNTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases per format")
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed (CI derandomizes)")
    parser.add_argument("--formats", nargs="*", default=list(fuzz.STRATEGIES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            start = time.perf_counter()
            out = fuzz.generated(fmt, args.cases, Path(tmp), random_seed=args.seed)
            rows.append(
                (
                    fmt,
                    args.cases,
                    out.get("ok", 0),
                    out.get("error", 0),
                    out.get("exact", 0),
                    time.perf_counter() - start,
                )
            )
            print(f"{fmt}: done", file=sys.stderr, flush=True)
        marker = Path(tmp) / MARKER
        for name, raw in malicious_pickles(marker).items():
            path = Path(tmp) / "evil.pkl"
            path.write_bytes(raw)
            case = Case("pickle", str(path), name, str(path), forbidden=(marker,))
            case.error = "refused"
            run_case(case)
    print(f"{'format':<11} {'cases':>8} {'ok':>8} {'error':>8} {'exact':>8} {'seconds':>8}")
    for fmt, n, ok, err, exact, seconds in rows:
        print(f"{fmt:<11} {n:>8,} {ok:>8,} {err:>8,} {exact:>8,} {seconds:>8.1f}")
    total = sum(COUNTS.values())
    print(
        f"total: {total:,} cases (including {len(malicious_pickles(marker))} "
        f"code-running pickles), seed {args.seed}, no failure"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
