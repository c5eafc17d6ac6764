import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_taxonomy as shared_random_taxonomy
from hyptax.data.taxonomy import Taxonomy
from hyptax.sampling import NegativeSampler, RelationIndex, RowGatherer


def random_taxonomy(n: int, seed: int, dag: bool) -> Taxonomy:
    return shared_random_taxonomy(n, seed, dag=dag, reach=20, extra_roots=True)


def truth(tax: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """(ancestor_or_self[u, w], related[u, w]) by brute force from the closure."""
    n = tax.n_nodes
    anc = np.eye(n, dtype=bool)
    d, a = tax.closure
    anc[d, a] = True
    return anc, anc | anc.T


@pytest.mark.parametrize("dag", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_relation_index_matches_the_closure(seed, dag):
    tax = random_taxonomy(150, seed, dag)
    anc, rel = truth(tax)
    index = RelationIndex(tax)
    u = np.arange(tax.n_nodes)
    assert (index.related(u[:, None], u[None, :]) == rel).all()
    assert (index.ancestor_or_self(u[:, None], u[None, :]) == anc).all()
    if dag:
        assert len(index.extra) > 0  # the DAG path is exercised


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 120),
    seed=st.integers(0, 10_000),
    dag=st.booleans(),
    exclude=st.sampled_from(["related", "ancestors"]),
    hard=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_sampler_never_returns_an_excluded_pair(n, seed, dag, exclude, hard):
    tax = random_taxonomy(n, seed, dag)
    anc, rel = truth(tax)
    bad = rel if exclude == "related" else anc
    k = min(20, tax.n_nodes - 1)
    sampler = NegativeSampler(RelationIndex(tax), n_negatives=k, hard_fraction=hard,
                              exclude=exclude)  # fmt: skip
    d, a = (x.astype(np.int64) for x in tax.closure)
    neg = sampler.sample(d, a, np.random.default_rng(seed))
    assert neg.nodes.shape == (len(d), k)
    valid = np.ones(neg.nodes.shape, bool) if neg.mask is None else ~neg.mask
    assert not bad[d[:, None], neg.nodes][valid].any()
    if neg.mask is not None:  # masked only where (almost) nothing is allowed
        frac_allowed = 1.0 - bad[d].mean(axis=1)
        assert frac_allowed[neg.mask.any(axis=1)].max() < 0.2


def test_chain_masks_everything_when_all_nodes_are_related():
    n = 6
    tax = Taxonomy.from_edges([str(i) for i in range(n)], np.arange(1, n), np.arange(n - 1))
    d, a = (x.astype(np.int64) for x in tax.closure)
    sampler = NegativeSampler(RelationIndex(tax), n_negatives=3, exclude="related")
    neg = sampler.sample(d, a, np.random.default_rng(0))
    assert neg.mask is not None and neg.mask.all()
    # with "ancestors", the descendants of u are fair negatives
    sampler = NegativeSampler(RelationIndex(tax), n_negatives=3, exclude="ancestors")
    neg = sampler.sample(d, a, np.random.default_rng(0))
    has_desc = d < n - 1
    assert neg.mask is None or not neg.mask[has_desc].any()
    assert (neg.nodes[has_desc] > d[has_desc, None]).all()


def test_sampling_is_deterministic_in_the_seed():
    tax = random_taxonomy(200, 1, True)
    d, a = (x.astype(np.int64) for x in tax.closure)
    sampler = NegativeSampler(RelationIndex(tax), n_negatives=10, hard_fraction=0.5)
    one = sampler.sample(d, a, np.random.default_rng(7)).nodes
    two = sampler.sample(d, a, np.random.default_rng(7)).nodes
    three = sampler.sample(d, a, np.random.default_rng(8)).nodes
    assert (one == two).all() and not (one == three).all()


def test_hard_negatives_are_cousins():
    tax = random_taxonomy(300, 3, False)
    index = RelationIndex(tax)
    d, a = (x.astype(np.int64) for x in tax.closure)
    rng = np.random.default_rng(0)
    uniform = NegativeSampler(index, n_negatives=10).sample(d, a, rng).nodes
    hard = NegativeSampler(index, n_negatives=10, hard_fraction=1.0).sample(d, a, rng).nodes
    depth = tax.depth.astype(np.int64)

    def near(nodes):  # in v's subtree, or at u's depth
        below_v = index.related(a[:, None], nodes) & ~index.ancestor_or_self(a[:, None], nodes)
        return (below_v | (depth[nodes] == depth[d][:, None])).mean()

    assert near(hard) > 0.8
    assert near(hard) > near(uniform) + 0.25


def test_row_gatherer():
    rng = np.random.default_rng(0)
    index = rng.integers(0, 50, size=(7, 5))
    gatherer = RowGatherer(50)
    for _ in range(2):  # reusable
        rows, local = gatherer.gather(index)
        assert (np.diff(rows) > 0).all()
        assert set(rows.tolist()) == set(index.ravel().tolist())
        assert (rows[local] == index).all()
