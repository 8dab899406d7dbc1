"""Writing lists and ledgers to ``.xlsx`` (openpyxl, write-only mode so a long list streams in constant
memory). Every export in the application goes through here: Chinese headers, frozen header row, sensible
column widths, dates as real Excel dates in Beijing time."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DEDE")


def _cell_value(value):
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "数据",
               widths: Sequence[int] | None = None) -> bytes:
    """The workbook's bytes: one sheet ``title`` with a bold, frozen header row and then ``rows``."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "数据")
    for i, header in enumerate(headers):
        width = widths[i] if widths and i < len(widths) else max(10, min(40, len(str(header)) * 2 + 4))
        ws.column_dimensions[_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"
    header_cells = []
    for h in headers:
        c = WriteOnlyCell(ws, value=str(h))
        c.font = _HEADER_FONT
        c.fill = _HEADER_FILL
        header_cells.append(c)
    ws.append(header_cells)
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "数据",
                  widths: Sequence[int] | None = None) -> HttpResponse:
    """An attachment download; ``filename`` may be Chinese (RFC 5987 encoded, with an ASCII fallback)."""
    body = write_xlsx(headers, rows, title=title, widths=widths)
    resp = HttpResponse(body, content_type=XLSX_TYPE)
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    resp["Content-Disposition"] = f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return resp
