"""What an export keeps of the MAP, as its readers read it (evaluation/fidelity.py)."""

from __future__ import annotations

import numpy as np

from conftest import balanced_tree
from hyptax.config import EvalConfig
from hyptax.constructive import construct
from hyptax.embeddings import Embeddings
from hyptax.evaluation.fidelity import MAP_TOLERANCE, check_export
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.queries import Queries
from hyptax.evaluation.ranking import reconstruction


def metric_tree(edge: float | None) -> tuple[Embeddings, object]:
    """A 255-node binary tree, depth 7, built in the metric geometry: ``edge=None``
    takes the float64 budget (25.9 from the origin, past float32's 12.2), 1.0 stays
    at 7 from the origin."""
    tax = balanced_tree((2,) * 7)
    w = construct(tax, 3, geometry="metric", scale=edge)
    meta = {"config": {"geometry": "metric"}}
    return Embeddings(tax.ids, tax.names, w, "poincare", meta=meta), tax


def test_a_float32_reading_of_points_near_the_boundary_loses_map_and_is_warned():
    emb, tax = metric_tree(None)
    check = check_export(emb, "w2v", tax)
    assert check.score == "ancestor" and check.mode == "exact"  # the metric geometry's own
    assert check.model_map == 1.0
    f32, f64 = check.readings
    assert f32.reader.dtype == "float32" and not f32.identical
    # edge 25.9 / 7 = 3.7: depth 4 and deeper lie past float32's 12.2, pulled in to it
    assert f32.moved == int((tax.depth >= 4).sum()) == 240
    assert 0.4 < f32.map < 0.6  # measured 0.51 (0.84 were they kept at float64's rim)
    assert f64.identical and f64.map == 1.0  # the digits written read back exactly
    (line,) = check.warnings("/x/v.w2v")
    assert "w2v as gensim reads it by default (float32) loses MAP" in line
    assert f"of {emb.n} rows lie farther from the origin than float32 holds (12.2)" in line
    assert line.endswith(
        "read it with KeyedVectors.load_word2vec_format('/x/v.w2v', "
        "datatype=numpy.float64) (MAP 1.0000)"
    )
    summary = check.summary()
    assert summary.startswith(f"w2v: MAP {f32.map:.4f} as gensim reads it by default (float32)")
    assert summary.endswith("the model's 1.0000 (by the ancestor score, exact over 254 nodes)")


def test_no_warning_for_an_embedding_float32_holds():
    emb, tax = metric_tree(1.0)
    for fmt in ("w2v", "tsv"):
        check = check_export(emb, fmt, tax)
        f32 = check.readings[0]
        assert not f32.identical and f32.moved == 0  # ranked again, nothing pulled in
        assert abs(check.loss(f32)) <= MAP_TOLERANCE
        assert check.warnings() == []


def test_the_model_is_ranked_as_its_report_ranks_it_on_the_same_anchors():
    emb, tax = metric_tree(None)
    emb.meta["config"]["geometry"] = "order"
    check = check_export(emb, "npy", tax, EvalConfig(sample=40, seed=3))
    assert check.score == "distance" and check.mode == "sampled" and check.n_ranked == 40
    queries = Queries.from_pairs(*tax.closure, tax.n_nodes)
    view = ball_view(emb.vectors, "poincare")
    expected = reconstruction(view, queries, sample=40, seed=3, n_bootstrap=0)["map"]
    assert check.model_map == expected
    (npy,) = check.readings
    assert npy.identical and npy.map == check.model_map and check.warnings() == []


def test_a_lorentz_model_read_from_poincare_text_is_ranked_not_assumed():
    tax = balanced_tree((2,) * 7)
    w = construct(tax, 3, geometry="metric", scale=1.0, manifold="lorentz")
    emb = Embeddings(tax.ids, tax.names, w, "lorentz", meta={"config": {"geometry": "metric"}})
    check = check_export(emb, "w2v", tax)
    assert not any(r.identical for r in check.readings)  # Poincaré text of Lorentz points
    assert all(abs(check.loss(r)) <= MAP_TOLERANCE for r in check.readings)
    assert np.isclose(check.model_map, 1.0)


def test_float32_values_past_float32s_radius_are_pulled_in_though_read_exactly():
    emb, tax = metric_tree(None)
    w = emb.vectors.float()  # float32 values: a float32 reader gets them exactly
    w = w * ((1 - 2**-22) / w.norm(dim=1, keepdim=True)).clamp(max=1.0)
    e = Embeddings(emb.ids, emb.names, w.double(), "poincare", meta=emb.meta)
    f32, f64 = check_export(e, "w2v", tax).readings
    assert f64.identical and not f32.identical  # a float32 embedding lives in float32's ball
    assert f32.moved == 240
