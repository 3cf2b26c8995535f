"""The report's Jinja2 templates: where they are looked up (a user's folders,
the style's, the shipped ones) and the checks of a user's folder. Apart from
``benchmark.report`` so that ``validate`` checks a suite's templates without
importing matplotlib or WeasyPrint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from benchmark.report.format import number, p_value, roman, seconds, size

# The shipped templates: inside the package, so that an installed tool finds
# them (the repository's top-level ``templates`` is a link to this folder).
SHIPPED = Path(__file__).resolve().parent / "templates"
STYLES = ("ieee", "techreport")
# The folder a run keeps its report templates in (report.templates or
# --templates, copied at run time), so that `report RUN_ID` renders the same later.
RUN_TEMPLATES = "templates"


def search_path(style: str = "ieee", overrides: Any = ()) -> list[Path]:
    """Where the report's templates are looked up, first match wins: the user's
    folders, the style's own folder, the shared report sections, the top level."""
    style_dir = SHIPPED / "report" / style
    return [Path(d) for d in overrides] + ([style_dir] if style_dir.is_dir() else []) + [
        SHIPPED / "report", SHIPPED]


def environment(style: str = "ieee", overrides: Any = ()) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([str(p) for p in search_path(style, overrides)])
    env = jinja2.Environment(loader=loader,
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters.update(roman=roman, num=number, secs=seconds, pval=p_value, size=size)
    return env


def check_templates(folder: Path, origin: str = "--templates") -> Path:
    """A user's templates folder, checked before anything is trained: it
    exists, and every template in it parses. One line (UserError) otherwise,
    naming the file and line."""
    from benchmark.errors import UserError

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{origin}: {folder}: no such templates folder")
    env = environment()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in (".j2", ".jinja", ".html", ".css"):
            continue
        try:
            env.parse(path.read_text(), name=path.name, filename=str(path))
        except UnicodeDecodeError:
            raise UserError(f"{path}: not a UTF-8 text file") from None
        except jinja2.TemplateSyntaxError as error:
            message = " ".join(str(error.message or error).split())
            raise UserError(f"{path}:{error.lineno}: template syntax error: {message}") from None
    return folder


def templates_of(suite: Any, origin: str | None, explicit: Path | None = None) -> Path | None:
    """The templates folder a run renders with: --templates, else the suite's
    report.templates relative to the suite file's folder (``origin``); checked."""
    if explicit is not None:
        return check_templates(Path(explicit), "--templates")
    report = suite.get("report") if isinstance(suite, dict) else getattr(suite, "report", None)
    folder = (report.get("templates") if isinstance(report, dict)
              else getattr(report, "templates", None))
    if not folder:
        return None
    if not origin or not Path(origin).is_file():
        return None  # a resumed run: its copy (run folder's templates/) serves
    return check_templates(Path(origin).parent / folder, f"{origin}: report.templates")


__all__ = ["RUN_TEMPLATES", "SHIPPED", "STYLES", "check_templates", "environment",
           "search_path", "templates_of"]
