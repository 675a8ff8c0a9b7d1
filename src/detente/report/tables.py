"""Tables that fit the terminal: cells wrap at spaces, ids and words are never cut.

:class:`FitTable` collects columns and rows like a Rich table and decides how to lay them out
when it is rendered, from the width it is given (the terminal, or the inside of a panel):

1. the natural table, when it fits;
2. the same table with wrapped cells, each column at least as wide as its longest word (and
   key columns, such as ids, as wide as their longest value), when that fits;
3. an alternative table (``narrow=``, e.g. a long format of a matrix), by the same rules;
4. otherwise a stacked layout: one block per row, the first cell as a heading and every other
   cell as ``header: value``, wrapped at spaces (cells that are empty or ``-`` are left out).

``wide=True`` (the command line's ``--wide``) always prints the natural table.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["FitTable", "plural"]

Justify = Literal["left", "right", "center"]
Cell = str | Text


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 schedule"``, ``"2 schedules"``, ``"1,024 points"``; ``words`` for irregular plurals."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


@dataclass
class _Column:
    header: str
    justify: Justify = "left"
    key: bool = False
    style: str | None = None


@dataclass
class FitTable:
    """A table laid out to fit the width it is rendered in (see the module's docstring).

    String cells are Rich markup unless ``markup=False``; :class:`~rich.text.Text` cells keep
    their styles. A cell may hold several lines.
    """

    title: str | None = None
    caption: str | None = None
    show_header: bool = True
    show_lines: bool = False
    wide: bool = False
    markup: bool = True
    narrow: FitTable | None = None
    box: box.Box | None = box.HEAVY_HEAD
    columns: list[_Column] = field(default_factory=list)
    rows: list[list[Text]] = field(default_factory=list)

    def add_column(
        self, header: str, *, justify: Justify = "left", key: bool = False, style: str | None = None
    ) -> None:
        """``key`` columns (ids, names, numbers) are never wrapped."""
        self.columns.append(_Column(header, justify, key, style))

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} cells, got {len(cells)}")
        self.rows.append([self._text(c) for c in cells])

    def _text(self, cell: Cell) -> Text:
        if isinstance(cell, Text):
            return cell
        return Text.from_markup(cell, emoji=False) if self.markup else Text(cell)

    # ------------------------------------------------------------------ measuring

    def _overhead(self) -> int:
        if self.box is None:
            return 2 * (len(self.columns) - 1)
        return 3 * len(self.columns) + 1

    def natural_widths(self) -> list[int]:
        widths = [cell_len(c.header) if self.show_header else 0 for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], *(cell_len(line) for line in cell.plain.split("\n")))
        return widths

    def minimum_widths(self) -> list[int]:
        natural = self.natural_widths()
        widths = []
        for i, col in enumerate(self.columns):
            if col.key:
                widths.append(natural[i])
                continue
            words = [*(col.header.split() if self.show_header else [])]
            for row in self.rows:
                words += row[i].plain.split()
            widths.append(max((cell_len(w) for w in words), default=1))
        return widths

    def natural_width(self) -> int:
        return sum(self.natural_widths()) + self._overhead()

    def minimum_width(self) -> int:
        return sum(self.minimum_widths()) + self._overhead()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        if self.wide:
            return Measurement(self.natural_width(), self.natural_width())
        return Measurement(min(self.minimum_width(), options.max_width), self.natural_width())

    # ------------------------------------------------------------------ layout

    def _widths(self, available: int) -> list[int] | None:
        """Column widths for ``available`` cells, or None when even the minimum does not fit."""
        natural, minimum = self.natural_widths(), self.minimum_widths()
        room = available - self._overhead()
        if sum(natural) <= room:
            return natural
        if sum(minimum) > room:
            return None
        widths = list(minimum)
        spare = room - sum(widths)
        wants = [n - m for n, m in zip(natural, minimum, strict=True)]
        total = sum(wants)
        for i, want in enumerate(wants):  # share the spare room in proportion to what each column wants
            widths[i] += min(want, spare * want // total) if total else 0
        spare = room - sum(widths)
        for i in sorted(range(len(widths)), key=lambda j: -(natural[j] - widths[j])):
            if spare <= 0:
                break
            extra = min(spare, natural[i] - widths[i])
            widths[i] += extra
            spare -= extra
        return widths

    def _table(self, widths: list[int] | None) -> Table:
        table = Table(
            title=self.title,
            caption=self.caption,
            title_justify="left",
            caption_justify="left",
            show_header=self.show_header,
            show_lines=self.show_lines,
            box=self.box,
            pad_edge=self.box is not None,
            expand=False,
        )
        for i, col in enumerate(self.columns):
            table.add_column(
                col.header,
                justify=col.justify,
                style=col.style,
                no_wrap=widths is None or col.key,
                overflow="fold",
                width=None if widths is None else widths[i],
            )
        for row in self.rows:
            table.add_row(*row)
        return table

    def _stacked(self, width: int) -> Iterator[Text]:
        keys = [0]  # the first column heads each block
        if self.title:
            yield Text(self.title, style="italic")
        for row in self.rows:
            head = Text(" ").join(row[i] for i in keys)
            head.stylize("bold")
            if not self.show_header:  # a list of fields: "field: value", wrapped under the value
                value = Text("; ").join(c for i, c in enumerate(row) if i not in keys and c.plain.strip())
                plain = value.plain.replace("\n", "; ")
                lines = _wrap_words(plain, width, f"{head.plain}: ", "    ")
                if cell_len(lines[0]) > width:  # a long field name: the value goes below it
                    yield head
                    lines = ["    " + line.lstrip() for line in _wrap_words(plain, width, "    ", "    ")]
                    yield from (Text(line) for line in lines)
                    continue
                for n, line in enumerate(lines):
                    yield Text.assemble(head, line[len(head.plain) :]) if n == 0 else Text(line)
                continue
            yield head
            for i, col in enumerate(self.columns):
                if i in keys or row[i].plain.strip() in ("", "-"):
                    continue
                label = f"{col.header}: " if self.show_header and col.header.strip() else ""
                yield from _wrapped(label, row[i], width)
        if self.caption:
            yield from (Text(line, style="dim") for line in _wrap_words(self.caption, width, "", ""))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.wide:
            yield self._table(None)
            return
        width = options.max_width
        for candidate in (self, self.narrow):
            if candidate is None:
                continue
            widths = candidate._widths(width)
            if widths is not None:
                yield candidate._table(widths)
                return
        yield from self._stacked(width)


def _wrap_words(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, 10),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _wrapped(label: str, cell: Text, width: int) -> Iterable[Text]:
    """``  label: value`` wrapped at spaces under ``width``, the value's style kept when it fits one line."""
    lines = cell.plain.split("\n")
    indent = "    "
    out: list[Text] = []
    for n, line in enumerate(lines):
        first = "  " + (label if n == 0 else " " * cell_len(label))
        wrapped = _wrap_words(line, width, first, indent)
        if len(lines) == 1 and len(wrapped) == 1:
            text = Text(first)
            text.append_text(cell)
            out.append(text)
        else:
            out += [Text(w) for w in wrapped]
    return out
