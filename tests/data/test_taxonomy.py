"""The data model: closure, transitive reduction, depth, cycles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hyptax.data.taxonomy import Taxonomy, suggest
from hyptax.errors import InputError


def brute_closure(n: int, child: list[int], parent: list[int]) -> set[tuple[int, int]]:
    up = {i: set() for i in range(n)}
    for c, p in zip(child, parent, strict=True):
        up[c].add(p)
    pairs = set()
    for u in range(n):
        stack, seen = list(up[u]), set()
        while stack:
            a = stack.pop()
            if a not in seen:
                seen.add(a)
                stack.extend(up[a])
        pairs |= {(u, a) for a in seen}
    return pairs


def random_dag(rng: np.random.Generator, n: int, extra: int) -> tuple[list[int], list[int]]:
    """A random DAG: node i > 0 gets a parent < i, plus ``extra`` more edges downward."""
    child = list(range(1, n))
    parent = [int(rng.integers(0, i)) for i in range(1, n)]
    for _ in range(extra):
        a, b = sorted(rng.choice(n, 2, replace=False).tolist())
        child.append(b)
        parent.append(a)
    return child, parent


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("extra", [0, 5, 40])
def test_closure_matches_brute_force(seed: int, extra: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    child, parent = random_dag(rng, n, extra)
    tax = Taxonomy.from_edges([str(i) for i in range(n)], child, parent)
    desc, anc = tax.closure
    got = set(zip(desc.tolist(), anc.tolist(), strict=True))
    assert got == brute_closure(n, child, parent)
    assert len(got) == len(desc)  # no duplicates
    assert desc.dtype == np.int32


@pytest.mark.parametrize("seed", range(8))
def test_reduction_recovers_parents_and_closure(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 50
    child, parent = random_dag(rng, n, 10)
    tax = Taxonomy.from_edges([str(i) for i in range(n)], child, parent)
    desc, anc = tax.closure
    back = Taxonomy.from_closure(tax.ids, desc, anc)
    assert set(zip(*back.closure, strict=True)) == set(zip(desc, anc, strict=True))
    # The reduction is minimal: no parent edge is implied by the others.
    edges = set(zip(back.child.tolist(), back.parent.tolist(), strict=True))
    for e in edges:
        rest = edges - {e}
        c, p = zip(*rest, strict=True) if rest else ((), ())
        assert e not in brute_closure(n, list(c), list(p))


def test_depth_is_longest_path() -> None:
    # r -> a -> b -> c and r -> c: c has depth 3, not 1.
    tax = Taxonomy.from_edges(list("rabc"), [1, 2, 3, 3], [0, 1, 2, 0])
    assert tax.depth.tolist() == [0, 1, 2, 3]
    assert tax.roots.tolist() == [0]
    assert not tax.is_tree


def test_depth_grows_along_every_edge() -> None:
    rng = np.random.default_rng(3)
    child, parent = random_dag(rng, 200, 80)
    tax = Taxonomy.from_edges([str(i) for i in range(200)], child, parent)
    assert (tax.depth[tax.child] > tax.depth[tax.parent]).all()


def test_duplicates_dropped_and_counted() -> None:
    tax = Taxonomy.from_edges(list("abc"), [1, 1, 2, 1], [0, 0, 0, 0])
    assert tax.n_edges == 2
    assert tax.stats["duplicate_edges"] == 2


def test_self_loop_names_node_and_line() -> None:
    with pytest.raises(InputError, match=r"f\.tsv: line 7: self-loop: 'b'"):
        Taxonomy.from_edges(list("ab"), [1, 1], [0, 1], path="f.tsv", lines=np.array([6, 7]))


def test_cycle_names_its_nodes() -> None:
    ids = list("rabc")
    with pytest.raises(InputError, match="cycle:") as err:
        Taxonomy.from_edges(ids, [1, 2, 3, 1], [0, 1, 2, 3], path="g.csv", lines=np.arange(4) + 2)
    msg = str(err.value)
    assert msg.startswith("g.csv: line ")
    for name in "abc":
        assert f"'{name}'" in msg
    assert "'r'" not in msg


def test_top_level_groups() -> None:
    # root r with children a, b; a has c; c has d.
    tax = Taxonomy.from_edges(list("rabcd"), [1, 2, 3, 4], [0, 0, 1, 3])
    assert tax.top_level().tolist() == [-1, 1, 2, 1, 1]


def test_one_tree_parent_rule_on_a_diamond() -> None:
    """Every user of a node's one parent follows Taxonomy.tree_parent: the deepest
    parent, ties to the lowest index (the rules used to disagree here)."""
    from hyptax.constructive.tree import SpanningTree
    from hyptax.sampling import RelationIndex

    # r; a, b under r; x under a; c under b (listed first) and x; d under a and b (a tie)
    tax = Taxonomy.from_edges(list("rabxcd"), [1, 2, 3, 4, 4, 5, 5], [0, 0, 1, 2, 3, 1, 2])
    assert tax.tree_parent.tolist() == [-1, 0, 0, 1, 3, 1]
    assert tax.top_level().tolist() == [-1, 1, 2, 1, 1, 1]
    assert tax.lineage(4) == ["r", "a", "x"]
    assert RelationIndex(tax).tree_parent.tolist() == tax.tree_parent.tolist()
    assert SpanningTree.build(tax).parent.tolist() == tax.tree_parent.tolist()
    with pytest.raises(ValueError):
        tax.tree_parent[1] = 2  # cached and shared: read-only


def test_lookup_and_suggestions() -> None:
    tax = Taxonomy.from_edges(["1", "2"], [1], [0], names=["Mammalia", "Primates"])
    assert tax.lookup("2") == 1
    assert tax.lookup("Primates") == 1
    with pytest.raises(KeyError, match="Primates"):
        tax.lookup("Primate")
    assert "Mammalia" in suggest("mammalia", ["Mammalia", "Aves"])


def test_chain_closure_size() -> None:
    n = 41
    tax = Taxonomy.from_edges([str(i) for i in range(n)], range(1, n), range(n - 1))
    assert tax.n_closure == n * (n - 1) // 2
    assert tax.depth.max() == n - 1
    pairs = set(zip(*tax.closure, strict=True))
    assert all((j, i) in pairs for i, j in itertools.combinations(range(n), 2))
