"""Alembic migrations of the tool's own tables (``bench_*``), applied by
``benchmark.migrate``; their revision is kept in ``bench_alembic_version``,
apart from Optuna's ``alembic_version`` in the same database.

0001: format 2 (runs, data sets, studies, evaluations, nightly locks).
0002: format 3 (budget slots, workers, evaluation leases, cancel, refit host/device).
"""
