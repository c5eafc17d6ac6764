"""hyptax: hyperbolic embeddings of large taxonomies."""

__version__ = "0.1.0"

from .data import load_taxonomy  # noqa: E402

__all__ = ["__version__", "load_taxonomy"]
