"""The one-call API (hyptax.train / embed / evaluate), data given in memory, the
README's Python section, and a library that logs instead of printing."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hyptax
from hyptax.data import IN_MEMORY
from hyptax.errors import ConfigError, HyptaxError

README = Path(__file__).resolve().parents[1] / "README.md"

PAIRS = [(f"n{i}", f"n{(i - 1) // 2}") for i in range(1, 40)]
"""A binary tree of 40 nodes as (child, parent) pairs."""

JUMPY = {"dim": 2, "epochs": 8, "eval_every": 1, "init": "uniform", "lr": 30.0, "threads": 1,
         "stop_metric": "loss"}
"""Training whose validation loss is best at epoch 2 of 5 (early stopping): the best
weights are not the last ones."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    return hyptax.train(PAIRS, **JUMPY), hyptax.train(PAIRS, out=out, **JUMPY), out


def test_train_returns_the_best_weights_in_memory(trained):
    memory, written, out = trained
    best = memory.report["training"]["best_epoch"]
    # the start is evaluated first (epoch 0), then every epoch
    assert best < len(memory.history) - 1 == memory.history[-1]["epoch"]  # best is not last
    assert torch.equal(memory.embeddings.vectors, hyptax.load(out / "best.pt").vectors)
    assert torch.equal(memory.embeddings.vectors, written.embeddings.vectors)
    assert not torch.equal(memory.embeddings.vectors, hyptax.load(out / "last.pt").vectors)


def test_a_result_holds_embeddings_report_history_and_the_run_folder(trained):
    memory, written, out = trained
    assert isinstance(memory.embeddings, hyptax.Embeddings) and len(memory.embeddings) == 40
    assert memory.out is None and written.out == out
    assert {"run.json", "metrics.jsonl", "best.pt", "last.pt", "report.json"} <= {
        p.name for p in out.iterdir()
    }
    assert isinstance(memory.report, hyptax.Report)
    assert str(memory.report).startswith("hyptax evaluation of")
    assert memory.report.to_dict()["reconstruction"] == dict(memory.report["reconstruction"])
    assert [h["epoch"] for h in memory.history] == [0, 1, 2, 3, 4, 5]
    data = memory.embeddings.meta["data"]
    assert data["spec"] == IN_MEMORY and data["n_nodes"] == 40 and data["hash"]


def test_in_memory_data_resumes_only_with_the_same_data_passed_again(tmp_path, capsys):
    out = tmp_path / "r"
    short = {**JUMPY, "lr": 0.3, "epochs": 2}
    hyptax.train(PAIRS, out=out, **short)
    more = hyptax.train(PAIRS, out=out, resume=True, epochs=3)
    assert [h["epoch"] for h in more.history] == [0, 1, 2, 3]
    with pytest.raises(HyptaxError, match="trained on"):
        hyptax.train(PAIRS[:-1], out=out, resume=True, epochs=4)
    from hyptax.cli import main

    assert main(["train", "--out", str(out), "--resume", "--epochs", "4"]) == 2
    assert "the data was given from Python" in capsys.readouterr().err


def test_a_taxonomy_pairs_and_a_spec_give_one_embedding(tmp_path):
    tsv = tmp_path / "tree.tsv"
    tsv.write_text("".join(f"{c}\t{p}\n" for c, p in PAIRS))
    by_file = hyptax.embed(str(tsv), dim=3)
    by_pairs = hyptax.embed(PAIRS, dim=3)
    by_tax = hyptax.embed(hyptax.load_taxonomy(str(tsv)), dim=3)
    assert by_pairs.embeddings.ids == by_file.embeddings.ids == by_tax.embeddings.ids
    assert torch.equal(by_pairs.embeddings.vectors, by_file.embeddings.vectors)
    assert torch.equal(by_tax.embeddings.vectors, by_file.embeddings.vectors)
    assert by_pairs.history == []
    assert by_pairs.report["reconstruction"]["map"] == by_file.report["reconstruction"]["map"]


def test_evaluate_reads_the_recorded_data_or_takes_it(tmp_path):
    tsv = tmp_path / "tree.tsv"
    tsv.write_text("".join(f"{c}\t{p}\n" for c, p in PAIRS))
    built = hyptax.embed(str(tsv), dim=3)
    emb = built.embeddings
    report = hyptax.evaluate(emb, sample=20)
    assert isinstance(report, hyptax.Report) and report["data"]["n_nodes"] == 40
    assert report["reconstruction"]["mode"] == "sampled"
    exact = built.report["reconstruction"]["map"]
    assert hyptax.evaluate(emb, PAIRS)["reconstruction"]["map"] == exact
    assert hyptax.evaluate(emb)["reconstruction"]["map"] == exact
    with pytest.raises(HyptaxError, match="pass the data"):
        hyptax.evaluate(hyptax.embed(PAIRS, dim=3).embeddings)


def test_unknown_settings_are_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown setting epoch; .*epochs"):
        hyptax.train(PAIRS, epoch=3)
    with pytest.raises(ConfigError, match=r"unknown setting dim; .*sample"):
        hyptax.evaluate(hyptax.embed(PAIRS, dim=2).embeddings, PAIRS, dim=3)
    with pytest.raises(ConfigError, match="unknown setting data"):
        hyptax.train(PAIRS, data="ncbi:small")
    with pytest.raises(HyptaxError, match="pair 2: expected"):
        hyptax.embed([("a", "b"), ("c",)])
    with pytest.raises(TypeError, match="not int"):
        hyptax.embed(3)  # type: ignore[arg-type]


def test_the_library_logs_and_prints_nothing(capfd, caplog):
    from hyptax.evaluation import evaluate

    with caplog.at_level(logging.INFO, logger="hyptax"):
        r = hyptax.train(PAIRS, dim=2, epochs=2, eval_every=1, init="uniform", threads=1)
        evaluate(r.embeddings, r.taxonomy)  # progress is the caller's to ask for
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    said = caplog.text
    assert f"{IN_MEMORY}: 40 nodes" in said and "epoch    1" in said
    assert "hyptax evaluation of" in said and "evaluating: reconstruction" in said


def _readme_python() -> str:
    """The python blocks of the README's Python section (other sections quote snippets
    that need files of their own, e.g. gensim reading an export)."""
    text = README.read_text()
    section = text[text.index("\n## Python\n") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README.md's Python section has no python block"
    return "\n".join(blocks)


@pytest.mark.slow
def test_the_readme_python_section_runs_as_written(tmp_path):
    """The README's examples use wordnet:mammals (about a minute here); they run as
    written, in a fresh interpreter, in a scratch folder."""
    code = _readme_python()
    assert "import hyptax" in code and "hyptax.pipeline" not in code and "hyptax.config" not in code
    src = Path(hyptax.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_hyptax_exports_the_types_without_getattr():
    import hyptax as h

    assert "__getattr__" not in vars(h)
    for name in h.__all__:
        assert name in vars(h), name
    assert np.all([callable(getattr(h, f)) for f in ("train", "embed", "evaluate", "load")])
