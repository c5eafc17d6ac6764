"""Frozen dataclasses: the one place where defaults live.

The CLI turns flags into these; library code receives them (never an argparse
namespace). ``asdict`` of a resolved config is written beside every run and inside
every checkpoint, and :func:`from_dict` reads it back.

One module on purpose: it is the only place defaults live (data options, training,
evaluation, and the value checks they share); split, a default would have many homes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from .errors import ConfigError

MAIN_RANKS: tuple[str, ...] = (
    "superkingdom",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
)
"""NCBI's main ranks, top down. ``domain`` (NCBI's 2025 name) is read as ``superkingdom``."""

RANK_ALIASES: dict[str, str] = {"domain": "superkingdom"}


@dataclass(frozen=True)
class DataOptions:
    """How a dataset spec is turned into a taxonomy (NCBI clade options).

    Attributes:
        ranks: ``"main"`` keeps only the main ranks (plus the clade's own top node),
            re-parenting each kept taxon to its nearest kept ancestor; ``"all"`` keeps
            every rank.
        lowest_rank: the lowest main rank kept (e.g. ``"genus"``, ``"species"``); taxa
            below it are dropped. ``None`` keeps everything down to the leaves.
        clean: drop placeholder taxa (see ``hyptax.data.ncbi.CLEAN_RULES``).
    """

    ranks: str = "all"
    lowest_rank: str | None = None
    clean: bool = False

    def __post_init__(self) -> None:
        if self.ranks not in ("main", "all"):
            raise ConfigError(f"--ranks must be 'main' or 'all', not {self.ranks!r}")
        if self.lowest_rank is not None:
            rank = RANK_ALIASES.get(self.lowest_rank, self.lowest_rank)
            if rank not in MAIN_RANKS:
                valid = ", ".join(MAIN_RANKS)
                raise ConfigError(f"--lowest-rank must be one of {valid}, not {self.lowest_rank!r}")
            object.__setattr__(self, "lowest_rank", rank)


T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a config dataclass from ``asdict`` output, ignoring unknown keys."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def to_dict(config: Any) -> dict[str, Any]:
    return asdict(config)


LOSSES: tuple[str, ...] = ("softmax", "margin")
INITS: tuple[str, ...] = ("uniform", "depth", "constructive")
DTYPES: tuple[str, ...] = ("float64", "float32")
STOP_METRICS: tuple[str, ...] = ("map", "loss")
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine", "linear")
BACKENDS: tuple[str, ...] = ("auto", "torch", "fused")
NEGATIVES: tuple[str, ...] = ("related", "ancestors")
GEOMETRIES: tuple[str, ...] = ("metric", "order")
PRECISIONS: tuple[str, ...] = ("auto", "float64", "extended")
"""``--precision`` (:func:`hyptax.constructive.build`): ``float64`` keeps plain
coordinates of the run's dtype (steps shrunk to fit), ``extended`` stores polar points
(:mod:`hyptax.manifolds.extended`), ``auto`` takes extended precision only when a tree
needs more radius than plain coordinates hold."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (``hyptax train`` flags, resolved).

    Defaults were chosen by measurement on ``wordnet:mammals`` (see the README).

    Attributes:
        data, data_options: the dataset spec and how it is read.
        dim: intrinsic dimension (the Lorentz model stores ``dim + 1`` coordinates).
        manifold: ``"poincare"`` or ``"lorentz"``.
        dtype: ``"float64"`` (safe for deep taxonomies) or ``"float32"``.
        init: ``"uniform"`` (coordinates uniform in ``±init_scale``, the reference),
            ``"depth"`` (distance from the origin set by depth, see
            :func:`hyptax.losses.target_radius`) or ``"constructive"`` (a tree
            embedding built without training, :mod:`hyptax.constructive`; the
            default: it reaches a higher MAP sooner on mammals, nouns and ncbi:small,
            see benchmarks/RESULTS.md).
        geometry: what the constructive start is built for (:mod:`hyptax.constructive`):
            ``"metric"``, distances that follow the tree (ancestors found by the
            ancestor score), or ``"order"``, every ancestor nearer than every other
            node (the reference MAP by raw distance). ``None`` picks
            :meth:`geometry_for`: metric on a tree, order on a DAG, whose training
            objective is an order objective. Training never runs on the metric
            geometry: its objective would undo it (:func:`hyptax.pipeline.run`).
        rank_weights: metric geometry: the length of the edge above a node of each
            rank, in units of the base edge (``{"phylum": 3, "class": 2}``; other
            ranks 1): the construction embeds that weighted tree, which separates
            the clades below the lengthened edges more.
        precision: how the constructive start stores its points
            (:mod:`hyptax.manifolds.extended`): ``"float64"``, plain coordinates of
            ``dtype`` (every step shrunk to fit their radius, ~26 in float64);
            ``"extended"``, polar points with as many direction limbs as the tree's
            radius needs; ``"auto"``, extended on a tree that needs more radius than
            plain coordinates hold, plain otherwise (a DAG's construction is a start
            for training, which runs in plain coordinates). A run in extended
            precision is not trained: it keeps the construction.
        loss: ``"softmax"`` (Nickel & Kiela 2017) or ``"margin"`` (the prototype's).
        margin: margin of the margin loss.
        lambda_reg: weight of the depth-to-radius regulariser (0 turns it off).
        reg_max_norm: Poincaré norm the regulariser targets for the deepest nodes.
        n_negatives: negatives per positive pair.
        hard_negatives: fraction of the negatives drawn from "cousins".
        negatives: which nodes a positive ``(u, v)`` never gets as negatives:
            ``"related"`` (ancestors and descendants of ``u``, and ``u``) or
            ``"ancestors"`` (ancestors of ``u`` and ``u``, as the reference
            implementation; ``u``'s descendants are then pushed away from ``u``,
            which is what reconstruction MAP rewards).
        share_negatives: one draw of uniform negatives serves this many consecutive
            positives (1: every positive its own); fewer rows per batch, faster on
            large taxonomies (:mod:`hyptax.sampling`). 0 picks
            :func:`share_for`: 1 where a batch's negatives already repeat rows
            (mammals: MAP 0.961 vs 0.954 with 8), else :data:`AUTO_SHARE`
            (ncbi:small: 3x the pairs per second).
        optimizer: ``"rsgd"`` or ``"radam"``; ``lr`` its learning rate, a step per
            positive pair (the gradient is that of the batch's summed loss).
        burn_in: epochs at ``lr * burn_in_factor`` before the full rate. ``None``
            picks :meth:`burn_in_epochs`: :data:`RANDOM_BURN_IN` from a random start
            (``uniform``, ``depth``: the reference's burn-in settles the angular
            layout), 0 from the constructive one, whose layout is already settled
            (benchmarks/DEFAULTS.md: a higher MAP and a lower mean rank at equal wall
            time on mammals, nouns and ncbi:small).
        lr_schedule: after burn-in, ``"constant"``, or ``"cosine"``/``"linear"`` decay
            to 0 at the last epoch (:func:`hyptax.optim.lr_at`).
        max_grad_norm: clip each row's Riemannian gradient to this norm (None: off).
            It bounds the step of rows that many pairs of a batch touch (nodes near
            the root), which otherwise overshoot: on mammals it lifts MAP at 300
            epochs from 0.92 to 0.96.
        batch_size: positive pairs per step.
        epochs: the most epochs to run.
        early_stopping: patience, in evaluations that are not better than the best
            (None: off).
        stop_metric: what "better" means, for early stopping and for ``best.pt``
            (:class:`hyptax.training.stopping.EarlyStopping`). ``"map"``: MAP on the
            validation sample of every evaluation (the sampled MAP of
            :func:`hyptax.evaluation.quick_metrics`, what the report measures),
            higher is better; MAPs within ``stop_tie`` of the highest one are ties,
            won by the lower mean rank on the same sample. ``"loss"``: the
            validation loss, lower is better (ties are no improvement). The
            starting point (epoch 0) is evaluated too and is a candidate: if no
            epoch beats the construction, ``best.pt`` is the construction.
        stop_tie: see ``stop_metric``; the near-tie window of MAP (or of the loss).
        eval_every: evaluate (print, log, checkpoint, early-stop) every this many
            epochs; 0 picks about every :data:`EVAL_POSITIVES` positives.
        n_valid: positives in the fixed validation sample.
        holdout: fraction of the closure pairs held out for validation and for test
            each (link prediction); 0 trains on all pairs.
        seed: seeds initialisation, shuffling, sampling and the holdout split.
        threads: CPU threads for torch and numba inside training (0: their defaults).
        backend: ``"auto"`` runs steps with the fused kernel of
            :mod:`hyptax.training.fused` where it applies (numba, CPU, Poincaré),
            else with autograd; ``"torch"`` always autograd; ``"fused"`` insists.
        gpu: CUDA device index, or -1 for the CPU.
        data_cache: read the dataset from the user's cache of prepared datasets, and
            keep it there (:mod:`hyptax.data.cache`); ``--no-cache`` turns it off.
    """

    data: str = "ncbi:small"
    data_options: DataOptions = DataOptions()
    dim: int = 10
    manifold: str = "poincare"
    dtype: str = "float64"
    init: str = "constructive"
    geometry: str | None = None
    rank_weights: dict[str, float] | None = None
    precision: str = "auto"
    init_scale: float = 1e-3
    loss: str = "softmax"
    margin: float = 0.2
    lambda_reg: float = 0.0
    reg_max_norm: float = 0.9
    n_negatives: int = 50
    hard_negatives: float = 0.0
    negatives: str = "ancestors"
    share_negatives: int = 0
    optimizer: str = "rsgd"
    lr: float = 0.0625
    burn_in: int | None = None
    burn_in_factor: float = 0.1
    lr_schedule: str = "constant"
    max_grad_norm: float | None = 2.5
    batch_size: int = 512
    epochs: int = 400
    early_stopping: int | None = 3
    stop_metric: str = "map"
    stop_tie: float = 0.001
    eval_every: int = 0
    n_valid: int = 2000
    holdout: float = 0.0
    seed: int = 0
    threads: int = 0
    gpu: int = -1
    backend: str = "auto"
    data_cache: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.data_options, dict):
            object.__setattr__(self, "data_options", from_dict(DataOptions, self.data_options))
        _finite(self)
        _positive(dim=self.dim, batch_size=self.batch_size, n_negatives=self.n_negatives)
        _positive(epochs=self.epochs, n_valid=self.n_valid)
        _nonnegative(share_negatives=self.share_negatives)
        _positive(lr=self.lr, init_scale=self.init_scale)
        _nonnegative(margin=self.margin, lambda_reg=self.lambda_reg, burn_in=self.burn_in_epochs)
        _nonnegative(eval_every=self.eval_every, threads=self.threads)
        _nonnegative(stop_tie=self.stop_tie)
        _choice("loss", self.loss, LOSSES)
        _choice("init", self.init, INITS)
        _choice("dtype", self.dtype, DTYPES)
        _choice("stop-metric", self.stop_metric, STOP_METRICS)
        _choice("lr-schedule", self.lr_schedule, LR_SCHEDULES)
        _choice("backend", self.backend, BACKENDS)
        _choice("negatives", self.negatives, NEGATIVES)
        _choice("precision", self.precision, PRECISIONS)
        if self.precision == "extended" and self.init != "constructive":
            raise ConfigError(
                "--precision extended is for the construction: it needs --init constructive"
            )
        self._check_geometry()
        if not 0.0 <= self.hard_negatives <= 1.0:
            raise ConfigError(f"--hard-negatives must be in [0, 1], not {self.hard_negatives}")
        if not 0.0 <= self.holdout < 0.5:
            raise ConfigError(f"--holdout must be in [0, 0.5), not {self.holdout}")
        if not 0.0 < self.burn_in_factor <= 1.0:
            raise ConfigError(f"--burn-in-factor must be in (0, 1], not {self.burn_in_factor}")
        if not 0.0 < self.reg_max_norm < 1.0:
            raise ConfigError(f"--reg-max-norm must be in (0, 1), not {self.reg_max_norm}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"--max-grad-norm must be > 0, not {self.max_grad_norm}")
        if self.early_stopping is not None and self.early_stopping <= 0:
            raise ConfigError(
                f"--early-stopping must be >= 0 (0 turns it off), not {self.early_stopping}"
            )
        if self.gpu < -1:
            raise ConfigError(f"--gpu must be -1 (CPU) or a device index, not {self.gpu}")
        _seed(self.seed)

    def _check_geometry(self) -> None:
        if self.geometry is not None:
            _choice("geometry", self.geometry, GEOMETRIES)
        if self.geometry == "metric" and self.init != "constructive":
            raise ConfigError("--geometry metric is a construction: it needs --init constructive")
        if self.rank_weights:
            if self.geometry == "order" or self.init != "constructive":
                raise ConfigError("--rank-weights applies to the metric construction only")
            for rank, w in self.rank_weights.items():
                if not (isinstance(w, int | float) and 0 < w < float("inf")):
                    raise ConfigError(f"--rank-weights: the weight of {rank} must be > 0, not {w}")

    @property
    def burn_in_epochs(self) -> int:
        """``burn_in``, resolved: ``None`` means 0 from the constructive start, else
        :data:`RANDOM_BURN_IN`."""
        if self.burn_in is not None:
            return self.burn_in
        return 0 if self.init == "constructive" else RANDOM_BURN_IN

    def geometry_for(self, is_tree: bool) -> str:
        """``geometry``, resolved: ``None`` means metric for a constructive start on a
        tree, else order."""
        if self.geometry is not None:
            return self.geometry
        return "metric" if is_tree and self.init == "constructive" else "order"

    def precision_for(self, is_tree: bool) -> str:
        """``precision``, resolved before the construction: ``"auto"`` stays for a
        constructive start on a tree (the construction decides), else ``"float64"``
        (plain coordinates) unless extended is asked for."""
        if self.precision == "auto" and not (is_tree and self.init == "constructive"):
            return "float64"
        return self.precision

    def negatives_for(self, n_nodes: int) -> int:
        """``n_negatives``, capped at the ``n_nodes - 1`` nodes a positive can draw
        its negatives from (at least 1)."""
        return max(1, min(self.n_negatives, n_nodes - 1))

    def share_for(self, n_nodes: int) -> int:
        """``share_negatives``, resolved: 0 means 1 when one batch draws at least as
        many negatives as there are nodes, else :data:`AUTO_SHARE`."""
        if self.share_negatives:
            return self.share_negatives
        return 1 if self.batch_size * self.n_negatives >= n_nodes else AUTO_SHARE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :func:`to_dict` output (as stored in run.json and checkpoints)."""
        return from_dict(cls, data)


AUTO_SHARE = 8
"""``share_negatives`` picked for large taxonomies (see :meth:`TrainConfig.share_for`)."""

RANDOM_BURN_IN = 10
"""Burn-in epochs from a random start (Nickel & Kiela 2017; see :attr:`TrainConfig.burn_in`)."""

EVAL_POSITIVES = 200_000
"""With ``eval_every=0``, evaluate about once per this many positive pairs trained."""


MAX_SEED = 2**63 - 1
"""The largest seed: torch keeps seeds as 64-bit integers, numpy takes no negative one."""


def _seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be in [0, 2**63 - 1], not {seed}")


def _finite(config: Any) -> None:
    """Refuse inf and nan in every float field: no range check below catches inf."""
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"--{f.name.replace('_', '-')} must be a finite number, not {value}")


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, not {value}")


def _nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, not {value}")


def _choice(flag: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"--{flag} must be one of {', '.join(valid)}, not {value!r}")


CLADE_RANKS: tuple[str, ...] = ("phylum", "class", "order", "family", "genus")
"""Ranks at which clade separation and kNN purity are measured when the data has ranks."""


@dataclass(frozen=True)
class EvalConfig:
    """How an embedding is evaluated (``hyptax evaluate`` flags, resolved).

    Attributes:
        sample: nodes ``u`` ranked for reconstruction MAP; ``None`` ranks every node
            exactly when the predicted cost is at most ``exact_max_cost``, and else a
            sample sized to fit it (:func:`hyptax.evaluation.ranking.auto_sample`). A
            sampled result carries a bootstrap confidence interval.
        exact_max_cost: the largest predicted cost ranked exactly by distance by
            default, in key operations (:func:`hyptax.evaluation.ranking.anchor_costs`;
            2e11 is about a minute on two cores: ``ncbi:small`` at dim 10 fits, a
            5,000-deep chain does not). The cost follows pairs times depth, not the
            node count.
        exact_max_work: the most anchor x node pairs ranked exactly by the ancestor
            score by default (about 2 s on two cores; ``ncbi:small``'s 1.5e10 would
            take ~25 s, so it is sampled).
        auto_sample, min_sample: the most and the fewest nodes an automatic sample ranks.
        sample_max_cost: the predicted cost an automatic sample is sized to (about 3 s
            on two cores, each of the two rankings): ``ncbi:small`` still ranks 5,000
            nodes, the whole NCBI 500 by distance and 4,549 by the ancestor score, whose
            index walks cost less (the report gives the counts and confidence intervals).
        quick_max_cost: the per-evaluation budget of ``quick_metrics`` (every few
            epochs; about 6 s): fewer than its ``n_sample`` anchors where it is exceeded.
        n_bootstrap, ci_level: the bootstrap behind every confidence interval.
        n_pairs: same-clade pairs and as many cross-clade pairs drawn per rank for
            clade separation (at least), and the (query, target) pairs of the
            faithfulness correlation.
        min_clade_size: clades with fewer members are left out of separation and purity.
        purity_k: neighbours per node for kNN purity.
        purity_queries: nodes whose neighbours are looked up (all nodes if fewer).
        faithful_queries: query nodes of the faithfulness to the tree (all nodes if
            fewer): nearest node, parent rank and kNN tree distance; the Spearman
            correlation of distance with tree distance uses ``n_pairs`` pairs from them.
        faithful_max_work: at most this many query x node pairs for the faithfulness
            figures (each query searches the tree and measures every node): on larger
            graphs fewer queries (the whole NCBI: 383, about 40 s; the report says how
            many), never fewer than 100.
        faithful_k: neighbours per query for the kNN tree distance.
        clade_ranks: ranks used when the taxonomy has ranks; otherwise the top-level
            subtrees (``Taxonomy.top_level``) are the clades.
        boundary_band: a Poincaré norm above ``1 - boundary_band`` counts as "near the
            boundary" (a warning sign of precision loss).
        seed: seeds every sample (nodes, pairs, queries, bootstrap).
    """

    sample: int | None = None
    exact_max_cost: float = 2e11
    exact_max_work: int = 2_000_000_000
    auto_sample: int = 5000
    min_sample: int = 500
    sample_max_cost: float = 1e10
    quick_max_cost: float = 2e10
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    n_pairs: int = 100_000
    min_clade_size: int = 10
    purity_k: int = 10
    purity_queries: int = 2000
    faithful_queries: int = 2000
    faithful_max_work: int = 1_000_000_000
    faithful_k: int = 10
    clade_ranks: tuple[str, ...] = CLADE_RANKS
    boundary_band: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "clade_ranks", tuple(self.clade_ranks))
        _finite(self)
        if self.sample is not None and self.sample <= 0:
            raise ConfigError(f"--sample must be > 0, not {self.sample}")
        _positive(exact_max_cost=self.exact_max_cost, auto_sample=self.auto_sample)
        _positive(min_sample=self.min_sample, quick_max_cost=self.quick_max_cost)
        _positive(exact_max_work=self.exact_max_work, sample_max_cost=self.sample_max_cost)
        _positive(n_bootstrap=self.n_bootstrap)
        _positive(n_pairs=self.n_pairs, purity_k=self.purity_k, purity_queries=self.purity_queries)
        _positive(faithful_queries=self.faithful_queries, faithful_k=self.faithful_k)
        _positive(faithful_max_work=self.faithful_max_work)
        _positive(min_clade_size=self.min_clade_size, boundary_band=self.boundary_band)
        if not 0.0 < self.ci_level < 1.0:
            raise ConfigError(f"ci_level must be in (0, 1), not {self.ci_level}")
        _seed(self.seed)
