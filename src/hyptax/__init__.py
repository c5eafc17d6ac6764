"""hyptax: hyperbolic embeddings of large taxonomies."""

__version__ = "0.1.0"

from .data import load_taxonomy

__all__ = ["Embeddings", "__version__", "load", "load_taxonomy"]


def __getattr__(name: str) -> object:
    """``hyptax.load`` and ``hyptax.Embeddings``, imported on first use (they need torch)."""
    if name in ("load", "Embeddings"):
        from . import embeddings

        return getattr(embeddings, name)
    raise AttributeError(f"module 'hyptax' has no attribute {name!r}")
