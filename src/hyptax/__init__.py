"""hyptax: hyperbolic embeddings of large taxonomies.

>>> import hyptax
>>> result = hyptax.train("wordnet:mammals", dim=5, epochs=3)  # doctest: +SKIP
>>> result.embeddings.nearest("dog.n.01", k=3)  # doctest: +SKIP

See :mod:`hyptax.api` for :func:`train`, :func:`embed` and :func:`evaluate`. The
library logs (loggers under ``hyptax``) and never prints; ``logging.basicConfig(
level=logging.INFO)`` shows its progress lines.
"""

import logging

from .api import Report, Result, embed, evaluate, train
from .config import DataOptions, EvalConfig, TrainConfig
from .data import load_taxonomy
from .data.taxonomy import Taxonomy
from .embeddings import Embeddings, load
from .errors import ConfigError, HyptaxError
from .version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())  # the application configures

__all__ = [
    "ConfigError",
    "DataOptions",
    "Embeddings",
    "EvalConfig",
    "HyptaxError",
    "Report",
    "Result",
    "Taxonomy",
    "TrainConfig",
    "__version__",
    "embed",
    "evaluate",
    "load",
    "load_taxonomy",
    "train",
]
