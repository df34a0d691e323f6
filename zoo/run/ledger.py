"""A ledger of finished runs: one JSON line per run, kept in the repository, so a table of many
runs outlives the machines and sessions that trained them.

    ledger = Ledger("results/toy_rows.jsonl")
    row = ledger.find(key)          # the latest row of that key, or None
    ledger.add(key, summary, config="toy", dataset="thin_pinwheel", seed=0, steps=8000)

A run folder holds a checkpoint and is not committed (``.gitignore``); issue 16's table needs
~20 CPU-hours of toy runs, more than one session of one machine gives, and its run folders
were lost with each machine. The ledger keeps what the table needs of each run (its final
metrics, steps/s, and where and with what it ran: CPU, torch, commit) and nothing else.

A row's ``key`` is ``key(config_text, eval_num)``: the digest of the run's resolved config's
statements (``zoo.gin_statements.digest``: comments ignored, every include and binding in) and
the evaluation's sample count. A config whose bindings change (a new default in toy.gin) gets
new keys, so its old rows are not reused; a change to the *code* is not seen, as with a finished
run folder: each row records its commit, and deleting a line makes the table train that run
again. Rows from different machines are samples of the same seed, not replicas
(results/toy_degradation.md, "What is missing"): each row says its CPU.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from zoo.gin_statements import digest

KEPT = ("status", "step", "steps_per_s", "eval_samples", "final_metrics", "git_commit",
        "torch_version", "cpu", "cpu_capability")


def key(config_text: str, eval_num: int | None) -> str:
    """The ledger key of a run: config statements' digest and the evaluation's sample count."""
    return f"{digest(config_text)[:16]}-eval{eval_num or 'default'}"


class Ledger:
    """Rows of finished runs in a JSON-lines file (created on the first ``add``)."""

    def __init__(self, path):
        self.path = Path(path)

    def rows(self) -> list[dict]:
        """Every row, oldest first; a line that does not parse is an error naming its line."""
        if not self.path.exists():
            return []
        rows = []
        for i, line in enumerate(self.path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise SystemExit(f"{self.path}, line {i}: not a JSON row ({err.msg}); fix or "
                                     f"delete that line") from None
        return rows

    def find(self, row_key: str) -> dict | None:
        """The latest finished row with this key, or None."""
        hits = [r for r in self.rows() if r.get("key") == row_key and r.get("status") == "finished"]
        return hits[-1] if hits else None

    def add(self, row_key: str, summary: dict, **labels) -> dict:
        """Append a finished run's row (its summary's KEPT fields and ``labels``); returns it."""
        if summary.get("status") != "finished":
            raise ValueError(f"only finished runs go in the ledger, got status "
                             f"{summary.get('status')!r}")
        row = {"key": row_key, **labels, **{k: summary.get(k) for k in KEPT},
               "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row, sort_keys=False) + "\n")
        return row
