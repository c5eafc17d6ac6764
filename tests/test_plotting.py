"""Pictures: the disk view keeps radii, and each figure is written and not blank."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import balanced_tree
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import HyptaxError
from hyptax.manifolds import get_manifold
from hyptax.plotting import disk_coordinates, plot_curves, plot_depth, plot_disk, save_figure


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
