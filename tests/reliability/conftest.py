"""Prints what the reliability tests measured at the end of ``pytest`` (also with -q):
the number of fuzz cases run per format, and the notes tests leave in
:data:`fuzzkit.NOTES` (kills survived, boundary fractions of the stress runs...)."""

from __future__ import annotations

from typing import Any

import fuzzkit


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if not fuzzkit.COUNTS and not fuzzkit.NOTES:
        return
    terminalreporter.write_sep("-", "hyptax reliability")
    if fuzzkit.COUNTS:
        total = sum(fuzzkit.COUNTS.values())
        parts = ", ".join(f"{k} {v:,}" for k, v in sorted(fuzzkit.COUNTS.items()))
        terminalreporter.write_line(f"fuzz: {total:,} generated cases run ({parts})")
    for line in fuzzkit.NOTES:
        terminalreporter.write_line(line)
