"""A streaming writer of plain XLSX workbooks (Office Open XML SpreadsheetML), stdlib only.

The export writes a month (~31,000 calls × 28 columns) and openpyxl's write-only mode spent
~0.8 ms per row building a cell object, checking it and serialising it through ElementTree
(21 s a month; lxml only took ~15 % off). What the export needs is small — text and number
cells, a bold frozen header row, a second sheet — so the sheets' XML is written here
directly, row by row, into a temporary file beside the target, then packed with the few
fixed parts every workbook has. Strings are inline (`t="inlineStr"`), as openpyxl writes
them; empty and None cells are left out. Characters XML 1.0 cannot carry (control
characters) are written in the format's own `_xHHHH_` escape (ECMA-376 ST_Xstring), which
Excel reads back as the character, so no text is lost (openpyxl returns the escape as
written; `openpyxl.utils.escape.unescape` decodes it, as the tests do).
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# What a string cannot carry as is: XML's specials, the control characters XML 1.0 forbids,
# CR (a parser reads it as LF), and text that already looks like an escape (escaped itself,
# so it reads back as typed). Most cells have none: one search and they are written as is.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_XML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_XML_TABLE = str.maketrans(_XML)


_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
BOLD = 1
"""Style index of the bold font (`cellXfs` above)."""


class XlsxError(ValueError):
    """A value a sheet cannot hold (the message names it)."""


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _XML.get(char) or f"_x{ord(char):04X}_"


def text(value: str) -> str:
    """`value` as the content of an inline string `<t>` element."""
    if _SPECIAL.search(value) is None:
        return value
    return _SPECIAL.sub(_escape, value)


class Sheet:
    """One worksheet's rows, streamed to a temporary file until the workbook is packed."""

    def __init__(self, name: str, directory: Path, *, frozen_header: bool = False) -> None:
        if not name or len(name) > 31 or any(c in name for c in "[]:*?/\\"):
            raise XlsxError(f"sheet name {name!r}: 1–31 characters, none of []:*?/\\")
        self.name = name
        self.rows = 0
        self._letters: list[str] = []
        self._file = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=directory, prefix=".sheet-", suffix=".xml", delete=False
        )
        self.path = Path(self._file.name)
        view = (
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            if frozen_header
            else '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        )
        self._file.write(f'{_HEAD}<worksheet xmlns="{_MAIN}">{view}<sheetData>')

    def append(self, values: Sequence[Any], style: int = 0) -> None:
        """Write one row: str and int/float cells; None and "" leave the cell empty.

        A value a sheet cannot hold raises `XlsxError` and writes nothing of the row.
        """
        row = self.rows + 1
        letters = self._letters
        while len(letters) < len(values):
            letters.append(column_letter(len(letters)))
        styled = f' s="{style}"' if style else ""
        parts = [f'<row r="{row}">']
        for index, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = f"{letters[index]}{row}"
            if isinstance(value, str):
                space = ' xml:space="preserve"' if value != value.strip() else ""
                parts.append(
                    f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{text(value)}</t></is></c>'
                )
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise XlsxError(f"cell {ref}: {value!r} is not a number a sheet can hold")
                parts.append(f'<c r="{ref}"{styled}><v>{value!r}</v></c>')
            else:
                raise XlsxError(f"cell {ref}: {type(value).__name__} values are not written")
        parts.append("</row>")
        self._file.write("".join(parts))
        self.rows = row

    def finish(self) -> None:
        self._file.write("</sheetData></worksheet>")
        self._file.close()

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


class Workbook:
    """Sheets written row by row, packed into `path` by `save()`; `discard()` on failure."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sheets: list[Sheet] = []

    def add_sheet(self, name: str, *, frozen_header: bool = False) -> Sheet:
        if any(s.name == name for s in self.sheets):
            raise XlsxError(f"sheet name {name!r} used twice")
        sheet = Sheet(name, self.directory, frozen_header=frozen_header)
        self.sheets.append(sheet)
        return sheet

    def save(self, path: Path) -> None:
        for sheet in self.sheets:
            sheet.finish()
        count = len(self.sheets)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, count + 1)
        )
        content_types = (
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>"
        )
        root_rels = (
            _HEAD + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        )
        sheets = "".join(
            f'<sheet name="{s.name.translate(_XML_TABLE)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self.sheets, 1)
        )
        workbook = (
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets></workbook>"
        )
        book_rels = (
            _HEAD
            + f'<Relationships xmlns="{_PKG_REL}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, count + 1)
            )
            + f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            + "</Relationships>"
        )
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as pack:
            pack.writestr("[Content_Types].xml", content_types)
            pack.writestr("_rels/.rels", root_rels)
            pack.writestr("xl/workbook.xml", workbook)
            pack.writestr("xl/_rels/workbook.xml.rels", book_rels)
            pack.writestr("xl/styles.xml", _STYLES)
            for i, sheet in enumerate(self.sheets, 1):
                pack.write(sheet.path, f"xl/worksheets/sheet{i}.xml")
        self.discard()

    def discard(self) -> None:
        """Delete the sheets' temporary files (after save, or instead of it)."""
        for sheet in self.sheets:
            sheet.discard()
