"""``hyptax evaluate``, ``hyptax plot``, ``hyptax export`` and ``hyptax neighbors``.

Each reads a checkpoint (or an ``.npy`` export) and, where it needs the hierarchy,
the dataset recorded in it (``--data SPEC`` to point elsewhere).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import DataOptions, EvalConfig, from_dict
from ..data.taxonomy import Taxonomy
from ..errors import AmbiguousName, HyptaxError
from ..files import is_stdout, read_jsonl, write_json
from ..layout import LAYOUTS
from .choices import EXPORT_FORMATS
from .data_cmds import add_data_options, data_options, load_with_status

if TYPE_CHECKING:
    from ..embeddings import Embeddings

PLOT_KINDS = ("disk", "depth", "curves", "html", "all")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="measure how well an embedding encodes its hierarchy")
    _common(p)
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON (- for stdout)")
    add_sample_option(p)
    p.add_argument("--seed", type=int, default=EvalConfig.seed, help="seed of every sample")
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("plot", help="draw the Poincaré disk, norms by depth, training curves")
    _common(p)
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE.png|svg|html",
        help="picture file (- for a PNG on stdout); .html for --kind html",
    )  # fmt: skip
    p.add_argument(
        "--kind",
        choices=PLOT_KINDS,
        default="disk",
        help="what to draw; 'html' an interactive disk (no extra needed); "
        "'all' writes FILE-disk, FILE-depth, FILE-curves",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=LAYOUTS[0],
        help="disk: the taxonomy's own 2-d construction (tree) or the run's vectors "
        "projected on two principal axes (pca)",
    )
    p.add_argument(
        "--metrics",
        metavar="FILE",
        help="metrics.jsonl for the curves (default: beside the checkpoint)",
    )
    p.set_defaults(handler=_plot)

    p = sub.add_parser(
        "export", help="write the vectors for gensim, TF projector or numpy; say what each keeps"
    )
    _common(p)
    p.add_argument(
        "--format",
        required=True,
        choices=EXPORT_FORMATS,
        dest="fmt",
        metavar="FORMAT",
        help="%(choices)s; w2v: word2vec text; tsv: projector folder; npy: vectors + names; "
        "polar: lossless at any radius (extended precision), .npz + names",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="file or folder (- for stdout: w2v)"
    )
    add_sample_option(p)  # of the MAP the export keeps, measured after writing it
    p.set_defaults(handler=_export)

    p = sub.add_parser("neighbors", help="the nearest taxa of a node by hyperbolic distance")
    _common(p)
    p.add_argument("name", metavar="NAME", help="node id or name")
    p.add_argument("-k", type=int, default=10, help="how many (default: %(default)s)")
    p.add_argument(
        "--ancestors",
        action="store_true",
        help="rank by the ancestor score d(u,a) + d(a,0) - d(u,0) instead of distance: "
        "the node's ancestors first (exact in the metric geometry)",
    )
    p.set_defaults(handler=_neighbors)


def add_sample_option(p: argparse.ArgumentParser) -> None:
    """``--sample N``, shared by evaluate, train and embed."""
    p.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="rank a seeded sample of N nodes in the reconstruction evaluation (default: "
        "exact when its predicted cost fits about a minute, else a sample sized to fit, "
        f"{EvalConfig.min_sample:,} to {EvalConfig.auto_sample:,} nodes)",
    )


def load(path: str) -> Embeddings:
    """The vectors (torch is imported here, not when the parser is built)."""
    from ..embeddings import load as load_embeddings

    return load_embeddings(path)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="checkpoint (.pt), run folder (its best.pt) or export (.npy, or .npz: polar)",
    )
    p.add_argument(
        "--data",
        metavar="SPEC",
        help="dataset to measure against (default: the one it was trained on)",
    )
    add_data_options(p)


# --------------------------------------------------------------------- handlers
def _evaluate(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, format_report

    config = EvalConfig(sample=args.sample, seed=args.seed)  # bad flags fail before loading
    emb = load(args.checkpoint)
    tax = _taxonomy(args, emb)
    train = emb.meta.get("config") or {}
    report = evaluate(
        emb,
        tax,
        config,
        holdout=float(train.get("holdout") or 0.0),
        split_seed=int(train.get("seed") or 0),
        progress=sys.stderr.isatty(),
    )
    print(format_report(report), file=sys.stderr if is_stdout(args.json) else sys.stdout)
    if args.json:
        write_json(args.json, report)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from .. import plotting

    out = Path(args.output)
    if args.kind == "all" and is_stdout(out):
        raise HyptaxError("--kind all writes three pictures; -o - (stdout) takes one --kind")
    if args.kind == "html":
        return _html(args, out)
    plotting.figure_format(out)  # a bad suffix fails before the data loads
    _metrics_file(args)  # and a missing --metrics file
    emb = load(args.checkpoint)
    kinds = ("disk", "depth", "curves") if args.kind == "all" else (args.kind,)
    tax = _taxonomy(args, emb) if set(kinds) & {"disk", "depth"} else None
    for kind in kinds:
        path = out.with_name(f"{out.stem}-{kind}{out.suffix}") if args.kind == "all" else out
        if kind == "disk":
            fig = plotting.plot_disk(emb, tax, layout=args.layout)
        elif kind == "depth":
            fig = plotting.plot_depth(emb, tax)
        else:
            records = _records(args, emb)
            if not records and args.kind == "all":
                print("no training metrics found: skipping the curves", file=sys.stderr)
                continue
            fig = plotting.plot_curves(records)
        plotting.save_figure(fig, path)
        _wrote(path)
    return 0


def _html(args: argparse.Namespace, out: Path) -> int:
    """``--kind html``: the interactive disk, one self-contained page."""
    from ..viewer import check_html_path, html_view, write_html

    check_html_path(out)  # a bad suffix fails before the data loads
    emb = load(args.checkpoint)
    path = write_html(out, html_view(emb, _taxonomy(args, emb), layout=args.layout))
    _wrote(path)
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write the export, then measure the MAP its readers keep (:mod:`..evaluation.fidelity`)
    and warn, with the fix, where a default reading loses it. Data that cannot be
    loaded leaves the loss unmeasured (one line), unless ``--data`` named it."""
    from ..evaluation.fidelity import check_export
    from ..export import check_output, export

    config = EvalConfig(sample=args.sample)  # bad flags fail before loading
    check_output(args.fmt, args.output)  # before the checkpoint and data load
    emb = load(args.checkpoint)
    tax, problem = None, ""
    try:
        tax = _taxonomy(args, emb)
    except HyptaxError as exc:
        if args.data is not None:
            raise
        problem = str(exc)
    if tax is not None:
        emb = emb.with_taxonomy(tax)
    files = export(emb, args.fmt, args.output, tax)
    for path in files:
        _wrote(path)
    out = sys.stderr if is_stdout(args.output) else sys.stdout
    check = None
    if tax is not None:
        try:
            check = check_export(emb, args.fmt, tax, config)
        except HyptaxError as exc:  # e.g. the data has nodes the embedding lacks
            problem = str(exc)
    if check is None:
        print(f"{args.fmt}: the MAP the export keeps was not measured: {problem}", file=out)
        return 0
    print(check.summary(), file=out)
    for line in check.warnings(None if is_stdout(args.output) else str(files[0])):
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _neighbors(args: argparse.Namespace) -> int:
    if args.k <= 0:
        raise HyptaxError(f"-k must be > 0, not {args.k}")
    emb = load(args.checkpoint)
    try:
        row = emb.lookup(args.name)  # before loading the data: a typo fails fast
    except KeyError as exc:
        raise HyptaxError(str(exc.args[0])) from None
    except AmbiguousName as exc:
        raise _with_lineage(exc, emb, _taxonomy(args, emb)) from None
    tax = _taxonomy(args, emb)
    emb = emb.with_taxonomy(tax)
    tree = _tree_distances(tax, emb, row)
    if args.ancestors:
        print(f"likeliest ancestors of {emb.names[row]} by the ancestor score "
              f"(id {emb.ids[row]}, {_describe(emb, row)}):")  # fmt: skip
        found, head = emb.ancestor_rows(row, args.k), "score"
    else:
        print(f"nearest to {emb.names[row]} (id {emb.ids[row]}, {_describe(emb, row)}):")
        found, head = emb.nearest_rows(row, args.k), "distance"
    rows = [("#", head, "name", "rank", "depth", "tree distance", "id")]
    for k, (i, d) in enumerate(found, 1):
        rank = emb.ranks[i] if emb.ranks is not None else ""
        depth = str(emb.depth[i]) if emb.depth is not None and emb.depth[i] >= 0 else ""
        hops = str(tree[i]) if tree[i] >= 0 else "-"
        rows.append((str(k), f"{d:.4f}", emb.names[i], rank, depth, hops, emb.ids[i]))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print(
            "  ".join(
                v.rjust(w) if c < 2 or c == 5 else v.ljust(w)
                for c, (v, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    return 0


# --------------------------------------------------------------------- helpers
def _wrote(path: str | Path) -> None:
    """Say what was written: on stdout, or on stderr when stdout holds the output."""
    print(f"wrote {path}", file=sys.stderr if is_stdout(path) else sys.stdout)


def _tree_distances(tax: Taxonomy, emb: Embeddings, row: int) -> np.ndarray:
    """``(emb.n,)`` int tree distance (path length over parent edges, direction
    ignored) from ``row`` to every node of ``emb``; ``-1`` where there is no path."""
    from ..evaluation.faithful import TreeGraph

    pos = emb.rows_in(tax)
    if pos[row] < 0:
        return np.full(emb.n, -1)
    hops = TreeGraph.from_taxonomy(tax).distances(np.array([pos[row]]))[0]
    return np.where(pos >= 0, hops[np.maximum(pos, 0)], -1)


def _taxonomy(args: argparse.Namespace, emb: Embeddings) -> Taxonomy:
    """The dataset to measure against: ``--data``, else the one recorded with the vectors."""
    from ..data import resolve_spec

    recorded = emb.meta.get("data") or {}
    spec = args.data or recorded.get("spec")
    if not spec:
        raise HyptaxError(f"{args.checkpoint}: no dataset is recorded with it; pass --data SPEC")
    if args.data is None or resolve_spec(args.data) == recorded.get("spec"):
        options = from_dict(DataOptions, recorded.get("options") or {})
    else:
        options = data_options(args)
    try:
        tax = load_with_status(spec, options, cache=not args.no_cache)
    except HyptaxError as exc:
        if args.data is not None:
            raise
        raise HyptaxError(
            f"{exc} (the data path recorded in {args.checkpoint}; --data SPEC overrides it)"
        ) from None
    _check_hash(tax, spec, recorded)
    return tax


def _check_hash(tax: Taxonomy, spec: str, recorded: dict[str, Any]) -> None:
    from ..data.prepared import dataset_hash

    if recorded.get("hash") and recorded["hash"] != dataset_hash(tax):
        print(
            f"warning: {spec} differs from the data the embedding was trained on "
            f"(hash {str(recorded['hash'])[:12]}); nodes are matched by id",
            file=sys.stderr,
        )


def _metrics_file(args: argparse.Namespace) -> Path | None:
    """``--metrics`` as a path (None when not given); HyptaxError when it is missing."""
    if not args.metrics:
        return None
    path = Path(args.metrics)
    if not path.is_file():
        raise HyptaxError(f"{path}: no such metrics file")
    return path


def _records(args: argparse.Namespace, emb: Embeddings) -> list[dict[str, Any]]:
    """Training records: ``--metrics``, else ``metrics.jsonl`` beside the checkpoint,
    else the history stored in the checkpoint."""
    path = _metrics_file(args)
    if path is not None:
        return read_jsonl(path)
    ckpt = Path(emb.meta.get("path") or args.checkpoint)  # a run folder's best.pt
    for path in (ckpt.with_name("metrics.jsonl"), ckpt.with_name(ckpt.stem + ".metrics.jsonl")):
        if path.is_file():
            return read_jsonl(path)
    return list(emb.meta.get("history") or [])


LINEAGE_SHOWN = 4
"""Nearest ancestors shown for each candidate of a shared name."""


def _with_lineage(exc: AmbiguousName, emb: Embeddings, tax: Taxonomy) -> AmbiguousName:
    """The same refusal, each candidate with its rank and lineage from ``tax``."""
    labels = []
    for row in exc.rows:
        i = tax.index.get(emb.ids[row], -1)
        label = emb.ids[row]
        if i >= 0 and tax.ranks is not None and tax.ranks[i]:
            label += f", {tax.ranks[i]}"
        lineage = tax.lineage(i) if i >= 0 else []
        if lineage:
            shown = lineage[-LINEAGE_SHOWN:]
            label += "; " + " > ".join(["...", *shown] if len(lineage) > len(shown) else shown)
        labels.append(f"{emb.names[row]} ({label})")
    return AmbiguousName(exc.name, exc.rows, labels)


def _describe(emb: Embeddings, row: int) -> str:
    parts = []
    if emb.ranks is not None and emb.ranks[row]:
        parts.append(f"rank {emb.ranks[row]}")
    if emb.depth is not None and emb.depth[row] >= 0:
        parts.append(f"depth {emb.depth[row]}")
    return ", ".join(parts) or "not in the data"
