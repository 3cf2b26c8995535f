"""Writes tests/data/stored_run.db: a small real run (two CNNs on digits, three
refits each for the statistics, and a model whose every trial fails) that the
report tests read instead of training. Run it again when the store's
FORMAT_VERSION changes:

    python tests/data/make_stored_run.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

SUITE = """
name: stored
description: A small stored run for the report tests.
datasets:
  digits:
    source: sklearn:digits
    split: {train: 0.6, validation: 0.2, test: 0.2}
models:
  - model: lenet5
    search:
      learning_rate: {low: 1.0e-3, high: 3.0e-2, log: true}
      batch_size: {choices: [32, 64]}
      epochs: 3
  - model: simple_cnn
    search:
      learning_rate: {low: 1.0e-3, high: 3.0e-2, log: true}
      padding: same
      epochs: 3
  - model: custom_cnn
    name: diverging
    search: {optimizer: sgd, learning_rate: 1.0e+12, filters_1: 4, filters_2: 8, epochs: 1}
study: {n_trials: 4, pruner: none, seed: 3}
evaluation: {repeats: 3}
report: {title: "Stored run for the report tests"}
"""


def main() -> None:
    from benchmark import runner, suite as suite_module

    target = Path(__file__).resolve().parent / "stored_run.db"
    target.unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stored-run-"))
    path = work / "stored.yaml"
    path.write_text(SUITE)
    suite, text = suite_module.read(path, [])
    runner.run(suite, text, storage=f"sqlite:///{target}", reports_dir=work, progress=False,
               origin=str(path))
    print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
