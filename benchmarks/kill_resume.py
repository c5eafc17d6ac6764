"""The long crash-safety run: SIGKILL training, prepare and export many times.

    python benchmarks/kill_resume.py --kills 25 --seed 1

Training (a 400-node tree, a checkpoint every epoch, 4 epochs per planned kill): each
kill comes after a random delay or the moment a checkpoint's temporary file appears (a
kill during the write); after each kill both checkpoints must load with
weights_only=True and never go back in time; the run is resumed with --resume until it
finishes, and its final weights must equal an uninterrupted run's bit for bit.
``prepare`` and ``export`` are killed the same way (and rerun until killed that often)
and must leave the old file or the new one. Prints one line per command.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

import killkit
import notes
import test_crash_safety as crash


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25, help="kills of the training run")
    parser.add_argument("--file-kills", type=int, default=10, help="kills of prepare/export")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tree = killkit.write_tree(root / "tree.tsv", 400, seed=1)
        epochs = max(crash.EPOCHS, 4 * args.kills)  # enough epochs to be killed that often
        reference = crash.reference_run(tree, root / "reference", epochs)
        out = root / "killed"
        stats = crash.train_with_kills(tree, out, args.kills, seed=args.seed, epochs=epochs)
        assert stats.kills == args.kills, stats
        crash.check_same_as_reference(out, reference, epochs)
        assert killkit.tmp_files(out) == []
        print(stats.line(f"train ({epochs} epochs)") + "; final weights bit-identical")
        for name, test in (
            ("prepare", crash.test_prepare_killed_leaves_old_or_new),
            ("export", crash.test_export_killed_leaves_old_or_new),
        ):
            folder = root / name
            folder.mkdir()
            test(folder, n_kills=args.file_kills, seed=args.seed)
            print(notes.NOTES[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
