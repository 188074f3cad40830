"""The one CSV/XLSX writer (core/exports.py): formula injection, and nobody bypasses it."""

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.exports import csv_lines, csv_response, safe_cell, xlsx_bytes

HOSTILE = ["=1+2", "+1+1", "-1+1", "@SUM(1+1)", "\tTAB", "\rCR", "\nLF"]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_prefixes_a_formula_lead(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "ABC-123", "a=b", "1+1", "'=quoted", " =1+2", "customer@example.com"]
)
def test_safe_cell_keeps_other_text(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-5, 0, 42, Decimal("-12.50"), -1.5, True])
def test_safe_cell_leaves_numbers_alone(value):
    # a negative amount is a number, not a formula
    assert safe_cell(value) is value


def test_safe_cell_turns_none_into_an_empty_cell():
    assert safe_cell(None) == ""


def test_csv_lines_are_lazy_and_neutralised():
    rows = iter([["=1+2", -3, Decimal("-1.50"), None, 'say "hi", =x']])
    lines = csv_lines(["a", "-b"], rows)
    assert next(lines) == "a,'-b\r\n"
    assert next(lines) == '\'=1+2,-3,-1.50,,"say ""hi"", =x"\r\n'
    assert next(lines, None) is None


def test_csv_response_streams_an_attachment():
    response = csv_response(["v"], iter([["@SUM(1+1)"]]), "x.csv")
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert b"".join(response.streaming_content).decode().splitlines() == ["v", "'@SUM(1+1)"]


def test_xlsx_has_no_formula_cells_and_keeps_the_text():
    rows = [[value, -7, Decimal("-2.5")] for value in HOSTILE]
    rows.append(['=HYPERLINK("http://x","y")', None, "bell\x07"])
    book = load_workbook(io.BytesIO(xlsx_bytes(["value", "n", "d"], rows, sheet="Codes")))
    sheet = book["Codes"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("value", "n", "d")
    # XML reads a bare CR back as LF; otherwise the text is kept, behind its quote
    assert [row[0] for row in values[1:-1]] == [
        "'" + value.replace("\r", "\n") for value in HOSTILE
    ]
    assert all(row[1] == -7 and row[2] == -2.5 for row in values[1:-1])  # numbers, not text
    assert values[-1] == ('\'=HYPERLINK("http://x","y")', None, "bell")


# --- nobody writes CSV or XLSX past core/exports.py -------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "core" / "exports.py"}
SKIPPED_DIRS = {".venv", "venv", "node_modules", "tests", ".git", "migrations", "__pycache__"}
# csv.writer / csv.DictWriter, `from csv import writer`, and an openpyxl Workbook being built
BYPASS = re.compile(
    r"\bcsv\s*\.\s*(writer|DictWriter)\b"
    r"|from\s+csv\s+import\s+[^\n]*\b(writer|DictWriter)\b"
    r"|\bWorkbook\s*\("
)


def _project_modules():
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if parts & SKIPPED_DIRS or path.name.startswith("test_") or path.name == "conftest.py":
            continue
        yield path


def test_no_module_writes_csv_or_xlsx_outside_core_exports():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _project_modules()
        if path not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BYPASS.search(line)
    ]
    assert not offenders, (
        "Write exports through core.exports (csv_response / csv_lines / xlsx_bytes), which "
        "neutralises formula cells:\n" + "\n".join(offenders)
    )


def test_the_bypass_check_sees_a_direct_writer():
    # guards the guard: the pattern catches the forms it exists for
    assert BYPASS.search("w = csv.writer(buffer)")
    assert BYPASS.search("from csv import DictWriter")
    assert BYPASS.search("book = Workbook(write_only=True)")
    assert not BYPASS.search("csv.reader(io.StringIO(text))")
    assert not BYPASS.search("book = load_workbook(io.BytesIO(content))")
    assert any(path == ROOT / "coupons" / "api.py" for path in _project_modules())
