"""Resident memory across a long Keras search, with and without worker replacement.

    .venv/bin/python benchmarks/memory.py [--trials 100] [--model lenet5|alexnet|vgg16|resnet]

Runs the same search (1 epoch per trial; 100 trials of LeNet-5 by default, or
one of the larger architectures) twice through the tool: workers replaced every
20 trials (the default) and never replaced. Prints the worker's and the main
process's resident memory at trial 5 and at the last trial, read back from the
trials' records, side by side.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import optuna
import yaml

from benchmark import runner, suite
from benchmark.store import Store

SEARCH = {"learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
          "batch_size": {"choices": [32, 64]}, "epochs": 1}
# Larger architectures, sized so that a trial takes seconds on 2 CPU cores.
MODELS = {
    "lenet5": {},
    "alexnet": {"image_size": 32, "width": 0.25, "conv_layers": {"choices": [3, 5]}},
    "vgg16": {"image_size": 32, "width": 0.25, "batch_norm": {"choices": [False, True]}},
    "resnet": {"image_size": 32, "blocks_per_stage": {"choices": [1, 2]}},
}
SUITE = {
    "name": "memory",
    "datasets": {"digits": {"source": "sklearn:digits"}},
    "study": {"pruner": "none", "seed": 0},
}


def measure(model: str, trials: int, trials_per_worker: int, workdir: Path) -> dict[str, float]:
    data = {**SUITE, "models": [{"model": model, "search": {**SEARCH, **MODELS[model]}}],
            "study": {**SUITE["study"], "n_trials": trials},
            "execution": {"trials_per_worker": trials_per_worker}}
    loaded = suite.parse(data, origin="memory benchmark")
    storage = f"sqlite:///{workdir / f'memory-{model}-{trials_per_worker}.db'}"
    result = runner.run(loaded, yaml.safe_dump(data), storage=storage,
                        reports_dir=workdir / "reports", progress=False)
    study = Store(storage, create=False).resolve(result.run_id).studies[0]
    records = optuna.load_study(study_name=study.optuna_study, storage=storage).trials
    at = {5: records[4].user_attrs, trials: records[-1].user_attrs}
    return {f"{who}@{n}": at[n][f"{who}_rss_mib"] for who in ("worker", "main") for n in at}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--model", choices=list(MODELS), default="lenet5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rows = {"replaced every 20 trials": measure(args.model, args.trials, 20, Path(directory)),
                "never replaced": measure(args.model, args.trials, 10**6, Path(directory))}
    n = args.trials
    print(f"{args.model}, {n} trials of 1 epoch")
    print(f"{'resident memory (MiB)':<26}{'worker @5':>11}{f'worker @{n}':>12}"
          f"{'main @5':>10}{f'main @{n}':>11}")
    for name, row in rows.items():
        print(f"{name:<26}{row['worker@5']:>11.0f}{row[f'worker@{n}']:>12.0f}"
              f"{row['main@5']:>10.0f}{row[f'main@{n}']:>11.0f}")


if __name__ == "__main__":
    main()
