"""The report: ``context`` (plain data from the database) -> ``figures`` ->
Jinja2 HTML -> WeasyPrint PDF. Imports of matplotlib and WeasyPrint happen here
and nowhere on the ``--help`` path."""

from benchmark.report.render import render_run

__all__ = ["render_run"]
