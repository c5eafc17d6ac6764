"""WordNet 3.0 noun hierarchies, built exactly as the reference experiments build them.

``wordnet:nouns`` is the transitive closure of the noun hypernym relation including
instance hypernyms, following facebookresearch/poincare-embeddings
(``wordnet/transitive_closure.py``): for every noun synset ``s``, the pairs
``(s, h)`` for each ``h`` in ``s``'s hypernym closure; and for every instance ``x``
(an instance hyponym of some synset), ``(x, h)`` for each ``h`` in ``x``'s
instance-hypernym closure, plus ``(x, a)`` for each ``a`` in the hypernym closure of
such an ``h``. On WordNet 3.0 that is 82,115 nodes and 743,086 pairs.

Those 743,086 pairs are not quite transitively closed: 155 pairs are implied but
missing, all through an instance that is also some synset's hypernym (``alabama.n.01``
has hypernym ``south.n.01``, an instance of ``geographical_area.n.01``, but the rule
never follows instance links above a hypernym). hyptax embeds and evaluates the
743,086 pairs exactly as listed (``Taxonomy.given_closure``), so results compare with
the field's; the parent edges and depths come from the exact transitive reduction,
whose own closure (``Taxonomy.derived_closure()``) has 743,241 pairs. ``stats``
records both (``closure_pairs_in``, ``closure_pairs_implied``). The mammal pairs are
closed (6,540 both ways).

``wordnet:mammals`` keeps the nodes below ``mammal.n.01`` and ``mammal.n.01``
itself, the closure pairs among them, drops the pairs matched by the reference
filter (``mammals_filter.txt``), and keeps the nodes still on a pair: 1,180 nodes
and 6,540 closure pairs. (The filter removes the pairs of ``tusker.n.01`` and
``female_mammal.n.01``, which are then left without pairs and dropped.)

Both are read offline from Debian's ``wordnet-base`` files (``/usr/share/wordnet``)
with nltk's :class:`~nltk.corpus.reader.wordnet.WordNetCorpusReader`. The parent
edges are the transitive reduction of the closure (:meth:`Taxonomy.from_closure`).

>>> tax = load("mammals")  # doctest: +SKIP
>>> tax.n_nodes, tax.n_closure  # doctest: +SKIP
(1180, 6540)
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from importlib import resources
from operator import methodcaller
from pathlib import Path

import numpy as np

from ..errors import HyptaxError, require
from ..files import os_problem
from . import csr
from .edgelist import reduce_closure
from .taxonomy import Taxonomy, unique_sorted

DEFAULT_ROOT = "/usr/share/wordnet"
MAMMAL = "mammal.n.01"
WHICH = ("nouns", "mammals")

# WordNet 3.0's lexicographer files (the standard ``lexnames`` file: number, name,
# syntactic category). Debian's wordnet-base does not ship it, but nltk's reader
# needs it to start, so it is written into the staging folder.
LEXNAMES: tuple[tuple[str, int], ...] = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1), ("noun.act", 1),
    ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1), ("noun.body", 1),
    ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1),
    ("noun.feeling", 1), ("noun.food", 1), ("noun.group", 1), ("noun.location", 1),
    ("noun.motive", 1), ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1),
    ("noun.plant", 1), ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1),
    ("noun.relation", 1), ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1),
    ("noun.time", 1), ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2),
    ("verb.communication", 2), ("verb.competition", 2), ("verb.consumption", 2),
    ("verb.contact", 2), ("verb.creation", 2), ("verb.emotion", 2), ("verb.motion", 2),
    ("verb.perception", 2), ("verb.possession", 2), ("verb.social", 2),
    ("verb.stative", 2), ("verb.weather", 2), ("adj.ppl", 3),
)  # fmt: skip

# The files nltk's reader opens (index.sense is optional; Debian does not ship it).
_POS = ("noun", "verb", "adj", "adv")
REQUIRED_FILES = (
    *(f"data.{p}" for p in _POS),
    *(f"index.{p}" for p in _POS),
    *(f"{p}.exc" for p in _POS),
)
OPTIONAL_FILES = ("cntlist.rev", "index.sense")

_instance_hypernyms = methodcaller("instance_hypernyms")


def load(which: str, root: str | None = None) -> Taxonomy:
    """Load ``wordnet:nouns`` or ``wordnet:mammals`` from the WordNet 3.0 files in ``root``.

    Args:
        which: ``"nouns"`` or ``"mammals"``.
        root: the folder holding ``data.noun``, ``index.noun``...; default
            ``/usr/share/wordnet`` (Debian/Ubuntu ``apt-get install wordnet-base``).

    Raises:
        HyptaxError: unknown ``which``, or no WordNet files in ``root``.
    """
    if which not in WHICH:
        raise HyptaxError(f"unknown WordNet set {which!r}: use one of {', '.join(WHICH)}")
    folder = Path(root or DEFAULT_ROOT)
    with open_reader(folder) as reader:
        ids, desc, anc = noun_closure(reader)
    spec = f"wordnet:{which}" + (f"@{root}" if root else "")
    stats: dict[str, int] = {}
    if which == "nouns":
        definition = (
            "WordNet 3.0 noun hypernym closure including instance hypernyms (every noun "
            "synset; the poincare-embeddings transitive_closure.py rule), pairs as listed"
        )
    else:
        ids, desc, anc, stats = mammal_subset(ids, desc, anc)
        definition = (
            f"WordNet 3.0 nouns below {MAMMAL} and {MAMMAL} itself, closure pairs among "
            "them minus the poincare-embeddings mammals_filter.txt pairs, nodes left on a pair"
        )
    # Pairs the reference rule implies but does not list (see the module docstring) are
    # counted in stats["closure_pairs_implied"], never hidden.
    return reduce_closure(
        ids, desc, anc, source=spec, definition=definition, stats=stats, path=str(folder)
    )


@contextlib.contextmanager
def open_reader(root: str | Path) -> Iterator[object]:
    """An nltk ``WordNetCorpusReader`` over the WordNet 3.0 files in ``root``, offline.

    The files are copied (about 28 MB, a few milliseconds) into a private temporary
    folder together with the ``lexnames`` file Debian lacks. nltk 3.10's path
    sandbox only opens files under a root listed in ``nltk.data.path`` and resolves
    symbolic links first, so linking the files would not do; the staging folder is
    added to ``nltk.data.path`` only while the reader is used, and the list is
    restored afterwards, so this never widens the sandbox for the rest of the process.
    """
    root = Path(root)
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        where = (
            "does not exist"
            if not root.exists()
            else "is not a folder"
            if not root.is_dir()
            else f"has no {missing[0]}"
        )
        raise HyptaxError(
            f"{root}: WordNet 3.0 {where}; install Debian's wordnet-base "
            "(`apt-get install wordnet-base`) or pass wordnet:nouns@DIR with the folder "
            "holding data.noun and index.noun"
        )
    nltk = require("nltk")
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _Reader(WordNetCorpusReader):  # type: ignore[misc]
        # These files are WordNet 3.0 itself, so no version map is needed; nltk's own
        # map_wn would load the downloadable "wordnet" corpus to build one.
        def map_wn(self, version: str = "wordnet") -> None:
            return None

    with tempfile.TemporaryDirectory(prefix="hyptax-wordnet-") as tmp:
        staging = Path(tmp)
        try:
            for name in REQUIRED_FILES + OPTIONAL_FILES:
                if (root / name).is_file():
                    shutil.copyfile(root / name, staging / name)
        except OSError as exc:
            raise HyptaxError(f"{root}: cannot read WordNet files: {os_problem(exc)}") from None
        lexnames = "".join(f"{i:02d}\t{n}\t{c}\n" for i, (n, c) in enumerate(LEXNAMES))
        (staging / "lexnames").write_text(lexnames, encoding="utf-8")
        saved = list(nltk.data.path)
        nltk.data.path.insert(0, str(staging))
        try:
            with warnings.catch_warnings():
                # omw_reader=None: no multilingual data, and nltk warns about exactly that.
                warnings.filterwarnings("ignore", message="The multilingual functions")
                yield _Reader(str(staging), omw_reader=None)
        finally:
            nltk.data.path[:] = saved


def noun_closure(reader: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference noun closure: ``(ids, desc, anc)``.

    ``ids`` are synset names (``"dog.n.01"``) in ``data.noun`` order; ``desc``/``anc``
    are int64 index pairs, unique and sorted. The hypernym closure is computed once,
    vectorised (:attr:`Taxonomy.closure`), instead of one breadth-first search per
    synset as in the reference script; the pairs are the same.
    """
    synsets = list(reader.all_synsets("n"))  # type: ignore[attr-defined]
    names = [s.name() for s in synsets]
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    hc, hp, ic, ip = [], [], [], []
    for i, s in enumerate(synsets):
        for h in s.hypernyms():
            hc.append(i)
            hp.append(index[h.name()])
        for inst in s.instance_hyponyms():
            for h in inst.closure(_instance_hypernyms):
                ic.append(index[inst.name()])
                ip.append(index[h.name()])
    up = Taxonomy.from_edges(names, np.array(hc), np.array(hp))
    hd, ha = (a.astype(np.int64) for a in up.closure)  # sorted by desc
    # Instance x with instance hypernym h: (x, h) and (x, a) for each hypernym a of h.
    x, h = np.array(ic, dtype=np.int64), np.array(ip, dtype=np.int64)
    starts = np.searchsorted(hd, np.arange(n + 1))
    pos, cnt = csr.positions(starts, h)
    desc = np.concatenate([hd, x, np.repeat(x, cnt)])
    anc = np.concatenate([ha, h, ha[pos]])
    key = unique_sorted(desc * n + anc)
    ids = np.empty(n, dtype=object)
    ids[:] = names
    return ids, key // n, key % n


def mammal_subset(
    ids: np.ndarray, desc: np.ndarray, anc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """The reference mammal closure cut from the noun closure (see the module docstring).

    Returns the kept ``ids`` (noun order), the re-indexed pairs, and counts of what was
    dropped (``filtered_pairs``, ``filtered_nodes``).
    """
    mammal = int(np.flatnonzero(ids == MAMMAL)[0])
    inside = np.zeros(len(ids), dtype=bool)
    inside[desc[anc == mammal]] = True
    inside[mammal] = True
    sel = np.flatnonzero(inside[desc] & inside[anc])
    patterns = mammal_filter()
    pairs = zip(ids[desc[sel]], ids[anc[sel]], strict=True)
    drop = np.array([any(p.search(f"{d}\t{a}") for p in patterns) for d, a in pairs], dtype=bool)
    kept = sel[~drop]
    used = np.unique(np.concatenate([desc[kept], anc[kept]]))
    new = np.full(len(ids), -1, dtype=np.int64)
    new[used] = np.arange(len(used))
    stats = {"filtered_pairs": int(drop.sum()), "filtered_nodes": int(inside.sum() - len(used))}
    return ids[used], new[desc[kept]], new[anc[kept]], stats


def mammal_filter() -> list[re.Pattern[str]]:
    """The reference filter's patterns (``mammals_filter.txt`` beside this module)."""
    text = resources.files("hyptax.data").joinpath("mammals_filter.txt").read_text("utf-8")
    return [re.compile(s) for s in text.splitlines() if s and not s.startswith("#")]
