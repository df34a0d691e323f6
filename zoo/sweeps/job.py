"""One point of a sweep as a job: lock its run folder, decide, run `drift-zoo train`, report.

    execute(job) -> {"name", "status", "detail"}     status in JOB_STATES

The same function runs in a local worker thread and inside a submitit job (slurm, or
submitit's local executor), so both launchers share one code path. Decisions, taken *after*
the lock is held (another sweep may have finished the run meanwhile):

    summary.json status finished     -> "skipped" (nothing runs)
    failed                           -> "failed" unless job.retry, then rerun
    running / interrupted / none     -> run: drift-zoo train with the same workdir and config
                                        resumes from checkpoint.pt
    config.gin of another config     -> "conflict" (never overwritten)
    trainer killed by a signal       -> "interrupted" (the next sweep resumes it)
    trainer died before training     -> "failed", recorded in summary.json (bad config)
    locked by a live holder          -> "busy" (another sweep is running it)
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from zoo.gin_statements import same_config
from zoo.sweeps.lock import RunLock

ROOT = Path(__file__).resolve().parent.parent.parent
TRAIN = [sys.executable, "-m", "zoo.cli", "train"]  # drift-zoo train, from the repository root
LOG = "train.log"  # the trainer's stdout + stderr, appended per attempt
JOB_STATES = ("done", "skipped", "failed", "interrupted", "conflict", "busy")


@dataclass
class Job:
    """Everything a worker needs (picklable: it travels to slurm nodes)."""

    name: str
    workdir: str
    gin_files: list[str]
    params: list[str]
    threads: int = 1
    retry: bool = False
    config: str = ""  # the config text drift-zoo train will write (see make_config)
    trainer: list[str] = field(default_factory=lambda: list(TRAIN))
    imports: list[str] = field(default_factory=list)  # plug-ins (.py paths): --import each

    def command(self) -> list[str]:
        cmd = [*self.trainer, *(a for m in self.imports for a in ("--import", m))]
        cmd += ["--no_progress", "--workdir", self.workdir]
        for f in self.gin_files:
            cmd += ["--gin_file", f]
        for p in self.params:
            cmd += ["--gin_param", p]
        return cmd



def make_config(gin_files: list[str], params: list[str]) -> str:
    """The config text drift-zoo train writes to config.gin (gin files read from the root):
    the resolved config (``zoo.config.config_text``, every include inlined), so a changed
    statement in a file the sweep's base config includes makes an existing run folder a
    "conflict" (a changed comment does not: ``zoo.gin_statements.same_config``).

    Call it from the main thread: it changes the working directory for the read.
    """
    from zoo.config import config_text  # late: imports zoo (torch)

    cwd = os.getcwd()
    try:
        os.chdir(ROOT)  # gin files are named relative to the repository root
        return config_text(gin_files, params)
    finally:
        os.chdir(cwd)


def read_summary(workdir) -> dict | None:
    """summary.json as a dict; {} when present but unreadable; None when absent."""
    path = Path(workdir) / "summary.json"
    try:
        data = json.loads(path.read_bytes().decode("utf-8", "replace"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def folder_state(job: Job) -> str:
    """What the folder holds now: new / finished / failed / interrupted / running / conflict."""
    saved = Path(job.workdir) / "config.gin"
    if job.config and saved.exists() and not same_config(saved.read_text(errors="replace"),
                                                          job.config):
        return "conflict"
    summary = read_summary(job.workdir)
    if summary is None:
        return "new" if not saved.exists() else "interrupted"
    return summary.get("status") or "interrupted"


def _log_tail(workdir, n: int = 3) -> str:
    try:
        lines = (Path(workdir) / LOG).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in lines[-n:])


def _run_trainer(job: Job, lock: RunLock, holder) -> int:
    """drift-zoo train in a subprocess; refreshes the lock while it runs; returns its exit code."""
    env = dict(os.environ, OMP_NUM_THREADS=str(job.threads), MKL_NUM_THREADS=str(job.threads),
               PYTHONUNBUFFERED="1")
    with open(Path(job.workdir) / LOG, "a") as log:
        log.write(f"# sweep attempt {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} "
                  f"host {socket.gethostname()}\n# {shlex.join(job.command())}\n")
        log.flush()
        proc = subprocess.Popen(job.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        holder.proc = proc
        lock.refresh(child=proc.pid)
        last = time.time()
        while proc.poll() is None:
            time.sleep(0.2)
            if time.time() - last > 60:
                lock.refresh(child=proc.pid)
                last = time.time()
        holder.proc = None
        return proc.returncode


def _outcome(job: Job, code: int) -> dict:
    """The result of a trainer that exited with ``code``, from the summary it left."""
    summary = read_summary(job.workdir)
    status = (summary or {}).get("status")
    if status == "finished":
        return {"name": job.name, "status": "done", "detail": ""}
    if status == "interrupted" and code in (0, 130):  # 130: stopped by Ctrl-C
        return {"name": job.name, "status": "interrupted", "detail": f"stopped at step {summary.get('step')}"}
    if code < 0 and status != "failed":  # killed by a signal: resumable, not a failure
        return {"name": job.name, "status": "interrupted", "detail": f"killed by signal {-code}"}
    detail = (summary or {}).get("error") if status == "failed" else None
    detail = detail or f"exit code {code}: {_log_tail(job.workdir)}"
    if summary is None:  # died before training (bad config): remember it, so it is not rerun
        from zoo.run.folder import Run  # late: imports torch
        from zoo.sweeps.lock import FolderBusy

        try:
            with Run(job.workdir).lock("sweep") as run:  # one writer, like train and eval
                run.update_summary(status="failed", error=detail)
        except FolderBusy:
            pass  # another writer has the folder now: its summary is the newer word
    return {"name": job.name, "status": "failed", "detail": detail}


def execute(job: Job, holder=None) -> dict:
    """Run one job under its run-folder lock; see the module docstring for the decisions."""
    holder = holder or SubmititJob()  # only its .proc / .lock slots are used here
    Path(job.workdir).mkdir(parents=True, exist_ok=True)
    lock = holder.lock = RunLock(job.workdir)
    if not lock.acquire():
        who = lock.holder() or {}
        return {"name": job.name, "status": "busy",
                "detail": f"locked by pid {who.get('pid')} on {who.get('host')}"}
    try:
        state = folder_state(job)
        if state == "conflict":
            return {"name": job.name, "status": "conflict",
                    "detail": f"{job.workdir}/config.gin holds another config; delete the folder "
                              "or rename the sweep"}
        if state == "finished":
            return {"name": job.name, "status": "skipped", "detail": "finished before"}
        if state == "failed" and not job.retry:
            error = (read_summary(job.workdir) or {}).get("error")
            return {"name": job.name, "status": "failed", "detail": f"failed before ({error}); --retry reruns it"}
        code = _run_trainer(job, lock, holder)
        return _outcome(job, code)
    finally:
        lock.release()


class SubmititJob:
    """``execute`` as a submitit callable that checkpoints on preemption / time limit.

    On SIGUSR2 submitit calls ``checkpoint``: the trainer gets SIGTERM (it finishes the
    step, writes checkpoint.pt and exits 'interrupted'), the lock is released, and the same
    job is requeued; the requeued job resumes the run folder.
    """

    def __init__(self):
        self.proc = None  # the running trainer
        self.lock = None  # the run folder's lock while execute holds it

    def __call__(self, job: Job) -> dict:
        return execute(job, holder=self)

    def checkpoint(self, job: Job):
        import submitit

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.lock is not None:
            self.lock.release()
        return submitit.helpers.DelayedSubmission(SubmititJob(), job)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.proc = self.lock = None
