"""Cells a spreadsheet would run as formulas are written as text (OWASP CSV injection rule)."""

import csv
import io

import pytest

from webapp import csvsafe


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)",
                                  "-2+3", "\tTAB", "\rCR", "=1", "-", "+"])
def test_a_cell_starting_like_a_formula_gets_a_leading_quote(cell):
    assert csvsafe.escape_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Banana", "Oat milk = good", "a-b", "", "'quoted", "-1.5", "+3e2", "-.5", "12"])
def test_plain_text_and_plain_numbers_are_left_alone(cell):
    assert csvsafe.escape_cell(cell) == cell


@pytest.mark.parametrize("value", [-1.5, 3, None])
def test_values_that_are_not_text_are_left_alone(value):
    assert csvsafe.escape_cell(value) == value


def test_the_writer_escapes_every_cell_of_every_row():
    out = io.StringIO()
    w = csvsafe.writer(out)
    w.writerow(["=A1", "ok"])
    w.writerows([["@x", 1.5], ["-1", "+y"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=A1", "ok"], ["'@x", "1.5"], ["-1", "'+y"]]
