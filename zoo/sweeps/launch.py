"""Launch a sweep's jobs and watch them: one code path for every launcher.

    local            a thread pool of ``workers``; each thread runs tools/train.py in its own
                     subprocess with cores // workers threads (at least 1; at most the
                     caller's OMP_NUM_THREADS when set)
    slurm            a submitit job array (partition, gpus, time, array parallelism)
    submitit_local   the slurm path on this machine (submitit's local executor; for tests)

Every launcher runs ``zoo.sweeps.job.execute`` per job and returns future-like objects
(``done()``, ``result()``); ``run_jobs`` polls them and the run folders for the live view.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zoo.sweeps.job import Job, SubmititJob, execute, folder_state, make_config, read_summary
from zoo.sweeps.lock import LOCK
from zoo.sweeps.spec import Sweep

LAUNCHERS = ("local", "slurm", "submitit_local")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None, env=None) -> int:
    """cores // workers, at least 1: two workers on 2 cores train with one thread each; capped
    by an OMP_NUM_THREADS the caller set (``OMP_NUM_THREADS=1 drift-zoo sweep ...`` on a shared
    machine means one thread per run, not cores // workers)."""
    threads = max(1, (cores or cpu_count()) // max(1, workers))
    cap = (os.environ if env is None else env).get("OMP_NUM_THREADS", "")
    return min(threads, int(cap)) if cap.strip().isdigit() and int(cap) >= 1 else threads


def make_jobs(sweep: Sweep, root, *, threads: int = 1, retry: bool = False,
              trainer: list[str] | None = None) -> list[Job]:
    """One ``Job`` per point of ``sweep`` under ``root / sweep.name``."""
    jobs = []
    for p in sweep.points(Path(root)):
        params = sweep.params + p.params()
        job = Job(p.name, str(p.workdir), list(sweep.gin_files), params, threads, retry,
                  config=make_config(sweep.gin_files, params))
        if trainer:
            job.trainer = list(trainer)
        jobs.append(job)
    return jobs


def initial_result(job: Job) -> dict | None:
    """The final result of a job that needs no launch (finished, failed, conflict), else None."""
    state = folder_state(job)
    if state == "finished":
        return {"name": job.name, "status": "skipped", "detail": "finished before"}
    if state == "conflict":
        return {"name": job.name, "status": "conflict", "detail": "config.gin holds another config"}
    if state == "failed" and not job.retry:
        error = (read_summary(job.workdir) or {}).get("error")
        return {"name": job.name, "status": "failed", "detail": f"failed before ({error}); --retry reruns it"}
    return None


def _submit_local(jobs, workers: int):
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="sweep")
    holders = {j.name: SubmititJob() for j in jobs}  # just a .proc holder per job
    futures = [pool.submit(execute, j, holders[j.name]) for j in jobs]
    return pool, futures, holders


def _submit_submitit(jobs, folder: Path, cluster: str, workers: int, slurm: dict):
    import submitit

    executor = submitit.AutoExecutor(folder=str(folder / ".submitit" / "%j"), cluster=cluster)
    executor.update_parameters(
        name=slurm.get("name", "sweep"), timeout_min=slurm.get("time", 60),
        cpus_per_task=jobs[0].threads, gpus_per_node=slurm.get("gpus") or None,
        mem_gb=slurm.get("mem_gb"), slurm_partition=slurm.get("partition"),
        slurm_array_parallelism=max(1, workers))
    return executor.map_array(SubmititJob(), jobs)


def _result(future, job: Job) -> dict:
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001 -- a crashed worker is a failed run, not a crash
        lines = str(err).strip().splitlines()
        return {"name": job.name, "status": "failed",
                "detail": f"{type(err).__name__}: {lines[-1] if lines else ''}"}


def run_jobs(jobs: list[Job], view, *, launcher: str = "local", workers: int = 1,
             folder: Path | None = None, slurm: dict | None = None, poll: float = 0.5) -> list[dict]:
    """Launch the jobs that need it, watch until all are done; one result per job, in order."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher '{launcher}'; choose one of {LAUNCHERS}")
    results: dict[str, dict] = {}
    states: dict[str, str] = {}
    for j in jobs:
        first = initial_result(j)
        if first:
            results[j.name] = first
        states[j.name] = first["status"] if first else "pending"
    todo = [j for j in jobs if j.name not in results]
    view.update(states, {n: r["detail"] for n, r in results.items()})
    pool = holders = None
    if todo and launcher == "local":
        pool, futures, holders = _submit_local(todo, workers)
    elif todo:
        cluster = "slurm" if launcher == "slurm" else "local"
        futures = _submit_submitit(todo, folder or Path(todo[0].workdir).parent, cluster, workers, slurm or {})
    else:
        futures = []
    waiting = dict(zip([j.name for j in todo], zip(futures, todo)))
    try:
        while waiting:
            for name, (fut, job) in list(waiting.items()):
                if fut.done():
                    results[name] = _result(fut, job)
                    states[name] = results[name]["status"]
                    del waiting[name]
                else:
                    states[name] = "running" if (Path(job.workdir) / LOCK).exists() else "pending"
            view.update(states, {n: r.get("detail", "") for n, r in results.items()})
            if waiting:
                time.sleep(poll)
    except KeyboardInterrupt:
        if pool is None:
            raise  # slurm jobs keep running; a later rerun collects and resumes them
        pool.shutdown(wait=False, cancel_futures=True)
        for h in holders.values():  # the trainers checkpoint and exit 'interrupted'
            if h.proc is not None and h.proc.poll() is None:
                h.proc.terminate()
        for name, (fut, job) in waiting.items():
            results[name] = _result(fut, job) if not fut.cancelled() else \
                {"name": name, "status": "interrupted", "detail": "not started"}
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return [results[j.name] for j in jobs]
