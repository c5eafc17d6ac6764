"""Frozen dataclasses: the one place where defaults live.

The CLI turns flags into these; library code receives them (never an argparse
namespace). ``asdict`` of a resolved config is written beside every run and inside
every checkpoint, and :func:`from_dict` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from .errors import ConfigError

MAIN_RANKS: tuple[str, ...] = (
    "superkingdom",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
)
"""NCBI's main ranks, top down. ``domain`` (NCBI's 2025 name) is read as ``superkingdom``."""

RANK_ALIASES: dict[str, str] = {"domain": "superkingdom"}


@dataclass(frozen=True)
class DataOptions:
    """How a dataset spec is turned into a taxonomy (NCBI clade options).

    Attributes:
        ranks: ``"main"`` keeps only the main ranks (plus the clade's own top node),
            re-parenting each kept taxon to its nearest kept ancestor; ``"all"`` keeps
            every rank.
        lowest_rank: the lowest main rank kept (e.g. ``"genus"``, ``"species"``); taxa
            below it are dropped. ``None`` keeps everything down to the leaves.
        clean: drop placeholder taxa (see ``hyptax.data.ncbi.CLEAN_RULES``).
    """

    ranks: str = "all"
    lowest_rank: str | None = None
    clean: bool = False

    def __post_init__(self) -> None:
        if self.ranks not in ("main", "all"):
            raise ConfigError(f"--ranks must be 'main' or 'all', not {self.ranks!r}")
        if self.lowest_rank is not None:
            rank = RANK_ALIASES.get(self.lowest_rank, self.lowest_rank)
            if rank not in MAIN_RANKS:
                valid = ", ".join(MAIN_RANKS)
                raise ConfigError(f"--lowest-rank must be one of {valid}, not {self.lowest_rank!r}")
            object.__setattr__(self, "lowest_rank", rank)


T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a config dataclass from ``asdict`` output, ignoring unknown keys."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def to_dict(config: Any) -> dict[str, Any]:
    return asdict(config)
