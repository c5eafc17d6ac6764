"""Flag choices read from the library's registries, not copied into the CLI.

The registries of manifolds, optimisers and export formats live in modules that
import torch; :class:`Registry` reads one only when argparse needs its names (to
check a value given for that flag, to report a wrong one, or for ``--help``), so
building the parser, and commands such as ``hyptax info``, never import torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator


class Registry:
    """The names of ``module.attribute`` (a dict or a tuple), looked up when first used.

    Give the flag an explicit ``metavar``: argparse builds a default one by listing
    the choices, which would import the registry when the parser is built.

    >>> "rsgd" in Registry("hyptax.optim", "OPTIMIZERS")
    True
    """

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def names(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, value: object) -> bool:
        return value in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


MANIFOLDS = Registry("hyptax.manifolds", "MANIFOLDS")
OPTIMIZERS = Registry("hyptax.optim", "OPTIMIZERS")
EXPORT_FORMATS = Registry("hyptax.export", "FORMATS")
