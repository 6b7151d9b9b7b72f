"""Tables and visible text out of an HTML page, with the standard library's HTMLParser.

Trust pages are hand-edited CMS output: end tags for ``td``/``tr`` are often omitted, cells
hold nested markup (``<strong>``, ``<span>``, ``<br>``) and entities. ``html.parser`` copes
with all of that and adds no dependency; we only need cell text, not a DOM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_INVISIBLE = frozenset({"script", "style", "template", "noscript"})
_BLOCK = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
                    "h6", "section", "header", "footer", "table", "caption"})


@dataclass
class Table:
    """One ``<table>``: its id, classes, rows of cell text, and which rows hold data.

    A row holds data when it has a ``<td>``; a row of ``<th>`` cells only is a heading
    (a ``<th scope="row">`` site name next to ``<td>`` cells stays a data row).
    """

    id: str
    classes: tuple[str, ...]
    rows: list[list[str]] = field(default_factory=list)
    has_td: list[bool] = field(default_factory=list)


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.text_parts: list[str] = []
        self._open: list[Table] = []  # nested tables
        self._cell: list[str] | None = None
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._skip_depth += 1
        if tag in _BLOCK:
            self.text_parts.append("\n")
        if tag == "table":
            attributes = dict(attrs)
            table = Table(id=attributes.get("id") or "",
                          classes=tuple((attributes.get("class") or "").split()))
            self.tables.append(table)
            self._open.append(table)
            self._cell = None
        elif not self._open:
            return
        elif tag == "tr":
            self._close_cell()
            self._open[-1].rows.append([])
            self._open[-1].has_td.append(False)
        elif tag in ("td", "th"):
            self._close_cell()
            table = self._open[-1]
            if not table.rows:
                table.rows.append([])
                table.has_td.append(False)
            table.has_td[-1] = table.has_td[-1] or tag == "td"
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE and self._skip_depth:
            self._skip_depth -= 1
        if tag in _BLOCK:
            self.text_parts.append("\n")
        if not self._open:
            return
        if tag in ("td", "th", "tr"):
            self._close_cell()
        elif tag == "table":
            self._close_cell()
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None and self._open:
            self._open[-1].rows[-1].append(" ".join("".join(self._cell).split()))
        self._cell = None


def read_page(page: str) -> tuple[list[Table], str]:
    """All tables (document order, nested ones included) and the page's visible text.

    The text has one line per block element, spaces collapsed, so a "Last updated" line
    can be found with a regular expression.
    """
    parser = _TableParser()
    parser.feed(page)
    parser.close()
    parser._close_cell()
    for table in parser.tables:
        kept = [(row, data) for row, data in zip(table.rows, table.has_td, strict=True) if row]
        table.rows = [row for row, _ in kept]
        table.has_td = [data for _, data in kept]
    lines = (" ".join(line.split()) for line in "".join(parser.text_parts).splitlines())
    return parser.tables, "\n".join(line for line in lines if line)
