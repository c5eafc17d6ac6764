"""Fuzzed parsers: every input format, thousands of generated cases.

Each case ends in a correct result (checked against an exact expectation where the
input's meaning is known, and against the invariants always) or in one one-line
HyptaxError naming the file; never another exception, never a hang. A sample goes
through the command line (exit status 2, one error line, no partial output file),
a few through a subprocess. The cases are hypothesis strategies, one module per
format in ``fuzz/``, with the runner and oracles in ``fuzz/cases.py``; every run is
derandomized (a CI failure reproduces). The quick tier draws a few examples a test
(:data:`fuzz.cases.QUICK`), the slow tier thousands a format (:data:`GENERATED`); the
total is printed at the end of the run (``conftest.py``).
"""

from __future__ import annotations

import gzip
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import fuzz
import pytest
from fuzz.cases import MARKER, QUICK, Case, Writer, examples, fresh_folder, run_case
from fuzz.checkpoints import valid_checkpoint
from fuzz.edges import EDGE_FORMATS, edge_file_case
from fuzz.graphs import random_taxonomy
from fuzz.pickles import expect_pairs, malicious_pickles
from hypothesis import given
from hypothesis import strategies as st

from hyptax.cli import main
from hyptax.config import DataOptions
from hyptax.data import prepared

GENERATED = {"edges": 3000, "taxdump": 2000, "pickle": 2000, "prepared": 1500, "checkpoint": 1500}
"""Generated cases per format in the slow tier (~10,000; benchmarks/fuzz_long.py runs more)."""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ------------------------------------------------------------------ generated cases
@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(GENERATED))
def test_generated_cases(fmt: str, tmp_path: Path) -> None:
    n = GENERATED[fmt]
    outcomes = fuzz.generated(fmt, n, tmp_path)
    # Both ends are exercised, and many cases have an exact expected outcome.
    assert outcomes.get("ok", 0) >= n // 10, outcomes
    assert outcomes.get("error", 0) >= n // 10, outcomes
    assert outcomes.get("exact", 0) >= n // 3, outcomes


# ------------------------------------------------------------------ hypothesis
EDGE_SUFFIXES = [".csv", ".tsv", ".txt", ".csv.gz", ".txt.gz"]
ANY_SUFFIX = {
    **dict.fromkeys(EDGE_SUFFIXES, "edges"),
    ".pkl": "pickle",
    ".npz": "prepared",
    ".pt": "checkpoint",
}


@QUICK
@given(
    raw=st.binary(max_size=600), suffix=st.sampled_from(sorted(ANY_SUFFIX)), compress=st.booleans()
)
def test_random_bytes_in_every_format(scratch: Path, raw: bytes, suffix: str, compress: bool):
    folder = fresh_folder(scratch, "bytes")
    if suffix.endswith(".gz") and compress:
        raw = gzip.compress(raw, mtime=0)
    path = folder / f"input{suffix}"
    path.write_bytes(raw)
    run_case(Case(ANY_SUFFIX[suffix], str(path), "hypothesis-bytes", str(path)))


IDS = st.sampled_from(["a", "b", "c", "d", "e", " a", "7"]) | st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8
)


@QUICK
@given(
    rows=st.lists(st.tuples(IDS, IDS), max_size=20),
    fmt=st.sampled_from(EDGE_FORMATS),
    header=st.sampled_from([None, "child", "parent"]),
    r=st.randoms(use_true_random=False),
)
def test_edge_lists_from_rows(scratch: Path, rows, fmt, header, r) -> None:
    """Arbitrary (child, parent) strings written in each format: where every id
    survives the format, the exact taxonomy (or the exact error) is expected."""
    case = edge_file_case(r, rows, fmt, fresh_folder(scratch, "rows"), header)
    run_case(case)


TAXDUMP_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)


@QUICK
@given(
    nodes=st.lists(
        st.tuples(
            st.integers(-3, 10**19) | TAXDUMP_TEXT, st.integers(-3, 40) | TAXDUMP_TEXT, TAXDUMP_TEXT
        ),
        max_size=12,
    ),
    names=st.lists(
        st.tuples(
            st.integers(0, 40), TAXDUMP_TEXT, st.sampled_from(["scientific name", "synonym", ""])
        ),
        max_size=12,
    ),
    n_fields=st.sampled_from([3, 4, 13, 18]),
    end=st.sampled_from(["\t|", ""]),
    clean=st.booleans(),
)
def test_taxdump_from_fields(scratch: Path, nodes, names, n_fields, end, clean) -> None:
    folder = fresh_folder(scratch, "taxdump") / "dump"
    folder.mkdir()
    pad = [""] * (n_fields - 3)
    (folder / "nodes.dmp").write_text(
        "".join("\t|\t".join([str(t), str(p), r, *pad]) + end + "\n" for t, p, r in nodes)
    )
    (folder / "names.dmp").write_text(
        "".join(f"{t}\t|\t{s}\t|\t\t|\t{k}{end}\n" for t, s, k in names)
    )
    options = DataOptions(clean=clean)
    run_case(Case("taxdump", f"taxdump:{folder}", "hypothesis", str(folder), options))


PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.sampled_from(["descendant_taxid", "ancestor_taxid", "x"]), inner)
    ),
    max_leaves=12,
)


@QUICK
@given(data=st.lists(PLAIN, max_size=6) | PLAIN, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_pickles_of_plain_data(scratch: Path, data, protocol) -> None:
    path = fresh_folder(scratch, "plain") / "data.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    run_case(Case("pickle", str(path), "hypothesis-plain", str(path)))


PAIR_ID = st.integers(0, 8) | st.sampled_from(["a", "b", "c", " a ", "b"])


@QUICK
@given(
    pairs=st.lists(st.tuples(PAIR_ID, PAIR_ID), max_size=15),
    protocol=st.integers(0, pickle.HIGHEST_PROTOCOL),
)
def test_pickles_of_pairs(scratch: Path, pairs, protocol) -> None:
    """Closure pairs as the prototype pickled them: the exact closure, or an error."""
    path = fresh_folder(scratch, "pairs") / "closure.pkl"
    path.write_bytes(pickle.dumps(pairs, protocol=protocol))
    case = Case("pickle", str(path), "hypothesis-pairs", str(path))
    expect_pairs(case, {(str(a).strip(), str(b).strip()) for a, b in pairs})
    run_case(case)


@pytest.fixture(scope="module")
def good_files(scratch: Path) -> dict[str, bytes]:
    """A valid checkpoint and a valid prepared dataset, as bytes."""
    from hyptax.training.checkpoint import save_checkpoint

    r = random.Random(1)
    folder = fresh_folder(scratch, "good")
    save_checkpoint(folder / "c.pt", valid_checkpoint(r, 6, 3))
    prepared.save(random_taxonomy(r, 12, closure=True), folder / "d.npz")
    return {".pt": (folder / "c.pt").read_bytes(), ".npz": (folder / "d.npz").read_bytes()}


@QUICK
@given(
    suffix=st.sampled_from([".pt", ".npz"]),
    flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6),
    cut=st.none() | st.integers(0, 1 << 20),
)
def test_damaged_checkpoints_and_datasets(scratch: Path, good_files, suffix, flips, cut) -> None:
    raw = bytearray(good_files[suffix])
    for at, byte in flips:
        raw[at % len(raw)] = byte
    if cut is not None:
        raw = raw[: cut % len(raw)]
    path = fresh_folder(scratch, "damaged") / f"file{suffix}"
    path.write_bytes(raw)
    fmt = "checkpoint" if suffix == ".pt" else "prepared"
    run_case(Case(fmt, str(path), "hypothesis-damage", str(path)))


# ------------------------------------------------------------------ through the CLI
def option_flags(options: DataOptions) -> list[str]:
    flags = ["--ranks", options.ranks]
    if options.lowest_rank:
        flags += ["--lowest-rank", options.lowest_rank]
    return flags + (["--clean"] if options.clean else [])


CLI_SAMPLE = 40
"""Hypothesis examples per format run through ``hyptax prepare`` / ``export`` in-process."""


@pytest.mark.parametrize("fmt", ["edges", "taxdump", "pickle", "prepared"])
def test_prepare_sample(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``hyptax prepare`` on fuzz cases: exit 0 and a dataset equal to the in-process
    load, or exit 2 with one error line and the output folder as it was (an old file
    left byte for byte, no temporary file)."""
    seen = {0: 0, 2: 0}

    @examples(CLI_SAMPLE)
    @given(writer=fuzz.STRATEGIES[fmt], old=st.sampled_from([None, b"old dataset"]))
    def one(writer: Writer, old: bytes | None) -> None:
        case = writer(fresh_folder(tmp_path, "case"))
        outcome, value = run_case(case)
        out_dir = fresh_folder(tmp_path, "out")
        target = out_dir / "out.npz"
        if old is not None:
            target.write_bytes(old)
        code = main(["prepare", case.spec, "-o", str(target), *option_flags(case.options)])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        files = sorted(p.name for p in out_dir.iterdir())
        if outcome == "error":
            assert code == 2, case.describe()
            assert err.splitlines()[-1] == f"hyptax: error: {value}"
            assert files == (["out.npz"] if old else []), (case.describe(), files)
            if old:
                assert target.read_bytes() == old
        else:
            assert code == 0, (case.describe(), err)
            assert files == ["out.npz"], files
            assert prepared.read_manifest(target)["hash"] == prepared.dataset_hash(value)
        seen[code] += 1

    one()
    assert seen[0] and seen[2], seen


def test_export_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``hyptax export`` on fuzzed checkpoints: a complete file, or exit 2 and none."""
    seen = {0: 0, 2: 0}

    @examples(CLI_SAMPLE)
    @given(writer=fuzz.STRATEGIES["checkpoint"])
    def one(writer: Writer) -> None:
        case = writer(fresh_folder(tmp_path, "case"))
        outcome, _ = run_case(case)
        out_dir = fresh_folder(tmp_path, "out")
        code = main(["export", case.spec, "--format", "w2v", "-o", str(out_dir / "v.txt")])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        files = sorted(p.name for p in out_dir.iterdir())
        if outcome == "error":
            assert code == 2 and files == [], (case.describe(), files)
            assert err.splitlines()[-1].startswith("hyptax: error: ")
        else:
            mapped = ["v.txt", "v.txt.tokens.tsv"]  # the mapping, when a token is not its name
            assert code == 0 and files in (["v.txt"], mapped), (case.describe(), err)
            lines = (out_dir / "v.txt").read_text().splitlines()
            n, dim = map(int, lines[0].split())
            assert len(lines) == n + 1 and all(len(s.split()) == dim + 1 for s in lines[1:])
        seen[code] += 1

    one()
    assert seen[0] and seen[2], seen


def run_hyptax(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "hyptax", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.slow  # the quick tier runs the same inputs in process (test_prepare_sample)
def test_subprocess_sample(tmp_path: Path) -> None:
    """A few bad inputs through a real process: exit status 2, one error line on
    stderr after the progress line, no traceback, no output file."""
    r = random.Random(5)
    marker = tmp_path / MARKER
    bad_edges = tmp_path / "loop.tsv"
    bad_edges.write_text("a\tb\nb\tc\nc\ta\n")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(malicious_pickles(marker)["GLOBAL os.system"])
    damaged = tmp_path / "d.npz"
    prepared.save(random_taxonomy(r, 8), damaged)
    damaged.write_bytes(damaged.read_bytes()[:-40])
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "nodes.dmp").write_text("1\t|\t1\t|\tno rank\t|\n2\t|\t9\t|\tgenus\t|\n")
    (dump / "names.dmp").write_text("1\t|\troot\t|\t\t|\tscientific name\t|\n")
    out = tmp_path / "out"
    for spec, words in [
        (str(bad_edges), "cycle"),
        (str(evil), "refused"),
        (str(damaged), "prepared dataset"),
        (f"taxdump:{dump}", "unknown parent"),
    ]:
        proc = run_hyptax("prepare", spec, "-o", str(out / "x.npz"))
        assert proc.returncode == 2, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("hyptax: error: ") and words in last, proc.stderr
        assert "Traceback" not in proc.stderr
        assert not out.exists() or not any(out.iterdir())
    assert not marker.exists()
    ckpt = tmp_path / "c.pt"
    ckpt.write_bytes(b"PK\x03\x04 not really a zip")
    proc = run_hyptax("export", str(ckpt), "--format", "w2v", "-o", str(out / "v.txt"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"hyptax: error: {ckpt}")
