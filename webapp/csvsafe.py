"""CSV for people's spreadsheets, safe from formula injection (OWASP "CSV Injection").

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, DDE ``+cmd|...``).
OWASP's rule: prefix such a cell with a single quote, which spreadsheets show as text. Plain
numbers (``-1.5``, ``+3e2``) are left as they are: they cannot run anything and stay numbers.

Every CSV a person downloads from the webapp is written with :func:`writer`."""

from __future__ import annotations

import csv
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def escape_cell(value):
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, f, **fmtparams):
        self._w = csv.writer(f, **fmtparams)

    def writerow(self, row):
        return self._w.writerow([escape_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(f, **fmtparams) -> _SafeWriter:
    """Like ``csv.writer(f)``, with every cell passed through :func:`escape_cell`."""
    return _SafeWriter(f, **fmtparams)
