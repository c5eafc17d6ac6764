"""``hyptax prepare`` and ``hyptax info`` from the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hyptax.cli import main
from hyptax.data import load_taxonomy


@pytest.fixture
def edges(tmp_path: Path) -> Path:
    path = tmp_path / "tree.tsv"
    path.write_text("child\tparent\nb\ta\nc\ta\nd\tb\ne\tb\nf\tc\n")
    return path


def test_prepare_then_info(edges: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "prep" / "tree.npz"
    assert main(["prepare", str(edges), "-o", str(out)]) == 0
    assert out.exists()
    back = load_taxonomy(str(out))
    assert back.n_nodes == 6 and back.n_closure == 8
    capsys.readouterr()
    js = tmp_path / "info.json"
    assert main(["info", str(out), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "nodes          6" in text and "closure edges  8" in text
    info = json.loads(js.read_text())
    assert info["depth_max"] == 2 and info["nodes_per_depth"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("b\ta\nc\tb\na\tc\n", r"bad\.tsv: line \d: cycle: "),
        ("b\ta\nb\tb\n", r"bad\.tsv: line 2: self-loop"),
        ("b\ta\nc\n", r"bad\.tsv: line 2: "),
        ("", r"bad\.tsv: .*empty"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, content: str, message: str, capsys) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text(content)
    out = tmp_path / "never.npz"
    assert main(["prepare", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 2  # "loading ..." and the one-line error
    assert err.splitlines()[-1].startswith("hyptax: error: ")
    assert re.search(message, err.splitlines()[-1]), err
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []


def test_a_missing_extra_is_one_line_naming_the_pip_install(tmp_path: Path, capsys, monkeypatch):
    from hyptax.data import wordnet

    for name in wordnet.REQUIRED_FILES:  # WordNet's files are there; nltk is not
        (tmp_path / name).write_text("")
    monkeypatch.setitem(sys.modules, "nltk", None)
    assert main(["info", f"wordnet:mammals@{tmp_path}", "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("hyptax: error: the WordNet datasets need nltk, which is not installed: "
                       "pip install 'hyptax[wordnet]'")  # fmt: skip


def test_commands_import_only_what_they_use(edges: Path) -> None:
    """`hyptax info` on an edge list imports no optional extra (torch comes with
    ``import hyptax``, which exports the library's types directly)."""
    code = (
        "import sys; from hyptax.cli import main; main(['info', sys.argv[1], '--no-cache']); "
        "print(*sorted({'matplotlib', 'nltk', 'gensim'} & set(sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(edges)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert proc.stdout.splitlines()[-1] == ""


def test_unknown_spec(capsys) -> None:
    assert main(["info", "nonsense:thing"]) == 2
    assert "unknown dataset spec" in capsys.readouterr().err


def test_read_only_output_folder(edges: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    # Simulated, since CI runs as root and root ignores folder permissions.
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code = main(["prepare", str(edges), "-o", str(tmp_path / "x.npz")])
    assert code == 2
    err = capsys.readouterr().err
    assert "x.npz: cannot write: permission denied" in err
    assert not (tmp_path / "x.npz").exists()
