"""Pictures: the disk view keeps radii, and each figure is written and not blank."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import balanced_tree
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import HyptaxError
from hyptax.layout import disk_view
from hyptax.manifolds import get_manifold
from hyptax.plotting import disk_coordinates, plot_curves, plot_depth, plot_disk, save_figure
from hyptax.viewer import html_view, write_html


def tree(branching: tuple[int, ...] = (4, 3, 3)) -> Taxonomy:
    return balanced_tree(branching)


def emb(t: Taxonomy, dim: int, manifold: str = "poincare") -> Embeddings:
    g = torch.Generator().manual_seed(0)
    p = get_manifold("poincare").random(t.n_nodes, dim, 0.8, g)
    p = p * torch.as_tensor(0.3 + 0.2 * t.depth, dtype=torch.float64)[:, None]  # deeper, farther
    w = p if manifold == "poincare" else get_manifold("lorentz").from_poincare(p)
    return Embeddings(t.ids, t.names, w, manifold)


def n_colours(path) -> int:
    from matplotlib.image import imread

    img = np.round(imread(str(path)) * 255).astype(np.uint32)  # (h, w, 3 or 4) in 0..255
    packed = img[..., 0] << 24 | img[..., 1] << 16 | img[..., 2] << 8  # one int per pixel
    if img.shape[-1] == 4:
        packed |= img[..., 3]
    return len(np.unique(packed))  # (np.unique over float rows took seconds)


def test_disk_view_of_dim_two_is_the_embedding():
    e = emb(tree(), 2)
    xy, how = disk_coordinates(e)
    assert np.array_equal(xy, e.poincare()) and "itself" in how


@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
def test_disk_view_keeps_every_radius(manifold):
    e = emb(tree(), 6, manifold)
    xy, how = disk_coordinates(e)
    assert np.allclose(np.linalg.norm(xy, axis=1), np.linalg.norm(e.poincare(), axis=1))
    assert "principal axes" in how
    again, _ = disk_coordinates(e)
    assert np.array_equal(xy, again)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_disk_picture_is_written(tmp_path, suffix):
    t = tree()
    path = save_figure(plot_disk(emb(t, 5), t), tmp_path / f"disk{suffix}")
    assert path.stat().st_size > 10_000
    if suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert n_colours(path) > 20  # four coloured groups, labels, the circle
    else:
        assert "<svg" in path.read_text()


def test_depth_boxes_and_curves(tmp_path):
    t = tree()
    depth = save_figure(plot_depth(emb(t, 3), t), tmp_path / "depth.png")
    assert depth.stat().st_size > 10_000 and n_colours(depth) > 5
    records = [
        {"epoch": k, "loss": 2.0 / k, "valid_loss": 2.2 / k, "map_sampled": 1 - 1 / k,
         "mean_rank_sampled": 10.0 / k, "spearman": 0.1 * k, "max_norm": 0.9,
         "mean_norm": 0.5, "near_boundary_frac": 0.0, "outside_frac": 0.0}
        for k in range(1, 6)
    ]  # fmt: skip
    curves = save_figure(plot_curves(records), tmp_path / "curves.png")
    assert curves.stat().st_size > 10_000
    with pytest.raises(HyptaxError, match="no training metrics"):
        plot_curves([])


def test_bad_suffix_is_refused(tmp_path):
    t = tree((2,))
    with pytest.raises(HyptaxError, match=r"\.png, \.svg or \.pdf"):
        save_figure(plot_depth(emb(t, 2), t), tmp_path / "x.jpg")


def test_rim_crowded_embeddings_are_scaled_for_display_and_say_so():
    t = tree()
    e = emb(t, 4)
    p = torch.as_tensor(e.poincare())
    rim = (
        p
        / p.norm(dim=1, keepdim=True)
        * (
            1
            - 1e-6
            * torch.rand(len(p), 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        )
    )
    crowded = Embeddings(e.ids, e.names, rim, "poincare")
    xy, how = disk_coordinates(crowded, "auto")
    r = np.linalg.norm(xy, axis=1)
    assert "scaled by" in how and np.quantile(r, 0.99) == pytest.approx(0.95, abs=1e-3)
    d0 = 2 * np.arctanh(np.linalg.norm(crowded.poincare(), axis=1))
    assert (np.diff(r[np.argsort(d0)]) >= -1e-12).all()  # radii stay in the order of depth
    assert "scaled" not in disk_coordinates(e, "auto")[1]  # ordinary embeddings: true radius


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(HyptaxError, match=r"need matplotlib, .*: pip install 'hyptax\[plot\]'$"):
        plot_curves([])


def _runs_around(xy: np.ndarray, label: np.ndarray) -> int:
    """Contiguous runs of one label met going once around the origin (by angle)."""
    ok = np.linalg.norm(xy, axis=1) > 0
    lab = label[ok][np.argsort(np.arctan2(xy[ok, 1], xy[ok, 0]), kind="stable")]
    return max(1, int((lab != np.roll(lab, 1)).sum()))


def test_tree_layout_puts_each_clade_in_a_wedge_of_its_own():
    t = tree((5, 4, 3))
    e = emb(t, 6)  # random directions: a projection of them interleaves the clades
    group = t.top_level()
    xy, how = disk_view(e, t, "tree")
    assert "wedge" in how
    assert _runs_around(xy[t.depth > 0], group[t.depth > 0]) == 5  # one arc per clade
    for k in (1, 2):  # every node inside its depth-k ancestor's arc
        anc = np.arange(t.n_nodes)
        while (t.depth[anc] > k).any():
            anc = np.where(t.depth[anc] > k, t.tree_parent[anc], anc)
        deep = t.depth >= k
        assert _runs_around(xy[deep], anc[deep]) == (t.depth == k).sum()
    r = np.linalg.norm(xy, axis=1)
    assert all(np.ptp(r[t.depth == k]) < 1e-12 for k in range(4))  # a ring per level
    assert (np.diff([r[t.depth == k][0] for k in range(4)]) > 0.1).all()
    pca, _ = disk_view(e, t, "pca")
    assert _runs_around(pca[t.depth > 0], group[t.depth > 0]) > 10  # what it replaced


def test_two_d_embeddings_are_drawn_as_they_are():
    t = tree()
    e = emb(t, 2)
    assert np.array_equal(disk_view(e, t, "tree")[0], e.poincare())
    with pytest.raises(HyptaxError, match="--layout must be one of tree, pca"):
        disk_view(emb(t, 3), t, "umap")


def test_html_view_holds_every_name_rank_and_lineage_and_no_url(tmp_path, monkeypatch):
    import json
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the page needs no extra
    t = Taxonomy.from_edges(
        ["r", "a", "b", "c", "d"], [1, 2, 3, 4], [0, 0, 1, 1],
        names=["root", "Alpha <i>", "Beta", "Gamma", "Delta"],
        ranks=["no rank", "phylum", "phylum", "class", "class"],
    )  # fmt: skip
    page = write_html(tmp_path / "v.html", html_view(emb(t, 4), t)).read_text()
    assert "http" not in page and "//" not in page.replace("\\/", "")
    assert "<i>" not in page  # names are data, never markup
    body = page.split('type="application/json">')[1].split("</script>")[0]
    data = json.loads(body)
    assert data["name"] == t.names.tolist() and data["rank"] == t.ranks.tolist()
    for i in range(t.n_nodes):
        line, j = [], data["parent"][i]
        while j >= 0:
            line.append(data["name"][j])
            j = data["parent"][j]
        assert line[::-1] == t.lineage(i)
    assert all(x is not None for x in data["x"])
    for name in ("Beta", "Gamma", "Delta"):
        assert name in page
    with pytest.raises(HyptaxError, match=r"must end in \.html"):
        write_html(tmp_path / "v.png", "")
