"""hyptax: hyperbolic embeddings of large taxonomies."""

__version__ = "0.1.0"
