"""Every table of a rendered report, also as CSV and as a LaTeX table
(booktabs, through pandas' ``Styler.to_latex``) in the run folder's
``tables/``: people who use this write papers, and copying numbers out of a
PDF is how typos get into them.

The tables are read back from the report's HTML (the standard library's HTML
parser), so that what is exported is exactly what the report shows, for every
section and every user template, with its caption."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

FOLDER = "tables"


class _Tables(HTMLParser):
    """Collects each <table>: its caption (the <p class="caption"> the report
    prints before it), its header rows and its body rows, with rowspans
    repeated down so that each CSV row stands on its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, Any]] = []
        self._caption: list[str] | None = None
        self._last_caption = ""
        self._label = ""
        self._in_label = False
        self._table: dict[str, Any] | None = None
        self._row: list[str] | None = None
        self._row_head = False
        self._cell: list[str] | None = None
        self._span = 1
        self._pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows left)
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "p" and "caption" in (attributes.get("class") or "").split():
            self._caption, self._label = [], ""
        elif tag == "span" and self._caption is not None and attributes.get("class") == "label":
            self._in_label = True
        elif tag == "br" and self._caption is not None:
            self._caption.append(" ")
        elif tag == "table":
            self._table = {"caption": self._last_caption, "label": self._label,
                           "head": [], "body": []}
            self._pending = {}
        elif self._table is not None and tag == "thead":
            self._in_head = True
        elif self._table is not None and tag == "tr":
            self._row, self._row_head = [], self._in_head
            self._fill_pending()
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []
            self._span = int(attributes.get("rowspan") or 1)
        elif tag == "sub" and self._cell is not None:
            self._cell.append("_")

    def _fill_pending(self) -> None:
        while len(self._row) in self._pending:
            column = len(self._row)
            text, left = self._pending[column]
            self._row.append(text)
            if left <= 1:
                del self._pending[column]
            else:
                self._pending[column] = (text, left - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_label:
            self._in_label = False
        elif tag == "p" and self._caption is not None:
            self._last_caption = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            if self._span > 1:
                self._pending[len(self._row)] = (text, self._span - 1)
            self._row.append(text)
            self._cell = None
            self._fill_pending()
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table["head" if self._row_head else "body"].append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table, self._last_caption, self._label = None, "", ""

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self._label += data
        elif self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read(html: str) -> list[dict[str, Any]]:
    """The report's tables: {"label": "Table IV", "caption", "head": [[...]],
    "body": [[...]]}, in the order the report prints them."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def _frame(table: dict[str, Any]) -> Any:
    import pandas as pd

    width = max([len(r) for r in table["head"] + table["body"]] or [0])
    header = table["head"][-1] if table["head"] else []
    if not header and table["body"] and len(table["body"][0]) == 2 and all(
            len(r) == 2 for r in table["body"]):
        header = ["", ""]  # a key-value table (the run record)
    header = header + [f"column {i + 1}" for i in range(len(header), width)]
    # Repeated names (two "p" columns) would collide in the frame.
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    rows = [r + [""] * (width - len(r)) for r in table["body"]]
    return pd.DataFrame(rows, columns=names)


def write(html: str, run_dir: Path) -> list[Path]:
    """Writes ``tables/NN-<caption>.csv`` and ``.tex`` for every table of
    ``html`` (the folder is replaced, so that a re-rendered report leaves no
    table of an earlier rendering); returns the files written."""
    folder = Path(run_dir) / FOLDER
    temporary = folder.with_name(f".{FOLDER}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    written = []
    for number, table in enumerate(read(html), start=1):
        frame = _frame(table)
        stem = f"{number:02d}-{_slug(table['caption'] or table['label'])}"
        frame.to_csv(temporary / f"{stem}.csv", index=False)
        # LaTeX numbers its tables itself: the caption without "Table IV".
        caption = table["caption"] or None
        import pandas as pd

        numeric = [bool(len(frame)) and pd.to_numeric(frame[c].str.replace(",", ""),
                                                      errors="coerce").notna().all()
                   for c in frame.columns]
        latex = (frame.style.hide(axis="index").format(escape="latex")
                 .format_index(escape="latex", axis=1)
                 .to_latex(hrules=True, caption=_escape(caption) if caption else None,
                           label=f"tab:{number:02d}-{_slug(caption or stem)}",
                           position_float="centering",
                           column_format="".join("r" if n else "l" for n in numeric)))
        (temporary / f"{stem}.tex").write_text(latex)
        written += [folder / f"{stem}.csv", folder / f"{stem}.tex"]
    shutil.rmtree(folder, ignore_errors=True)
    temporary.rename(folder)
    return written


# LaTeX's special characters in a caption (Styler escapes cells, not the
# caption, and pandas has no public function for it).
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}"}


def _escape(text: str) -> str:
    return "".join(_LATEX.get(character, character) for character in text)
