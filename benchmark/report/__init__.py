"""The report: ``context`` (plain data from the database) -> ``figures`` ->
Jinja2 HTML -> WeasyPrint PDF. Imports of matplotlib and WeasyPrint happen in
``render`` and nowhere on the ``--help`` / ``validate`` path: ``render_run`` is
imported when first asked for, so that ``benchmark.report.format`` (which the
template checks use) is light."""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "render_run":
        from benchmark.report.render import render_run

        return render_run
    raise AttributeError(f"module 'benchmark.report' has no attribute {name!r}")


__all__ = ["render_run"]
