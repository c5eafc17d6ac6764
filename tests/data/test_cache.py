"""The cache of prepared datasets: read once from the source, then from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyptax.cli import main
from hyptax.config import DataOptions, TrainConfig
from hyptax.data import cache, edgelist, load_taxonomy, prepared


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of its own that keeps every dataset, however quick to read."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(folder))
    monkeypatch.setattr(cache, "MIN_SECONDS", 0.0)
    return folder


@pytest.fixture
def edges(tmp_path: Path) -> Path:
    path = tmp_path / "tree.tsv"
    path.write_text("b\ta\nc\ta\nd\tb\nd\tc\n")
    return path


def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The edge files read from their source from now on."""
    seen: list[str] = []
    original = edgelist.load_edges

    def spy(path, *args, **kwargs):
        seen.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(edgelist, "load_edges", spy)
    return seen


def same(a, b) -> bool:
    return (prepared.dataset_hash(a), a.source, a.definition, a.stats) == (
        prepared.dataset_hash(b), b.source, b.definition, b.stats
    )  # fmt: skip


def test_second_load_reads_the_cache(store: Path, edges: Path, monkeypatch) -> None:
    seen = reads(monkeypatch)
    first = load_taxonomy(str(edges))
    again = load_taxonomy(str(edges))
    assert seen == [str(edges)]  # the source was read once
    assert same(first, again) and not again.is_tree
    assert [e["source"] for e in cache.entries()] == [first.source]
    load_taxonomy(str(edges), cache=False)
    assert len(seen) == 2 and len(cache.entries()) == 1  # no-cache: neither read nor written


def test_a_changed_source_is_read_again(store: Path, edges: Path, monkeypatch) -> None:
    seen = reads(monkeypatch)
    load_taxonomy(str(edges))
    edges.write_text("b\ta\nc\ta\nd\tb\ne\tc\n")  # same size, maybe the same clock tick
    changed = load_taxonomy(str(edges))
    assert len(seen) == 2 and "e" in changed.index
    assert len(cache.entries()) == 2


def test_a_damaged_entry_is_rebuilt(store: Path, edges: Path, monkeypatch, caplog) -> None:
    first = load_taxonomy(str(edges))
    (entry,) = store.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:-50])
    seen = reads(monkeypatch)
    again = load_taxonomy(str(edges))
    assert seen == [str(edges)] and same(first, again)
    assert "damaged cached dataset" in caplog.text
    assert same(prepared.load(entry), first)  # written again, whole


def test_an_unwritable_cache_is_skipped(tmp_path: Path, edges: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    monkeypatch.setattr(cache, "MIN_SECONDS", 0.0)
    assert load_taxonomy(str(edges)).n_nodes == 4


def test_quick_sources_are_not_kept(tmp_path: Path, edges: Path, monkeypatch) -> None:
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    load_taxonomy(str(edges))  # a few lines read in well under MIN_SECONDS
    assert cache.entries() == []


def test_options_and_spelling_are_part_of_the_key(store: Path, edges: Path, monkeypatch):
    monkeypatch.chdir(edges.parent)
    assert load_taxonomy("tree.tsv").source != load_taxonomy(str(edges)).source
    assert len(cache.entries()) == 2
    assert cache.key("ncbi:small", "ncbi:small", DataOptions()) != cache.key(
        "ncbi:small", "ncbi:small", DataOptions(clean=True)
    )


def test_folder_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(cache.ENV, str(tmp_path / "mine"))
    assert cache.folder() == tmp_path / "mine"
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder() == tmp_path / "xdg" / "hyptax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.folder() == tmp_path / ".cache" / "hyptax"


def test_cli_no_cache_info_and_clear(store: Path, edges: Path, monkeypatch, capsys) -> None:
    seen = reads(monkeypatch)
    assert main(["info", str(edges), "--no-cache"]) == 0
    assert not store.exists()
    assert main(["info", str(edges)]) == 0 and main(["info", str(edges)]) == 0
    assert len(seen) == 2
    capsys.readouterr()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"{store}: 1 cached dataset(s)" in out and str(edges) in out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 cached dataset(s)" in capsys.readouterr().out
    assert cache.entries() == []


def test_training_honours_no_cache(store: Path, edges: Path, monkeypatch) -> None:
    from hyptax.pipeline import load_data

    seen = reads(monkeypatch)
    for flag in (True, True, False):
        load_data(TrainConfig(data=str(edges), data_cache=flag), echo=lambda _: None)
    assert len(seen) == 2
