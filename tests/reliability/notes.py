"""What the reliability tests measured, printed at the end of the run by
``tests/conftest.py`` (also with ``-q``).

A test appends a line to :data:`NOTES` (kills survived, boundary fractions of the
stress runs...); the fuzz tests count their generated cases in :data:`COUNTS`.
"""

from __future__ import annotations

import collections

COUNTS: collections.Counter[str] = collections.Counter()
"""Fuzz cases run in this process, by format."""

NOTES: list[str] = []
"""Lines the reliability tests report at the end of the run."""
