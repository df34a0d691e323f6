"""results/paper_ablations.md: one section per paper sweep, its tables copied verbatim from the
leaderboard's generated files under results/paper/ (never hand-edited), linked from README."""
import re
from pathlib import Path

import pytest

from tests.test_docs import README, RENDER, _command_block

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "results" / "paper_ablations.md"
COPY = re.compile(r"<!-- table of (results/paper/[\w.-]+\.md) -->\n((?:\|.*\n)+)")
SWEEPS = sorted(p.name for p in (ROOT / "gin" / "sweeps").glob("paper_*.py"))
TABLES = sorted(p.name for p in (ROOT / "results" / "paper").glob("*.md"))


def _table(text: str) -> str:
    """The table lines ('|...') of a generated file."""
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("|"))


def test_readme_links_the_document():
    assert "results/paper_ablations.md" in README


def test_every_paper_sweep_has_a_section_with_its_command():
    text = DOC.read_text()
    missing = [s for s in SWEEPS if f"gin/sweeps/{s}" not in text]
    assert not missing, f"results/paper_ablations.md has no section naming {missing}"


@pytest.mark.parametrize("name", TABLES)
def test_generated_tables_hold_only_what_their_tool_writes(name):
    """Every table is the leaderboard's (--paper) or, for an inference setting such as the CFG
    scale, the alpha-table's: re-rendered from the file, it must come back unchanged."""
    text = (ROOT / "results" / "paper" / name).read_text()
    tools = [tool for tool in RENDER if tool.startswith("drift-zoo") and tool in _command_block(text)]
    assert tools, f"results/paper/{name} names no generating command"
    if tools[0] == "drift-zoo leaderboard":
        assert "--paper" in text
    assert text == RENDER[tools[0]](text), f"results/paper/{name} is not {tools[0]}'s output"


def test_tables_in_the_document_are_copies_of_the_generated_files():
    copies = COPY.findall(DOC.read_text())
    assert copies, "no '<!-- table of results/paper/<name>.md -->' block"
    for path, table in copies:
        assert table == _table((ROOT / path).read_text()), (
            f"the copy of {path} in results/paper_ablations.md differs; paste its table again")
