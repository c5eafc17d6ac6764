"""End-to-end training on small taxonomies built in memory (a few seconds each)."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import balanced_tree, random_taxonomy, write_tsv
from hyptax.config import TrainConfig
from hyptax.errors import HyptaxError
from hyptax.manifolds import numerics
from hyptax.pipeline import RunPaths, run
from hyptax.training import fit as fit_module
from hyptax.training.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def tree_tsv(tmp_path_factory):
    return write_tsv(balanced_tree((3, 4, 5, 4)), tmp_path_factory.mktemp("data") / "tree.tsv")


@pytest.fixture(scope="module")
def dag_tsv(tmp_path_factory):
    """Training data: a DAG, whose construction leaves second parents to training (a
    tree's construction is exact and is not trained)."""
    return write_tsv(random_taxonomy(300, 5, dag=True), tmp_path_factory.mktemp("dag") / "dag.tsv")


def quiet(lines):
    return lines.append


def test_resume_is_bit_identical(dag_tsv, tmp_path):
    base = dict(data=dag_tsv, eval_every=2, threads=1, early_stopping=None, lr=0.2)
    whole = RunPaths.in_dir(tmp_path / "whole")
    run(TrainConfig(**base, epochs=6), paths=whole, report=False, echo=quiet([]))
    parts = RunPaths.in_dir(tmp_path / "parts")
    run(TrainConfig(**base, epochs=4), paths=parts, report=False, echo=quiet([]))
    run(TrainConfig(**base, epochs=6), paths=parts, resume=True, report=False, echo=quiet([]))
    a, b = load_checkpoint(whole.last), load_checkpoint(parts.last)
    assert a["epoch"] == b["epoch"] == 6
    assert torch.equal(a["weight"], b["weight"])
    drop = ("edges_per_s", "epoch_s", "eval_s", "elapsed")
    strip = lambda h: [{k: v for k, v in r.items() if k not in drop} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])
    assert a["rng"] == b["rng"]


def test_nan_guard_rolls_back_and_halves_the_rate(dag_tsv, monkeypatch):
    calls = {"n": 0}
    real = fit_module.fused.loss_and_grad

    def sometimes_nan(*args, **kwargs):
        calls["n"] += 1
        value, grad = real(*args, **kwargs)
        if calls["n"] == 5:
            grad[0, 0] = math.nan
        return value, grad

    monkeypatch.setattr(fit_module.fused, "loss_and_grad", sometimes_nan)
    lines = []
    config = TrainConfig(data=dag_tsv, epochs=4, eval_every=2, threads=1)
    result = run(config, report=False, echo=quiet(lines))
    assert result.state.rollbacks == 1 and result.state.lr_scale == 0.5
    assert any("rolled back" in line and "halved" in line for line in lines)
    assert torch.isfinite(result.table.weight).all() and result.state.epoch == 4


def test_guard_gives_up_with_a_clear_error(dag_tsv, monkeypatch):
    def always_nan(*args, **kwargs):
        return math.nan, None

    monkeypatch.setattr(fit_module.fused, "loss_and_grad", always_nan)
    monkeypatch.setattr(fit_module, "MIN_LR_SCALE", 0.1)
    with pytest.raises(HyptaxError, match="training diverged"):
        run(TrainConfig(data=dag_tsv, epochs=2, threads=1), report=False, echo=quiet([]))


@pytest.mark.parametrize("backend", ["fused", "torch"])
def test_lr_x100_in_float32_stays_inside(dag_tsv, backend):
    config = TrainConfig(data=dag_tsv, epochs=6, eval_every=2, threads=1, dtype="float32",
                         lr=TrainConfig.lr * 100, backend=backend, burn_in=0)  # fmt: skip
    result = run(config, report=False, echo=quiet([]))
    w = result.table.weight
    assert w.dtype == torch.float32 and torch.isfinite(w).all()
    assert result.table.norms().max().item() <= numerics.max_norm(torch.float32)
    assert all(r["outside_frac"] == 0.0 and r["max_norm"] < 1.0 for r in result.state.history)


def test_other_options_run(tmp_path):
    tsv = write_tsv(random_taxonomy(200, 2, dag=True), tmp_path / "dag.tsv")
    config = TrainConfig(
        data=tsv, epochs=4, eval_every=2, threads=1, manifold="lorentz", optimizer="radam",
        lr=0.05, loss="margin", lambda_reg=0.1, hard_negatives=0.3, init="depth",
        holdout=0.1, negatives="related", stop_metric="map", share_negatives=4,
    )  # fmt: skip
    result = run(config, paths=RunPaths.at_checkpoint(tmp_path / "m.pt"), echo=quiet([]))
    assert result.report["link_prediction"] is not None
    assert result.table.weight.shape[1] == 11
    assert (tmp_path / "m.pt").is_file() and (tmp_path / "m.last.pt").is_file()
    assert (tmp_path / "m.metrics.jsonl").is_file() and (tmp_path / "m.report.json").is_file()


def test_backends_agree_on_a_step(dag_tsv):
    from hyptax import pipeline

    losses = {}
    for backend in ("fused", "torch"):
        config = TrainConfig(data=dag_tsv, backend=backend, lambda_reg=0.5, loss="softmax")
        tax = pipeline.load_data(config, echo=quiet([]))
        data = pipeline.prepare_pairs(tax, config)
        table = pipeline.make_model(tax, config, torch.device("cpu"))
        opt = pipeline.make_optimizer_for(table, config)
        rng = np.random.default_rng(0)
        neg = data.sampler.sample(data.u[:64], data.v[:64], rng)
        batch = np.concatenate((data.u[:64, None], data.v[:64, None], neg.nodes), axis=1)
        gatherer = fit_module.RowGatherer(tax.n_nodes)
        losses[backend] = fit_module.train_step(
            table, opt, gatherer, batch, neg.mask, 0.1, config, data.target
        )
        losses[backend + "_w"] = table.weight.clone()
    assert losses["fused"] == pytest.approx(losses["torch"], rel=1e-10)
    assert torch.allclose(losses["fused_w"], losses["torch_w"], rtol=0, atol=1e-12)


def test_threads_are_restored():
    before = torch.get_num_threads()
    with fit_module.compute_threads(1, fused_kernel=False):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("init", "burn_in", "first_lr_factor"),
    [("constructive", None, 1.0), ("uniform", None, 0.1), ("depth", None, 0.1),
     ("constructive", 2, 0.1), ("uniform", 0, 1.0)],
)  # fmt: skip
def test_burn_in_follows_the_start(dag_tsv, tmp_path, init, burn_in, first_lr_factor):
    """Unset, burn-in is 0 from the constructive start and 10 epochs from a random
    one; an explicit --burn-in wins either way."""
    config = TrainConfig(data=dag_tsv, init=init, burn_in=burn_in, epochs=1, eval_every=1,
                         threads=1)  # fmt: skip
    assert config.burn_in_epochs == (burn_in if burn_in is not None else
                                     (0 if init == "constructive" else 10))  # fmt: skip
    result = run(config, paths=RunPaths.in_dir(tmp_path / "run"), report=False, echo=quiet([]))
    assert result.state.history[1]["lr"] == pytest.approx(config.lr * first_lr_factor)


def test_the_construction_is_best_when_no_epoch_beats_it(tmp_path, monkeypatch):
    """Epochs that shuffle the points lower MAP: early stopping ends the run after its
    patience, and best.pt (and the result) is the construction, epoch 0."""
    tsv = write_tsv(random_taxonomy(120, 5, dag=True), tmp_path / "dag.tsv")

    def shuffling_epoch(table, *args, **kwargs):
        perm = torch.randperm(table.n_nodes, generator=torch.Generator().manual_seed(1))
        table.weight.copy_(table.weight[perm])
        return 1.0

    monkeypatch.setattr(fit_module, "train_epoch", shuffling_epoch)
    lines, paths = [], RunPaths.in_dir(tmp_path / "run")
    config = TrainConfig(data=tsv, epochs=10, eval_every=1, early_stopping=2, threads=1)
    result = run(config, paths=paths, report=False, echo=quiet(lines))
    assert [r["epoch"] for r in result.state.history] == [0, 1, 2]
    assert result.state.stopped_early and result.state.stopper.best_epoch == 0
    assert any("no epoch beat the construction on MAP and mean rank" in line for line in lines)
    from hyptax import pipeline

    tax = pipeline.load_data(config, echo=quiet([]))
    construction = pipeline.make_model(tax, pipeline.resolve_for(config, tax), torch.device("cpu"))
    best = load_checkpoint(paths.best)
    assert best["epoch"] == 0 and torch.equal(best["weight"], construction.weight)
    assert torch.equal(result.table.weight, construction.weight)
    assert load_checkpoint(paths.last)["epoch"] == 2


def test_a_checkpoint_from_before_the_tiebreak_resumes(dag_tsv, tmp_path):
    """A run that stopped on the loss, saved before stop_tie and the stopper's tiebreak
    existed, continues on the loss; a new --early-stopping applies on resume."""
    paths = RunPaths.in_dir(tmp_path / "run")
    config = TrainConfig(data=dag_tsv, epochs=2, eval_every=1, threads=1, stop_metric="loss")
    run(config, paths=paths, report=False, echo=quiet([]))
    old = load_checkpoint(paths.last)
    del old["config"]["stop_tie"]
    stopper = old["train_state"]["stopper"]
    stopper["min_delta"] = stopper.pop("tie")
    del stopper["peak"], stopper["best_tiebreak"]
    stopper["bad_evals"], old["train_state"]["stopped_early"] = 3, True  # patience 3 spent
    save_checkpoint(paths.last, old)
    resumed = replace(config, epochs=3, early_stopping=5)
    result = run(resumed, paths=paths, resume=True, report=False, echo=quiet([]))
    assert result.state.epoch == 3 and not result.state.stopped_early
    assert result.state.stopper.mode == "min" and result.state.stopper.patience == 5
    assert [r["epoch"] for r in result.state.history] == [0, 1, 2, 3]
