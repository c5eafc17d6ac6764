"""The holdout split, link prediction and the trivial closure baseline."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import balanced_tree, fan_embedding, random_dag
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.linkpred import implied_by, link_prediction, split_edges


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.45])
def test_split_is_a_partition_that_keeps_every_node(fraction):
    tax = random_dag(200, 0, max_parents=3)
    desc, anc = tax.closure
    train, valid, test = split_edges(desc, anc, fraction, 3, tax.n_nodes)
    assert (train.astype(int) + valid + test == 1).all()
    assert valid.sum() == test.sum() > 0
    assert valid.sum() <= round(fraction * len(desc))
    in_pairs = np.union1d(desc, anc)
    in_train = np.union1d(desc[train], anc[train])
    assert np.array_equal(in_pairs, in_train)
    assert set(np.unique(desc)) <= set(desc[train].tolist())  # every node keeps a pair of its own


def test_split_size_is_the_fraction_when_enough_pairs_are_free():
    tax = balanced_tree((3, 4, 5))
    desc, anc = tax.closure
    _, valid, test = split_edges(desc, anc, 0.1, 0, tax.n_nodes)
    assert valid.sum() == test.sum() == round(0.1 * len(desc))


def test_split_is_seeded_and_ignores_pair_order():
    tax = random_dag(100, 1, max_parents=2)
    desc, anc = tax.closure
    a = split_edges(desc, anc, 0.1, 7, tax.n_nodes)
    b = split_edges(desc, anc, 0.1, 7, tax.n_nodes)
    c = split_edges(desc, anc, 0.1, 8, tax.n_nodes)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[2], c[2])
    perm = np.random.default_rng(0).permutation(len(desc))
    shuffled = split_edges(desc[perm], anc[perm], 0.1, 7, tax.n_nodes)
    assert all(np.array_equal(x[perm], y) for x, y in zip(a, shuffled, strict=True))


def test_implied_by_the_training_closure():
    desc = np.array([0, 1, 0, 2])  # 0 -> 1 -> 3, 0 -> 3, and 2 -> 3
    anc = np.array([1, 3, 3, 3])
    known = np.array([True, True, False, True])
    query = np.array([False, False, True, False])
    assert implied_by(desc, anc, known, query, 4).tolist() == [True]
    known = np.array([True, False, False, True])
    query = np.array([False, True, True, False])
    assert implied_by(desc, anc, known, query, 4).tolist() == [False, False]


def test_link_prediction_on_a_perfect_embedding():
    tax = balanced_tree((3, 3, 2))
    view = ball_view(fan_embedding(tax, (1.0, 2.0, 4.0)), "poincare")
    desc, anc = tax.closure
    got = link_prediction(view, desc, anc, fraction=0.2, seed=0)
    assert got["n_test"] > 0 and got["test"]["map"] == 1.0
    assert 0.0 <= got["trivial_recall"] <= 1.0
    assert got["n_train"] + got["n_valid"] + got["n_test"] == len(desc)
    if got["test_not_implied"] is not None:
        assert got["test_not_implied"]["map"] == 1.0
