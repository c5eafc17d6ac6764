"""The manifolds by name, and the lookup that lists the valid names when a name is
wrong."""

from __future__ import annotations

from ..errors import ConfigError
from .classes import Lorentz, Manifold, PoincareBall

MANIFOLDS: dict[str, type[PoincareBall] | type[Lorentz]] = {
    "poincare": PoincareBall,
    "lorentz": Lorentz,
}


def get_manifold(name: str) -> Manifold:
    """An instance of the named manifold; unknown names raise ConfigError listing valid ones."""
    try:
        return MANIFOLDS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown manifold {name!r}; choose one of: {', '.join(MANIFOLDS)}"
        ) from None
