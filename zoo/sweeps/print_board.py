"""The leaderboard in the terminal: rich tables that never break a name, whatever the width.

    print_board("results/runs/sweeps/toy_kernels")        # what every sweep ends with

A name (a run folder, a column title, a component) is one unbreakable token: rich would fold it
mid-word when a table is wider than the terminal. So every column gets at least its longest
token (cells wrap only at spaces: '(1.0, 4.0)', '2 finished, 1 running'; a metric's
'0.15 +- 0.071' is kept whole), and when the columns
do not fit side by side the rest continues in further tables, each led by the rank ``#`` (and
the run column when it takes at most a third of the width):

    width needed = 1 + sum_c (w_c + 3)        (w_c: a column's content width; 2 padding + 1 border)

Columns start at their widest line and the one with the most room above its longest token
gives way first. Best cells are bold green; a cell whose option the row's component ignores
is dimmed with ``IGNORED_MARK``; the footer under the tables says why and which metrics can
be < 0.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoo.sweeps.leaderboard import IGNORED_MARK, Board, load

BORDER = 3  # padding 2 + one vertical rule per column


def _token(text: str) -> int:
    return max((len(w) for w in str(text).split()), default=1)


def _line(text: str) -> int:
    return max((len(line) for line in str(text).splitlines()), default=1)


def fit_widths(lo: list[int], hi: list[int], width: int) -> list[int]:
    """Content widths between ``lo`` (longest token) and ``hi`` (widest line) that sum, with
    borders, to at most ``width`` when they can: the column with most slack shrinks first."""
    w = list(hi)
    while 1 + sum(x + BORDER for x in w) > width:
        slack = [x - m for x, m in zip(w, lo)]
        i = max(range(len(w)), key=lambda j: slack[j])
        if slack[i] <= 0:
            break
        w[i] -= 1
    return w


def _chunks(lo: list[int], width: int, lead: list[int]) -> list[list[int]]:
    """Column indices per table, in order, as many as fit at their minimum; every further table
    starts again with the ``lead`` columns. A table holds at least one column past them."""
    out, cols = [], list(range(len(lead)))
    start = 1 + sum(lo[i] + BORDER for i in lead)
    used = start
    for i in range(len(lead), len(lo)):
        if used + lo[i] + BORDER > width and len(cols) > len(lead):
            out.append(cols)
            cols, used = list(lead), start
        cols.append(i)
        used += lo[i] + BORDER
    return out + [cols]


def board_tables(board: Board, width: int = 80) -> list[Table]:
    """The board as rich tables no wider than ``width`` (when its names allow it)."""
    header, rows = board.rows(mark=lambda s: Text(s, style="bold green"),
                              dim=lambda s: Text(f"{s} {IGNORED_MARK}", style="dim"))
    header = ["#"] + header  # the rank: rows come best-first
    keys = len(board.columns) + 4  # #, run, the varying columns, status, n
    cells = [[Text(str(n + 1))] + [Text(c) if isinstance(c, str) else c for c in row]
             for n, row in enumerate(rows)]
    token = lambda i, c: _line(c) if i >= keys else _token(c)  # a metric cell stays whole
    lo = [max([_token(h)] + [token(i, r[i]) for r in cells]) for i, h in enumerate(header)]
    hi = [max([_line(h)] + [_line(r[i]) for r in cells]) for i, h in enumerate(header)]
    const = ", ".join(f"{k}={v}" for k, v in board.constants.items())
    tables = []
    lead = [0, 1] if lo[1] + BORDER <= width // 3 else [0]  # a long run name is not repeated
    for n, cols in enumerate(_chunks(lo, width, lead)):
        title = (f"{len(board.runs)} runs" + (f"  ({const})" if const else "")) if n == 0 \
            else f"... continued ({n + 1})"
        table = Table(title=title, title_justify="left")
        for i, w in zip(cols, fit_widths([lo[i] for i in cols], [hi[i] for i in cols], width)):
            table.add_column(Text(header[i]), width=w, justify="left" if i < keys else "right")
        for row in cells:
            table.add_row(*[row[i] for i in cols])
        tables.append(table)
    return tables


def print_board(roots, console: Console | None = None, **kw) -> Board:
    """Print the leaderboard of the run folders under ``roots`` (a folder or a list; kw:
    filters, group_by, metrics, sort as ``load``); returns the Board."""
    roots = [roots] if isinstance(roots, (str, bytes)) or not hasattr(roots, "__iter__") else roots
    console = console or Console()
    board = load(roots, **kw)
    if not board.runs:
        console.print(f"no run folders under {', '.join(map(str, roots))}", highlight=False)
        return board
    show_board(board, console)
    return board


def show_board(board: Board, console: Console) -> None:
    """The board's tables at the console's width (no name broken), then its footer notes."""
    for table in board_tables(board, console.width):
        console.print(table)
    for note in board.notes():
        console.print(Text(note))
