"""The one writer of CSV and XLSX exports: every cell passes `safe_cell` (formula injection).

A spreadsheet opening an export runs a text cell that starts with `=`, `+`, `-` or `@` as a
formula (and skips a leading tab, carriage return or line feed before doing so): a customer
coded `=HYPERLINK("http://evil", "x")` becomes a live link in the auditor's Excel, and
`=cmd|...` worse. OWASP and ASVS 1.2.10 prescribe prefixing such a cell with a single quote,
which spreadsheets show as text. The quote is visible in a text editor; that is the accepted
price of a file that is safe to open by double-click.

Only strings are neutralised. Numbers stay numbers, so a negative amount passed as `int` or
`Decimal` (not pre-formatted as a string) keeps its sign and its numeric cell.

API, kept small on purpose:

- `safe_cell(value)`: one cell, for code that needs it outside the helpers below;
- `csv_lines(header, rows)`: CSV lines as `str`, lazily, for a file, a task or a response;
- `csv_response(header, rows, filename)`: a streamed `text/csv` download (rows may be an
  iterator over a queryset, never loaded into memory);
- `xlsx_bytes(header, rows, sheet=...)`: an .xlsx workbook (openpyxl, write-only mode);
- `download(fmt, header, rows, filename, sheet=...)`: the response of either format;
- `export_write(fmt, header, rows, path, sheet=...)`: either format as a file (a job's).

No other module writes CSV or XLSX itself: `core/tests/test_exports.py` fails on a
`csv.writer`, `csv.DictWriter` or openpyxl `Workbook` outside this file.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from django.http import HttpResponse, StreamingHttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The first characters that make a spreadsheet evaluate a cell, or skip to the next one.
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def safe_cell(value):
    """The value as an export cell: `None` → `""`; a string starting with `=`, `+`, `-`, `@`,
    tab, CR, LF or NUL gets a leading `'` so a spreadsheet shows it as text; anything else
    (numbers included, negative ones too) is returned unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_LEADS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line: csv.writer, one row at a time."""

    def write(self, value):
        return value


def csv_lines(header: Sequence, rows: Iterable[Sequence]) -> Iterator[str]:
    """The header and each row as one CSV line (RFC 4180 quoting, every cell `safe_cell`),
    produced lazily so a large export never sits in memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(header: Sequence, rows: Iterable[Sequence], filename: str):
    """A streamed CSV download of `rows` under `filename` (UTF-8)."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _workbook(header: Sequence, rows: Iterable[Sequence], sheet: str):
    """A write-only workbook of one sheet: the header, then the rows. Every cell passes
    `safe_cell`, and strings are stored as string cells: openpyxl would otherwise store a
    string starting with `=` as a formula. Write-only: rows go to a temporary file as they
    come, so the rows never sit in memory together."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet)

    def cells(row):
        out = []
        for value in row:
            value = safe_cell(value)
            if isinstance(value, str):
                # XML forbids most control characters; openpyxl would raise on them.
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell = WriteOnlyCell(worksheet, value=value)
                cell.data_type = "s"  # never "f", whatever the text looks like
            else:
                cell = WriteOnlyCell(worksheet, value=value)
            out.append(cell)
        return out

    worksheet.append(cells(header))
    for row in rows:
        worksheet.append(cells(row))
    return workbook


def xlsx_bytes(header: Sequence, rows: Iterable[Sequence], *, sheet: str = "Export") -> bytes:
    """An .xlsx workbook with one sheet: the header, then the rows (see _workbook)."""
    buffer = io.BytesIO()
    _workbook(header, rows, sheet).save(buffer)
    return buffer.getvalue()


def export_write(fmt: str, header: Sequence, rows: Iterable[Sequence], path, *, sheet: str):
    """`rows` written as a `fmt` file at `path` (a job's export): CSV line by line, XLSX in
    write-only mode."""
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.writelines(csv_lines(header, rows))
    else:
        _workbook(header, rows, sheet).save(path)


def download(fmt: str, header: Sequence, rows: Iterable[Sequence], filename: str, *, sheet: str):
    """`rows` as a download of `fmt` ("csv": streamed; "xlsx": built in write-only mode)."""
    if fmt == "csv":
        return csv_response(header, rows, filename)
    response = HttpResponse(xlsx_bytes(header, rows, sheet=sheet), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
