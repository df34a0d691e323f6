"""README promises: every path it names exists, every block it says is a copy of a file equals
that file, and generated tables under results/ hold only what their command writes (prose
about them lives in README, where a regeneration cannot erase it)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from zoo.sweeps.leaderboard import IGNORED_MARK, Board

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COPY = re.compile(r"<!-- copy of (\S+) -->\n```\w*\n(.*?)```", re.S)
EXAMPLES = {"zoo/fields/my_field.py"}  # README's "Adding a component" example, not a file
PATH = re.compile(r"(?<![\w./-])((?:zoo|gin|results|tools|tests)/[\w./{},*<>-]*)")


def _expand(path: str) -> list[str]:
    """``a/{b,c}.py`` -> [a/b.py, a/c.py] (one brace group at a time)."""
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    return [p for alt in match.group(1).split(",")
            for p in _expand(path[:match.start()] + alt + path[match.end():])]


def readme_paths(text: str) -> list[str]:
    """Concrete repository paths named in ``text``: placeholders (<run>), globs (*) and run
    outputs (results/runs/, ignored by git) left out; braces expanded."""
    found = set()
    for raw in PATH.findall(text):
        path = raw.rstrip(".,:")
        if any(c in path for c in "<>*") or (path + "/").startswith("results/runs/"):
            continue
        found.update(_expand(path))
    return sorted(found)


def test_readme_path_scan_expands_and_skips():
    text = ("see `zoo/run/train.py`, gin/experiments/imagenet_{latent,pixel}_b.gin, "
            "results/runs/<id>/x, tools/sweep.py. and (zoo/fields/).")
    assert readme_paths(text) == ["gin/experiments/imagenet_latent_b.gin",
                                  "gin/experiments/imagenet_pixel_b.gin", "tools/sweep.py",
                                  "zoo/fields/", "zoo/run/train.py"]


def test_every_path_in_the_readme_exists():
    paths = readme_paths(README)
    assert "zoo/positives/rings.py" in paths and "zoo/fields/streaming/tiles.py" in paths
    missing = [p for p in paths if not (ROOT / p).exists() and p not in EXAMPLES]
    assert not missing, f"README names paths that do not exist (fix README or the tree): {missing}"


def test_readme_copies_equal_their_files():
    copies = dict(COPY.findall(README))
    assert "gin/sweeps/toy_kernels.py" in copies
    for path, text in copies.items():
        assert text == (ROOT / path).read_text(), \
            f"README's copy of {path} differs from the file; paste the file again"


def layout_entries(text: str) -> tuple[list[str], list[str]]:
    """(top-level entries, entries under zoo/) of README's Layout tree: the first word of each
    line indented 4 (top) or 6 (zoo/'s children) spaces; deeper lines continue a description."""
    block = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    top, zoo_children = [], []
    for line in block.split("\n"):
        if re.match(r" {4}\S", line):
            top.append(line.split()[0])
        elif re.match(r" {6}\S", line):
            zoo_children.append(line.split()[0])
    return top, zoo_children


def test_the_layout_lists_the_tree_and_nothing_else():
    top, children = layout_entries(README)
    assert {"zoo/", "gin/", "tools/", "results/", "tests/"} <= set(top)
    missing = [e for e in top if not (ROOT / e).exists()]
    missing += ["zoo/" + e for e in children if not (ROOT / "zoo" / e).exists()]
    assert not missing, f"README's Layout lists what does not exist: {missing}"
    tree = {p.name + ("/" if p.is_dir() else "") for p in (ROOT / "zoo").iterdir()
            if p.name != "__init__.py" and not p.name.startswith((".", "__pycache__"))}
    unlisted = sorted(tree - set(children))
    assert not unlisted, f"README's Layout does not list zoo/{unlisted}; add a line for each"


# ----------------------------------------------------------------------------- generated tables

def _sections(text: str) -> tuple[str, str, str, list[str]]:
    """(title, command, description, table lines) of a generated file, each piece by the
    generators' common shape: '# title', 'Regenerate with:', a bash block, one line, a table."""
    head = re.match(r"# (.*)\n\nRegenerate with:\n\n```bash\n(.*?)\n```\n\n(.*?)\n\n", text, re.S)
    assert head, "a generated file starts with its title, 'Regenerate with:' and the command"
    table = text[head.end():].rstrip("\n").split("\n")
    return head.group(1), head.group(2), head.group(3), table


def _leaderboard(text: str) -> str:
    """The file as ``Board.markdown`` (tools/leaderboard.py --markdown) renders its table."""
    title, command, description, table = _sections(text)
    runs, _, const = re.match(r"(\d+) runs; .*?bold\.( All runs: (.*)\.)?$", description).groups()
    rows = [line for line in table if line.startswith("|")]
    footer = table[len(rows) + 1:]  # after the blank line that closes the table

    class Parsed:  # the state the renderer reads, recovered from the file
        def __init__(self):
            self.runs = [None] * int(runs)
            key, _, value = (const or "").partition(" = ")
            self.constants = {key: value} if const else {}

        def rows(self, mark):
            cells = [line.strip("|").split(" | ") for line in rows if not line.startswith("|---")]
            return [c.strip() for c in cells[0]], [[c.strip() for c in row] for row in cells[1:]]

        def notes(self):  # only footers of the shapes Board.notes writes; prose is not one
            return [re.sub(r"^\\\*", "*", n[:-2]) for n in footer
                    if n.endswith("  ") and n.startswith(("\\*", IGNORED_MARK, "paper row "))]

    return Board.markdown(Parsed(), command, title)


def _alpha_table(text: str) -> str:
    """The file as tools/alpha_table.py's ``markdown`` renders its table."""
    spec = importlib.util.spec_from_file_location("alpha_table", ROOT / "tools" / "alpha_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    _, command, _, table = _sections(text)
    cells = [line.strip("| ").split(" | ") for line in table if not line.startswith("|---")]
    return tool.markdown(cells[1:], cells[0][3:], command)


RENDER = {"tools/leaderboard.py": _leaderboard, "tools/alpha_table.py": _alpha_table,
          "drift-zoo leaderboard": _leaderboard, "drift-zoo alpha-table": _alpha_table}


def _command_block(text: str) -> str:
    """The first fenced block of a results file (a generated file's command), else ''."""
    parts = text.split("```", 2)
    return parts[1] if len(parts) == 3 else ""


GENERATED = sorted(p.name for p in (ROOT / "results").glob("*.md")
                   if any(tool in _command_block(p.read_text()) for tool in RENDER))


def test_the_reference_tables_are_generated_files():
    assert {"digits_cfg.md", "shapes_encoders.md", "toy_kernels.md"} <= set(GENERATED)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_tables_hold_only_what_their_command_writes(name):
    text = (ROOT / "results" / name).read_text()
    command = _sections(text)[1]
    tool = [t for t in RENDER if t in command][-1]  # sweep && leaderboard: the last one writes
    assert text == RENDER[tool](text), (
        f"results/{name} differs from what `{tool}` writes (prose after the table?): "
        f"regenerating it would lose that text; move it to README")


def test_a_reading_after_the_table_is_caught():
    text = (ROOT / "results" / "shapes_encoders.md").read_text()
    assert _leaderboard(text + "\nReading: a paragraph.\n") != text + "\nReading: a paragraph.\n"
