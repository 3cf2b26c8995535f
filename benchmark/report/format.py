"""How numbers are written in the report (tables, prose and the narrative alike)."""

from __future__ import annotations

from typing import Any

ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
         (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def roman(number: int) -> str:
    text = ""
    for value, letters in ROMAN:
        count, number = divmod(number, value)
        text += letters * count
    return text


def number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # a diverged loss
            return "NaN"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def size(value: float | None) -> str:
    """Bytes on disk as KiB / MiB / GiB (binary units, as ``du -h`` counts)."""
    if value is None:
        return "–"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(value)


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(value, 60)
    return f"{int(minutes)} min {secs:.0f} s"


def p_value(value: float | None) -> str:
    """A p-value as papers print it: three decimals, or "< 0.001"."""
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_text(value: float) -> str:
    """A p-value in a sentence: "p = 0.012", or "p < 0.001" (never "p = 0")."""
    text = p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"
