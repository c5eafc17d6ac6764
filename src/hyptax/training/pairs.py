"""What the training loop reads from the data: the positive pairs, a fixed
validation sample with fixed negatives, and the negative sampler
(:func:`build_training_data`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import TrainConfig
from ..data.taxonomy import Taxonomy
from ..sampling import NegativeSampler, RelationIndex


@dataclass
class ValidSet:
    """Fixed validation positives ``u, v (P,)`` with fixed negatives ``neg (P, K)``."""

    u: np.ndarray
    v: np.ndarray
    neg: np.ndarray
    mask: np.ndarray | None


@dataclass
class TrainData:
    """What the loop needs from the data.

    Attributes:
        tax: the taxonomy (for the per-epoch metrics).
        u, v: ``(P,)`` int64 training positives, ``u`` below ``v``.
        valid: the fixed validation sample.
        sampler: draws negatives (filtered against the whole closure).
        eval_pairs: closure pairs the sampled MAP ranks (the training pairs when
            training holds pairs out; None: all pairs).
        target: ``(n,)`` regulariser target radius per node, or None.
    """

    tax: Taxonomy
    u: np.ndarray
    v: np.ndarray
    valid: ValidSet
    sampler: NegativeSampler
    eval_pairs: tuple[np.ndarray, np.ndarray] | None = None
    target: torch.Tensor | None = None


def build_training_data(
    tax: Taxonomy,
    config: TrainConfig,
    train_mask: np.ndarray | None = None,
    valid_mask: np.ndarray | None = None,
) -> TrainData:
    """Training positives, the fixed validation sample and the sampler.

    ``train_mask``/``valid_mask`` select closure pairs (a holdout split); without
    them every pair trains and the validation sample is drawn from them.
    """
    desc, anc = (a.astype(np.int64) for a in tax.closure)
    sampler = NegativeSampler(
        RelationIndex(tax),
        n_negatives=config.n_negatives,
        hard_fraction=config.hard_negatives,
        exclude=config.negatives,
        share=config.share_for(tax.n_nodes),
    )
    u, v = (desc, anc) if train_mask is None else (desc[train_mask], anc[train_mask])
    vu, vv = (u, v) if valid_mask is None else (desc[valid_mask], anc[valid_mask])
    rng = np.random.default_rng([config.seed, 1])  # apart from the training stream
    pick = np.sort(rng.permutation(len(vu))[: config.n_valid])
    neg = sampler.sample(vu[pick], vv[pick], rng)
    valid = ValidSet(vu[pick], vv[pick], neg.nodes, neg.mask)
    target = None
    if config.lambda_reg > 0:
        from ..losses import target_radius

        radius = target_radius(tax.depth, max_norm=config.reg_max_norm)
        target = torch.from_numpy(radius).to(train_dtype(config))
    eval_pairs = None if train_mask is None else (u, v)
    return TrainData(tax, u, v, valid, sampler, eval_pairs, target)


def train_dtype(config: TrainConfig) -> torch.dtype:
    return torch.float64 if config.dtype == "float64" else torch.float32
