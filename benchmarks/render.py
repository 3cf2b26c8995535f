"""Report rendering time of a stored run with 5 models x 30 trials, against the
time that run took to train.

The run is real: five Keras CNNs (LeNet-5, the custom CNN, the simple CNN,
AlexNet and ResNet, two epochs each) searched for 30 trials on scikit-learn's
digits. It is trained once into DATABASE (skipped when DATABASE already holds
it); then the report (context, figures, HTML, PDF) is rendered ROUNDS times and
each stage is timed.

    python benchmarks/render.py [--database /tmp/render-bench.db] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

SUITE = """
name: render_bench
datasets:
  digits: {source: "sklearn:digits"}
models:
  - model: lenet5
    search: {learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}, batch_size: {choices: [32, 64]}, epochs: 2}
  - model: custom_cnn
    search: {learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}, filters_1: {low: 8, high: 16, step: 8}, epochs: 2}
  - model: simple_cnn
    search: {learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}, padding: same, epochs: 2}
  - model: alexnet
    search: {learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}, conv_layers: {choices: [3, 5]}, image_size: 32, width: 0.25, epochs: 2}
  - model: resnet
    search: {learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}, blocks_per_stage: {low: 1, high: 2}, epochs: 2}
study: {n_trials: 30, seed: 0, pruner: {name: median, options: {n_startup_trials: 5}}}
evaluation: {repeats: 3}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, default=Path(tempfile.gettempdir()) / "render-bench.db")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from benchmark import runner, suite as suite_module
    from benchmark.report import context as report_context
    from benchmark.report import render
    from benchmark.store import Store

    storage = f"sqlite:///{args.database}"
    work = Path(tempfile.mkdtemp(prefix="render-bench-"))
    if not args.database.exists():
        print(f"training the stored run into {args.database} (once) ...")
        path = work / "render_bench.yaml"
        path.write_text(SUITE)
        suite, text = suite_module.read(path, [])
        runner.run(suite, text, storage=storage, reports_dir=work, progress=False, origin=str(path))
    store = Store(storage, create=False)
    run = store.resolve("latest")
    training = (run.finished_at - run.started_at).total_seconds()

    rows = []
    for round_ in range(args.rounds):
        started = time.perf_counter()
        ctx = report_context.build(store, run.id)
        built = time.perf_counter()
        uris = render.draw(ctx, work / "figures")  # as a run does: the SVGs are written too
        drawn = time.perf_counter()
        html = render.render_html(ctx, uris)
        import weasyprint

        weasyprint.HTML(string=html, base_url=str(work)).write_pdf()
        done = time.perf_counter()
        rows.append((built - started, drawn - built, done - drawn, done - started))
        trials = sum(len(result.trials) for result in ctx["results"])
        print(f"round {round_ + 1}: context {rows[-1][0]:.1f} s, figures {rows[-1][1]:.1f} s "
              f"({len(uris)}), HTML+PDF {rows[-1][2]:.1f} s, total {rows[-1][3]:.1f} s")
    total = statistics.median(r[3] for r in rows)
    print(f"median render {total:.1f} s for {len(run.studies)} models x {trials // len(run.studies)} "
          f"trials; the run took {training:.0f} s: rendering is {100 * total / training:.1f}% of it")


if __name__ == "__main__":
    main()
