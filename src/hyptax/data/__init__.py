"""Data: each source parsed into a :class:`~hyptax.data.taxonomy.Taxonomy`.

A dataset spec (``ncbi:Mammalia``, ``wordnet:nouns``, ``edges.csv``...; the table is in
:mod:`hyptax.data.specs`) names data everywhere; :func:`load_taxonomy` reads it, through
the cache (:mod:`.cache`). Sources: :mod:`.ncbi` and :mod:`.snapshot` (the bundled NCBI
snapshot), :mod:`.taxdump`, :mod:`.wordnet`, :mod:`.edgelist` (edge lists and the
prototype's pickle), :mod:`.prepared` (datasets written by ``hyptax prepare``).
"""

from ..config import DataOptions
from .specs import IN_MEMORY, load_taxonomy, resolve_spec
from .taxonomy import Taxonomy

__all__ = ["IN_MEMORY", "DataOptions", "Taxonomy", "load_taxonomy", "resolve_spec"]
