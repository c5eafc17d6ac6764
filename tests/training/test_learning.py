"""Tests that fail when learning breaks: each one fails when the optimiser's step
does nothing or goes uphill (checked by making the step a no-op and by flipping the
gradient's sign). Every threshold is one the start does not meet, asserted in the
same test. A few seconds each.
"""

import numpy as np
import pytest
import torch

from conftest import balanced_tree as tree
from conftest import random_taxonomy, write_tsv
from hyptax import pipeline
from hyptax.config import TrainConfig
from hyptax.losses import LOSSES
from hyptax.pipeline import RunPaths, run
from hyptax.training import fit as fit_module
from hyptax.training.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    """76 nodes; from a random start, not a construction (which is exact on a tree)."""
    return write_tsv(tree((3, 4, 5)), tmp_path_factory.mktemp("tree") / "tree.tsv")


@pytest.fixture(scope="module")
def small_dag(tmp_path_factory):
    """120 nodes, 15% with two parents: the construction ranks them poorly (MAP ~0.5)."""
    return write_tsv(random_taxonomy(120, 5, dag=True), tmp_path_factory.mktemp("dag") / "d.tsv")


def quiet(lines):
    return lines.append


def batch_loss(table, batch, mask, config):
    idx = torch.from_numpy(batch)
    dist = table.manifold.dist(table.weight[idx[:, :1]], table.weight[idx[:, 1:]])
    mask = None if mask is None else torch.from_numpy(mask)
    return LOSSES[config.loss](dist, mask, margin=config.margin).item()


@pytest.mark.parametrize("backend", ["fused", "torch"])
def test_a_step_lowers_the_loss_of_its_batch(small_dag, backend):
    config = TrainConfig(data=small_dag, backend=backend, threads=1)
    tax = pipeline.load_data(config, echo=quiet([]))
    config = pipeline.resolve_for(config, tax)
    data = pipeline.prepare_pairs(tax, config)
    table = pipeline.make_model(tax, config, torch.device("cpu"))
    optimizer = pipeline.make_optimizer_for(table, config)
    u, v = data.u[:256], data.v[:256]
    neg = data.sampler.sample(u, v, np.random.default_rng(0))
    batch = np.concatenate((u[:, None], v[:, None], neg.nodes), axis=1)
    before = batch_loss(table, batch, neg.mask, config)
    gatherer = fit_module.RowGatherer(tax.n_nodes)
    got = fit_module.train_step(table, optimizer, gatherer, batch, neg.mask, config.lr, config)
    assert got == pytest.approx(before, rel=1e-9)  # the loss before the step
    assert batch_loss(table, batch, neg.mask, config) < 0.95 * before


def test_a_random_start_learns_a_small_tree(small_tree, tmp_path):
    lines = []
    config = TrainConfig(data=small_tree, init="uniform", epochs=10, eval_every=5, lr=0.5,
                         burn_in=0, threads=1)  # fmt: skip
    result = run(config, paths=RunPaths.in_dir(tmp_path / "run"), echo=quiet(lines))
    history = result.state.history
    assert [r["epoch"] for r in history] == [0, 5, 10]
    assert history[0]["map_sampled"] < 0.2  # the random start
    assert result.report["reconstruction"]["map"] > 0.7
    assert result.report["reconstruction"]["mean_rank"] < 3.0 < history[0]["mean_rank_sampled"]
    assert history[-1]["valid_loss"] < 0.5 * history[0]["valid_loss"]
    assert result.report["depth_norm"]["spearman"] > 0.6
    assert all(r["max_norm"] < 1.0 and r["outside_frac"] == 0.0 for r in history)
    assert sum(line.startswith("epoch") for line in lines) == 3
    for name in ("run.json", "metrics.jsonl", "best.pt", "last.pt", "report.json"):
        assert (tmp_path / "run" / name).is_file()


def test_a_random_start_learns_a_small_dag(small_dag):
    config = TrainConfig(data=small_dag, init="uniform", epochs=10, eval_every=5, lr=0.5,
                         burn_in=0, threads=1)  # fmt: skip
    result = run(config, report=False, echo=quiet([]))
    start, *trained = result.state.history
    assert start["map_sampled"] < 0.3
    assert max(r["map_sampled"] for r in trained) > 0.8
    assert min(r["mean_rank_sampled"] for r in trained) < 4.0 < start["mean_rank_sampled"]


def test_training_raises_the_map_of_a_dag_construction(small_dag, tmp_path):
    """The construction places each node under one parent; training finds the others:
    MAP peaks early (best.pt keeps that epoch) while the mean rank keeps falling."""
    paths = RunPaths.in_dir(tmp_path / "run")
    config = TrainConfig(data=small_dag, epochs=4, eval_every=2, threads=1)
    result = run(config, paths=paths, report=False, echo=quiet([]))
    start, *trained = result.state.history
    assert start["map_sampled"] < 0.86 and start["mean_rank_sampled"] > 10
    assert max(r["map_sampled"] for r in trained) > start["map_sampled"] + 0.05
    assert trained[-1]["mean_rank_sampled"] < 0.3 * start["mean_rank_sampled"]
    best = max(result.state.history, key=lambda r: r["map_sampled"])
    assert load_checkpoint(paths.best)["epoch"] == best["epoch"] > 0
