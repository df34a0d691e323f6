"""Run folders: everything a run leaves behind, written so that nothing is lost on a crash.

    results/runs/<id>-<generator>-<field>-<kernel>-<negatives>-s<seed>/
      config.gin             the gin files + bindings as given (written at start)
      operative_config.gin   what gin actually used (after the first step)
      metrics.jsonl          one JSON record per log/eval step (append + flush)
      summary.json           status (running / finished / failed / interrupted), final metrics,
                             steps, wall time, steps/s, git commit, error (one line), and what
                             the run ran on: torch / python / cuda versions, host
      error.txt              the full traceback of a failed run
      checkpoint.pt          state dicts + RNG states, loaded with torch.load(weights_only=True)
      samples.png, curves.png

Every file is written whole or not at all: into a unique temporary file in the same folder
(``tempfile``), flushed and fsync'ed, then ``os.replace``d over the name (and the folder's
entry fsync'ed); metrics.jsonl lines are appended, flushed and fsync'ed. A reader sees the old
file or the new one, never a torn one, even after a power loss.

One writer at a time: ``with run.lock("train"):`` (or "eval") holds ``.run.lock``
(zoo.sweeps.lock.RunLock); a second writer fails at once with ``FolderBusy`` ("run folder X is
in use by pid N (train); wait for it or pass another --workdir"); the lock of a dead process is
taken over, and leftover temporary files of a crashed writer are removed.

<id> is a hash of the config text, so rerunning the same command finds the same folder and
resumes from its checkpoint. Under torchrun only rank 0 writes (``ReadOnlyRun`` for the others).
"""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch

from zoo.gin_statements import digest
from zoo.sweeps.lock import WRITER_LOCK, RunLock

ROOT = Path(__file__).resolve().parents[2]  # the repository (zoo/run/folder.py)
RUNS = ROOT / "results" / "runs"
CHECKPOINT = "checkpoint.pt"
ERROR = "error.txt"
TMP = ".tmp"  # suffix of the temporary files behind every write


def run_name(config_text: str, generator: str, field: str, kernel: str, negatives: str,
             seed: int) -> str:
    """<id>-<generator>-<field>-<kernel>-<negatives>-s<seed>; id hashes the config's
    statements (``zoo.gin_statements``: an edited comment keeps the id)."""
    return f"{digest(config_text)[:8]}-{generator}-{field}-{kernel}-{negatives}-s{seed}"


def git_commit() -> str | None:
    """The repository's HEAD commit (with '+dirty' when the tree has changes), or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) or None


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo where it exists, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict:
    """What a run runs on: torch, Python and CUDA versions (None without CUDA), host name, and
    the CPU with the instruction set torch's kernels use (``cpu_capability``: AVX2, AVX512,
    ...): a run is bit-exact on one machine, but where float rounding differs between
    machines training amplifies it, and the same seed and config give another run."""
    return {"torch_version": torch.__version__, "python_version": platform.python_version(),
            "cuda_version": torch.version.cuda if torch.cuda.is_available() else None,
            "host": socket.gethostname(), "cpu": cpu_model(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """``write(f)`` into a unique temporary file beside ``path`` (binary file object), flush,
    fsync, then rename it over ``path``: the file is the old one or the new one, never torn."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=TMP, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide runs from other readers
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def save_weights(path, blob, meta: str) -> tuple[Path, Path]:
    """``torch.save(blob)`` to ``path`` and the text ``meta`` (its config, as JSON) to ``path``
    with suffix .json, each through ``atomic_write``; returns both paths. The trained encoders,
    autoencoders and evaluators are saved this way."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_path = path.with_suffix(".json")
    atomic_write(path, lambda f: torch.save(blob, f))
    atomic_write(meta_path, lambda f: f.write(meta.encode()))
    return path, meta_path


class Run:
    """A run folder. Create with ``Run(path)``; every writer is crash-safe."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.listeners: list = []  # each called with every logged record (zoo.run.tensorboard)

    def file(self, name: str) -> Path:
        return self.path / name

    def create(self) -> "Run":
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.file(CHECKPOINT).exists()

    @contextmanager
    def lock(self, role: str):
        """Hold the folder's writer lock while writing (``role``: "train", "eval", ...).

        Raises ``zoo.sweeps.lock.FolderBusy`` at once when a live process holds it; a dead
        holder's lock is taken over and its temporary files removed. A heartbeat thread keeps
        the lock fresh for holders on other hosts (zoo.sweeps.lock.STALE_AFTER)."""
        with RunLock(self.create().path, WRITER_LOCK, role) as held:
            self._remove_partial_writes()
            held.heartbeat()
            yield self

    def _remove_partial_writes(self) -> None:
        """Temporary files a killed writer left behind (only called under the writer lock)."""
        for tmp in self.path.glob("*" + TMP):
            if tmp.is_file() and not tmp.name.startswith("."):  # locks keep their own hidden ones
                tmp.unlink(missing_ok=True)

    # --- text and json -------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), lambda f: f.write(text.encode()))

    def write_json(self, name: str, data: dict) -> None:
        self.write_text(name, json.dumps(data, indent=2, default=str))

    def discard(self, name: str) -> None:
        """Remove ``name`` (e.g. the error.txt of an earlier failed attempt) if present."""
        self.file(name).unlink(missing_ok=True)

    def read_json(self, name: str) -> dict | None:
        """The JSON object in ``name``, or None when missing, unreadable, corrupt or not an object."""
        try:
            data = json.loads(self.file(name).read_text())
        except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
            return None
        return data if isinstance(data, dict) else None

    def summary(self) -> dict | None:
        return self.read_json("summary.json")

    def update_summary(self, **fields: Any) -> dict:
        data = {**(self.summary() or {}), **fields}
        self.write_json("summary.json", data)
        return data

    # --- metrics.jsonl -------------------------------------------------------------------
    def log(self, record: dict) -> None:
        with open(self.file("metrics.jsonl"), "a") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())
        for listen in self.listeners:
            listen(record)

    def records(self) -> list[dict]:
        """Every well-formed record (a torn last line from a crash is skipped)."""
        out = []
        try:
            lines = self.file("metrics.jsonl").read_text(errors="replace").splitlines()
        except OSError:
            return out
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def truncate_records(self, step: int) -> None:
        """Drop records after ``step`` (work lost to a crash is redone on resume)."""
        keep = [r for r in self.records() if r.get("step", 0) <= step]
        self.write_text("metrics.jsonl", "".join(json.dumps(r) + "\n" for r in keep))

    # --- checkpoints ---------------------------------------------------------------------
    def save_checkpoint(self, state: dict) -> None:
        atomic_write(self.file(CHECKPOINT), lambda f: torch.save(state, f))

    def load_checkpoint(self) -> dict:
        path = self.file(CHECKPOINT)
        if not path.exists():
            raise FileNotFoundError(
                f"no checkpoint at {path}; train first with tools/train.py --workdir {self.path}")
        return torch.load(path, map_location="cpu", weights_only=True)


class ReadOnlyRun(Run):
    """A run folder as a non-zero rank of a torchrun job sees it (``zoo.dist``): it reads the
    folder rank 0 writes (config, summary, checkpoint: a shared filesystem across nodes) and
    writes nothing; ``update_summary`` returns the merged dict without saving it."""

    def create(self) -> "Run":
        return self

    def lock(self, role: str):
        return nullcontext(self)

    def write_text(self, name: str, text: str) -> None:
        pass

    def write_json(self, name: str, data: dict) -> None:
        pass

    def discard(self, name: str) -> None:
        pass

    def log(self, record: dict) -> None:
        pass

    def truncate_records(self, step: int) -> None:
        pass

    def save_checkpoint(self, state: dict) -> None:
        pass


def open_run(workdir: str | os.PathLike) -> Run:
    """An existing run folder with a checkpoint; a clear error otherwise."""
    path = Path(workdir)
    if not path.is_dir():
        raise FileNotFoundError(f"run folder {path} does not exist; pass the --workdir that "
                                "tools/train.py printed (runs live under results/runs/)")
    run = Run(path)
    if not run.exists():
        raise FileNotFoundError(f"run folder {path} has no {CHECKPOINT} yet; the run has not "
                                "reached its first checkpoint (see train.checkpoint_every)")
    return run
