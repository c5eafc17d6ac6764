"""``hyptax train`` and ``hyptax embed``: flags in, :class:`TrainConfig` out, then
:mod:`hyptax.pipeline` does the work.

Every flag defaults to "not given" here, so that the defaults live only in
:class:`~hyptax.config.TrainConfig` (shown in ``--help``) and ``--resume`` can tell
which settings the user asked to change.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

from ..config import (
    BACKENDS,
    DTYPES,
    GEOMETRIES,
    INITS,
    LOSSES,
    LR_SCHEDULES,
    NEGATIVES,
    PRECISIONS,
    RANDOM_BURN_IN,
    STOP_METRICS,
    DataOptions,
    EvalConfig,
    TrainConfig,
)
from ..errors import ConfigError
from .choices import MANIFOLDS, OPTIMIZERS, Registry
from .data_cmds import add_data_options, data_options
from .eval_cmds import add_sample_option

DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}

# flag, config field, type, choices, help
TRAIN_FLAGS: list[tuple[str, str, Any, tuple[str, ...] | Registry | None, str]] = [
    ("--data", "data", str, None, "dataset spec: ncbi:small, wordnet:mammals, FILE.tsv..."),
    ("--dim", "dim", int, None, "dimension of the hyperbolic space"),
    ("--manifold", "manifold", str, MANIFOLDS, "model of hyperbolic space"),
    ("--dtype", "dtype", str, DTYPES, "floating-point precision"),
    ("--init", "init", str, INITS, "initialisation"),
    ("--geometry", "geometry", str, GEOMETRIES, "what the construction is built for: "
     "distances that follow the tree (metric) or ancestors nearest by raw distance (order) "
     "(default: metric on a tree, order on a DAG)"),
    ("--rank-weights", "rank_weights", "rank_weights", None, "metric geometry: lengthen the "
     "edge above each node of a rank, e.g. phylum=3,class=2 (default: all 1)"),
    ("--precision", "precision", str, PRECISIONS, "how the construction stores its points: "
     "plain float coordinates (float64), polar points with extended-precision directions "
     "(extended, not trained), or extended only for a tree that needs more radius than "
     "float64 holds (auto)"),
    ("--epochs", "epochs", int, None, "the most epochs to train"),
    ("--batch-size", "batch_size", int, None, "positive pairs per step"),
    ("--n-negatives", "n_negatives", int, None, "negatives per positive pair"),
    ("--negatives", "negatives", str, NEGATIVES, "what a positive never gets as a negative"),
    ("--hard-negatives", "hard_negatives", float, None, "fraction of negatives from cousins"),
    ("--loss", "loss", str, LOSSES, "ranking loss"),
    ("--margin", "margin", float, None, "margin of the margin loss"),
    ("--lambda-reg", "lambda_reg", float, None, "weight of the depth-to-radius regulariser"),
    ("--optimizer", "optimizer", str, OPTIMIZERS, "Riemannian optimiser"),
    ("--lr", "lr", float, None, "learning rate (of the mean loss of a batch)"),
    ("--burn-in", "burn_in", int, None, "epochs at a reduced learning rate first "
     f"(default: 0 from --init constructive, {RANDOM_BURN_IN} from a random start)"),
    ("--burn-in-factor", "burn_in_factor", float, None, "learning-rate factor of burn-in"),
    ("--lr-schedule", "lr_schedule", str, LR_SCHEDULES, "learning rate after burn-in"),
    ("--max-grad-norm", "max_grad_norm", float, None, "clip each row's gradient norm"),
    ("--early-stopping", "early_stopping", int, None,
     "patience in evaluations not better than the best (see --stop-metric); 0 turns it off"),
    ("--stop-metric", "stop_metric", str, STOP_METRICS, "what early stopping and best.pt "
     "follow: map, the MAP of each evaluation's node sample (higher is better; MAPs within "
     "--stop-tie of the best are ties, won by the lower mean rank), or loss, the "
     "validation loss. The start (epoch 0) is a candidate: when no epoch beats the "
     "construction, best.pt is the construction"),
    ("--stop-tie", "stop_tie", float, None, "MAP (or loss) differences up to this are ties"),
    ("--eval-every", "eval_every", int, None, "evaluate every N epochs (0: automatic)"),
    ("--holdout", "holdout", float, None, "fraction of pairs held out for validation and test"),
    ("--seed", "seed", int, None, "random seed"),
    ("--threads", "threads", int, None, "CPU threads (0: all)"),
    ("--gpu", "gpu", int, None, "CUDA device index, -1 for the CPU"),
    ("--backend", "backend", str, BACKENDS, "fused CPU kernel or plain autograd"),
]  # fmt: skip

EMBED_FLAGS = ("--data", "--dim", "--geometry", "--rank-weights", "--precision", "--manifold",
               "--dtype", "--seed", "--gpu")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a hyperbolic embedding",
        description="Train a hyperbolic embedding of a taxonomy. Writes run.json, "
        "metrics.jsonl (one record per evaluation, the start's included), best.pt (the "
        "best evaluation by --stop-metric: by default the highest MAP, near-ties won by "
        "the lower mean rank; the start is a candidate), last.pt and report.json.",
    )
    _add_output(p)
    p.add_argument("--resume", action="store_true", help="continue the run at --out/--checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch lines")
    for flag, name, kind, choices, text in TRAIN_FLAGS:
        _add_flag(p, flag, name, kind, choices, text)
    add_sample_option(p)
    add_data_options(p)
    p.set_defaults(handler=_train)

    p = sub.add_parser(
        "embed",
        help="build an embedding without training (constructive)",
        description="Embed a taxonomy without training; writes the same checkpoint and "
        "report as hyptax train.",
    )
    _add_output(p)
    p.add_argument("--method", choices=("constructive",), default="constructive",
                   help="how to build it (default: %(default)s)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    for flag, name, kind, choices, text in TRAIN_FLAGS:
        if flag in EMBED_FLAGS:
            _add_flag(p, flag, name, kind, choices, text)
    add_sample_option(p)
    add_data_options(p)
    p.set_defaults(handler=_embed)


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC", help="dataset spec, the same as --data SPEC")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", metavar="RUN_DIR", help="folder for the run's files")
    out.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="best checkpoint here, the run's other files beside it (PATH.last.pt, ...)",
    )


def _add_flag(
    p: argparse.ArgumentParser, flag: str, name: str, kind: Any,
    choices: tuple[str, ...] | Registry | None, text: str,
) -> None:  # fmt: skip
    default = DEFAULTS[name]
    metavar = None
    if kind == "rank_weights":
        kind, metavar = parse_rank_weights, "RANK=W,..."
    if isinstance(choices, Registry):  # listed only when --help is shown
        metavar, text = "NAME", f"{text}: %(choices)s"
    shown = default if not isinstance(default, str) else f"{default}"
    if default is not None:  # a default of None is resolved later; the text says how
        text = f"{text} (default: {shown})"
    p.add_argument(flag, dest=name, type=kind, choices=choices, default=None, help=text,
                   metavar=metavar)  # fmt: skip


def parse_rank_weights(text: str) -> dict[str, float]:
    """``"phylum=3,class=2"`` -> ``{"phylum": 3.0, "class": 2.0}`` (argparse type)."""
    out: dict[str, float] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        rank, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not rank.strip() or not 0 < weight < float("inf"):
            raise argparse.ArgumentTypeError(
                f"{item!r} is not RANK=WEIGHT with a weight > 0 (e.g. phylum=3,class=2)"
            )
        out[rank.strip()] = weight
    if not out:
        raise argparse.ArgumentTypeError("give at least one RANK=WEIGHT (e.g. phylum=3)")
    return out


def given_settings(args: argparse.Namespace, flags: list[str] | None = None) -> dict[str, Any]:
    """The config fields set on the command line (flags left out are not included);
    a positional SPEC is ``--data``."""
    if args.spec is not None:
        if args.data is not None and args.data != args.spec:
            raise ConfigError(f"two datasets given: SPEC {args.spec!r} and --data {args.data!r}")
        args.data = args.spec
    names = {name for flag, name, *_ in TRAIN_FLAGS if flags is None or flag in flags}
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if given.get("early_stopping") == 0:
        given["early_stopping"] = None  # 0 turns it off
    options = data_options(args)
    if options != DataOptions():
        given["data_options"] = options
    if args.no_cache:
        given["data_cache"] = False
    return given


def _paths(args: argparse.Namespace) -> Any:
    from ..pipeline import RunPaths

    return RunPaths.in_dir(args.out) if args.out else RunPaths.at_checkpoint(args.checkpoint)


def _echo(quiet: bool) -> Any:
    if quiet:
        return lambda _line: None
    return lambda line: print(line, flush=True)


def _train(args: argparse.Namespace) -> int:
    from .. import pipeline

    paths = _paths(args)
    given = given_settings(args)
    evaluation = EvalConfig(sample=args.sample)
    if args.resume:
        config = pipeline.stored_config(paths, **given)
    else:
        config = TrainConfig(**given)
    progress = not args.quiet and sys.stderr.isatty()
    result = pipeline.run(
        config, paths=paths, resume=args.resume, progress=progress, echo=_echo(args.quiet),
        evaluation=evaluation,
    )  # fmt: skip
    _print_report(args.quiet, result.report)
    written = [f"{paths.best} (best)"] + [
        str(p) for p in (paths.last, paths.metrics, paths.report) if p.is_file()
    ]
    print("wrote " + ", ".join(written))
    return 0


def _embed(args: argparse.Namespace) -> int:
    from .. import pipeline

    paths = _paths(args)
    evaluation = EvalConfig(sample=args.sample)
    config = TrainConfig(**given_settings(args, list(EMBED_FLAGS)), init=args.method)
    result = pipeline.embed(config, paths=paths, progress=not args.quiet and sys.stderr.isatty(),
                            echo=_echo(args.quiet), evaluation=evaluation)  # fmt: skip
    _print_report(args.quiet, result.report)
    print(f"wrote {paths.best}, {paths.report}")
    return 0


def _print_report(quiet: bool, report: dict[str, Any] | None) -> None:
    """With --quiet the per-step lines are silenced, but the final table still shows."""
    if quiet and report is not None:
        from ..evaluation import format_report

        print(format_report(report))
