"""Shared pieces of the benchmarks: the report, the machine line, timing and inputs."""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass
class Report:
    """One benchmark's result: a title, column names, rows of strings and notes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> str:
    """One line: CPU, cores, torch threads, torch/python versions, and the GPU if used."""
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.startswith("cuda") else ""
    return (f"{cpu_model()} ({torch.get_num_threads()} torch threads of {os.cpu_count()} "
            f"cores), torch {torch.__version__}, python {platform.python_version()}{gpu}")


def median_time(fn, repeats: int, device: str) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mixture(n: int, d: int, g: torch.Generator, modes: int = 8) -> torch.Tensor:
    """[1, n, d] samples of an isotropic Gaussian mixture (modes ~ N(0, I), std 0.25)."""
    means = torch.randn(modes, d, generator=g)
    return (means[torch.randint(modes, (n,), generator=g)] + 0.25 * torch.randn(n, d, generator=g))[None]




def ints(text: str) -> list[int]:
    """'1,2,3' -> [1, 2, 3] (an argparse type)."""
    return [int(v) for v in text.split(",") if v]
