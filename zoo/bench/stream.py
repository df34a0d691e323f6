"""``stream``: the streaming (blocked) field of zoo/fields/streaming/__init__.py against the dense field.

    drift-zoo bench stream --threads 2 --markdown results/bench_stream.md

Sizes: N generated rows x M = N + P target columns, the generated batch among the negatives
(self-pairs masked) as in training, no extra negatives; the default N = P = 2048 gives
M = P + Q' = 4096 columns (Q' = N). Inputs: 8-mode Gaussian mixture, scaled as
``drift(scaling="official")`` does (mean distance -> sqrt(D)), temperatures in mean-distance
units. Dense = one ``meanshift`` (or ``split``) call per temperature, as ``drift`` makes them;
streaming = one ``stream_field`` call for all temperatures. Time: median of ``--repeats``
calls after a warm-up. Error: max over temperatures of max|V - V_dense| / max|V_dense|.

GFLOP counts the streaming path's GEMM work: N M (4 D + 2 T (D + 2)) for meanshift (two
distance passes 2 N M D each, one [T*bi, bj] @ [bj, D+1] pull GEMM per tile, a GEMV for the
column sums) and N M (2 D + 2 T (D + 1)) for split; its GFLOP/s is that over the measured
time. "GEMM" is a plain fp32 [S,S] @ [S,S] matmul (S = --gemm-size) timed in the same run;
"x GEMM time" = our time / (our GFLOP at the GEMM rate).

Memory (--memory-size total columns, N = P = half): each path runs in a fresh spawned
process; peak RSS growth = VmHWM after the call - VmRSS before it, with the high-water mark
reset through /proc/self/clear_refs (Linux) once the inputs exist.
"""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import torch
from rich.console import Console

import zoo
from zoo.fields.streaming import stream_field, stream_scale

from zoo.bench.common import Report, ints, median_time, mixture

NAME, HELP = "stream", "streaming (blocked) meanshift/split field vs the dense field"


def add_arguments(p) -> None:
    p.add_argument("--gen", type=int, default=2048, help="N generated rows (also P = N positives)")
    p.add_argument("--dims", type=ints, default=[64, 640])
    p.add_argument("--temps", default="0.02,0.05,0.2", help="temperatures, mean-distance units")
    p.add_argument("--block", type=int, default=512, help="block_size (tile edge)")
    p.add_argument("--field", default="meanshift", choices=["meanshift", "split"])
    p.add_argument("--kernel", default="laplace", choices=["laplace", "gaussian"])
    p.add_argument("--gemm-size", type=int, default=2048)
    p.add_argument("--memory-size", type=int, default=16384, help="M = N + P for the memory rows; 0 skips")


def setup(n: int, d: int, args):
    """Scaled x, pos [1, n, d] and the kernels at every temperature, as drift() builds them."""
    g = torch.Generator().manual_seed(args.seed)
    x, pos = mixture(n, d, g), mixture(n, d, g)
    s = stream_scale(x, pos, block_size=args.block)
    c = s / d**0.5
    taus = [float(t) for t in args.temps.split(",")]
    kernels = [zoo.build("kernel", args.kernel, tau=t * float(s / c)) for t in taus]
    return x / c, pos / c, kernels


def paths(args, x, pos, kernels):
    """(dense, streaming) callables, each returning [V [1,N,D]] per temperature."""
    field = zoo.registry.lookup("field", args.field)
    dense = lambda: [field(x, pos, kernel=k) for k in kernels]
    stream = lambda: stream_field(field, x, pos, kernels=kernels, block_size=args.block)
    return dense, stream


def gemm_rate(size: int, args) -> float:
    """GFLOP/s of a plain fp32 [size,size] @ [size,size] matmul."""
    a, b = torch.randn(size, size, device=args.device), torch.randn(size, size, device=args.device)
    return 2 * size**3 / median_time(lambda: a @ b, args.repeats, args.device) / 1e9


def gflop(n: int, m: int, d: int, t: int, field: str) -> float:
    per = 4 * d + 2 * t * (d + 2) if field == "meanshift" else 2 * d + 2 * t * (d + 1)
    return n * m * per / 1e9


def speed_row(d: int, args, rate: float) -> list[str]:
    x, pos, kernels = setup(args.gen, d, args)
    dense, stream = paths(args, x, pos, kernels)
    ref, out = dense(), stream()
    err = max(((v - r).abs().max() / r.abs().max()).item() for v, r in zip(out, ref))
    t_dense = median_time(dense, args.repeats, args.device)
    t_stream = median_time(stream, args.repeats, args.device)
    work = gflop(args.gen, 2 * args.gen, d, len(kernels), args.field)
    return ["time", str(args.gen), str(2 * args.gen), str(d), f"{1e3 * t_dense:.0f} ms",
            f"{1e3 * t_stream:.0f} ms", f"{t_dense / t_stream:.2f}x", f"{err:.1e}", f"{work:.2f}",
            f"{work / t_stream:.0f}", f"{t_stream / (work / rate):.2f}x"]


def _peak_child(which: str, args, queue) -> None:
    """In a fresh process: build the inputs, reset the RSS high-water mark, run, report growth."""
    torch.set_num_threads(args.threads)
    x, pos, kernels = setup(args.memory_size // 2, 64, args)
    fn = dict(zip(("dense", "stream"), paths(args, x, pos, kernels)))[which]
    status = lambda key: int(next(line.split()[1] for line in Path("/proc/self/status").read_text()
                                  .splitlines() if line.startswith(key)))
    Path("/proc/self/clear_refs").write_text("5")
    before = status("VmRSS:")
    with torch.no_grad():
        fn()
    queue.put((status("VmHWM:") - before) * 1024)


def peak_growth(which: str, args) -> int:
    """Peak RSS growth in bytes of one path, measured in a spawned process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(which, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def memory_row(args) -> list[str]:
    dense, stream = peak_growth("dense", args), peak_growth("stream", args)
    mib = lambda b: f"{b / 2**20:.1f} MiB"
    n = args.memory_size // 2
    return ["peak RSS growth", str(n), str(2 * n), "64", mib(dense), mib(stream),
            f"{dense / max(stream, 1):.1f}x less", "-", "-", "-", "-"]


def run(args) -> Report:
    args.run = None  # the spawned memory children get the options only
    console = Console(stderr=True)
    rate = gemm_rate(args.gemm_size, args)
    report = Report(f"streaming vs dense {args.field} ({args.kernel}, temperatures {args.temps}, "
                    f"block {args.block}); plain fp32 GEMM {rate:.0f} GFLOP/s",
                    ["measure", "N gen", "M cols", "D", "dense", "streaming", "speed-up",
                     "max rel err", "GFLOP", "GFLOP/s", "x GEMM time"])
    for d in args.dims:
        with console.status(f"time, D = {d}"):
            report.rows.append(speed_row(d, args, rate))
    if args.memory_size:
        with console.status(f"memory, M = {args.memory_size}"):
            report.rows.append(memory_row(args))
    report.notes = [f"GEMM: [{args.gemm_size}]^2 fp32 matmul, {rate:.1f} GFLOP/s in this run. "
                    "See `drift-zoo bench stream --help` for the flop count and definitions.",
                    f"{args.repeats} timed repeats after a warm-up, seed {args.seed}; timings on a "
                    "shared machine are noisy."]
    return report
