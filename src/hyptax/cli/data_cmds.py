"""``hyptax prepare`` and ``hyptax info``, and the data flags every command shares."""

from __future__ import annotations

import argparse
import sys
import time

from ..config import MAIN_RANKS, DataOptions
from ..data import load_taxonomy, prepared
from ..data.summary import format_summary, summarize
from ..data.taxonomy import Taxonomy
from ..errors import ConfigError
from ..files import is_stdout, write_json


def add_spec(p: argparse.ArgumentParser, text: str) -> None:
    """A positional SPEC, or ``--data SPEC`` (every command names its data either way)."""
    p.add_argument("spec", nargs="?", metavar="SPEC", help=text)
    p.add_argument("--data", metavar="SPEC", help="the same as the positional SPEC")


def given_spec(args: argparse.Namespace) -> str:
    """The one dataset spec of ``prepare`` or ``info``: SPEC or ``--data``."""
    if args.spec and args.data and args.spec != args.data:
        raise ConfigError(f"two datasets given: SPEC {args.spec!r} and --data {args.data!r}")
    spec = args.spec or args.data
    if not spec:
        raise ConfigError("no dataset given: pass SPEC or --data SPEC")
    return spec


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The NCBI clade flags, shared by every command that takes ``--data``."""
    group = parser.add_argument_group("dataset options (NCBI clades and taxdumps)")
    group.add_argument(
        "--ranks",
        choices=("main", "all"),
        default=DataOptions.ranks,
        help="rank skeleton: main ranks only (re-parented) or every rank (default: %(default)s)",
    )
    group.add_argument(
        "--lowest-rank",
        choices=(*MAIN_RANKS, "domain"),
        default=DataOptions.lowest_rank,
        help="lowest main rank kept, e.g. genus or species (default: keep all)",
    )
    group.add_argument(
        "--clean",
        action="store_true",
        help="drop placeholder taxa (sp., cf., uncultured, environmental samples, ...)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="read the dataset from its source, not from (nor into) the cache of prepared "
        "datasets (hyptax cache info)",
    )


def data_options(args: argparse.Namespace) -> DataOptions:
    return DataOptions(ranks=args.ranks, lowest_rank=args.lowest_rank, clean=args.clean)


def load_with_status(spec: str, options: DataOptions, *, cache: bool = True) -> Taxonomy:
    """Load a dataset, telling the user on stderr what is happening and how long it took."""
    print(f"loading {spec} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    tax = load_taxonomy(spec, options, cache=cache)
    n_closure = tax.n_closure
    print(
        f"loaded {spec}: {tax.n_nodes:,} nodes, {n_closure:,} closure edges "
        f"in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return tax


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="prepare a dataset once, as a compact .npz file")
    add_spec(p, "dataset spec (ncbi:small, wordnet:nouns, FILE...)")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE.npz", help="where to write it (- for stdout)"
    )
    add_data_options(p)
    p.set_defaults(handler=_prepare)

    p = sub.add_parser("info", help="print what a dataset holds")
    add_spec(p, "dataset spec or prepared .npz file")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON (- for stdout)")
    add_data_options(p)
    p.set_defaults(handler=_info)

    p = sub.add_parser("cache", help="the cache of prepared datasets: what it holds, or clear it")
    p.add_argument("action", choices=("info", "clear"), help="list the cached datasets, or "
                   "remove them all")  # fmt: skip
    p.set_defaults(handler=_cache)


def _prepare(args: argparse.Namespace) -> int:
    spec = given_spec(args)
    if not args.output.lower().endswith(".npz") and not is_stdout(args.output):
        args.output += ".npz"
    tax = load_with_status(spec, data_options(args), cache=not args.no_cache)
    meta = prepared.save(tax, args.output)
    say = sys.stderr if is_stdout(args.output) else sys.stdout  # stdout holds the data
    print(format_summary(summarize(tax)), file=say)
    print(f"wrote {args.output} (hash {meta['hash']})", file=say)
    return 0


def _info(args: argparse.Namespace) -> int:
    tax = load_with_status(given_spec(args), data_options(args), cache=not args.no_cache)
    info = summarize(tax)
    print(format_summary(info), file=sys.stderr if is_stdout(args.json) else sys.stdout)
    if args.json:
        write_json(args.json, info)
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ..data import cache
    from ..training.memory import size

    if args.action == "clear":
        n, total = cache.clear()
        print(f"removed {n} cached dataset(s), {size(total)}, from {cache.folder()}")
        return 0
    entries = cache.entries()
    total = sum(e["bytes"] for e in entries)
    print(f"{cache.folder()}: {len(entries)} cached dataset(s), {size(total)} "
          f"(set {cache.ENV} to move it; --no-cache skips it)")  # fmt: skip
    for e in entries:
        nodes = "damaged" if e["n_nodes"] is None else f"{e['n_nodes']:,} nodes"
        print(f"  {e['source'] or '?':<30} {nodes:>16} {size(e['bytes']):>10}  {e['path']}")
    return 0
