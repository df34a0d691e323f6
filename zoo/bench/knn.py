r"""``faiss``: the field on the k nearest positives of a FAISS index against the exact full-bank field.

    drift-zoo bench faiss --banks 100000,1000000 --dim 64 --n 256 --ks 16,64,256 \
        --indexes flat,ivf,hnsw --threads 1 --markdown results/bench_faiss.md

A clustered bank (Gaussian mixture, ``--modes`` modes, std 0.25) of M rows and N generated rows
from the same modes but wider (std 0.35: q not yet = p), both scaled like
``drift(scaling="official")`` (mean distance x -> [x; bank] = sqrt(D)); temperatures in units of
that mean distance; the generated batch is the only negative (as in training, self-pairs masked).
For every index (flat = exact, ivf, hnsw) and k: recall@k of the index against the exact k-NN
(torch, streamed), the union truncation (positives = U_n kNN(x_n), any field) and, for split, the
per-row truncation (x_n attracted by its own k rows); rel. error = ||V - V_exact|| / ||V_exact||
with V_exact the field over all M rows (``zoo.positives.bank_reference.exact_split`` / ``exact_meanshift``,
streamed). Step time = one query + the field at every temperature (what one drift step costs),
median over ``--repeats`` after a warm-up, against the exact torch field at every temperature.
The module is named knn.py so that ``import faiss`` can never resolve to it.
"""
from __future__ import annotations

import math
import statistics
import time

import faiss
import torch
from rich.console import Console

import zoo
from zoo.positives.bank_reference import exact_meanshift, exact_split
from zoo.positives.faiss_bank import PositiveBank
from zoo.kernels import cdist
from zoo.positives.knn_positives import knn_positives, knn_rows, per_row_split

from zoo.bench.common import Report, ints, median_time

NAME, HELP = "faiss", "FAISS k-nearest positives from a large bank vs the exact full-bank field"


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def add_arguments(p) -> None:
    p.add_argument("--banks", type=ints, default=[100_000, 1_000_000], help="bank sizes M")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--n", type=int, default=256, help="generated rows per step")
    p.add_argument("--ks", type=ints, default=[16, 64, 256])
    p.add_argument("--taus", type=floats, default=[0.02, 0.05, 0.2], help="in mean distances")
    p.add_argument("--indexes", default="flat,ivf,hnsw")
    p.add_argument("--field", default="split", choices=["split", "meanshift"])
    p.add_argument("--affinity-floor", type=float, default=0.0, help="meanshift only")
    p.add_argument("--kernel", default="laplace")
    p.add_argument("--modes", type=int, default=64)
    p.add_argument("--nlist", type=int, default=None, help="ivf lists (default min(sqrt M, M/39))")
    p.add_argument("--nprobe", type=int, default=16)
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-search", type=int, default=128)
    p.add_argument("--block", type=int, default=65536, help="bank rows per exact block")
    p.add_argument("--exact-repeats", type=int, default=1,
                   help="timed calls of the exact field (the first is the reference itself)")


def inputs(m: int, args):
    """(bank [M, D], x [1, N, D]) on args.device, scaled so the mean distance is sqrt(D)."""
    g = torch.Generator().manual_seed(args.seed)
    d = args.dim
    means = torch.randn(args.modes, d, generator=g)
    bank = means[torch.randint(args.modes, (m,), generator=g)]
    bank += 0.25 * torch.randn(m, d, generator=g)
    x = means[torch.randint(args.modes, (args.n,), generator=g)]
    x = (x + 0.35 * torch.randn(args.n, d, generator=g))[None]
    sample = torch.cat([x[0], bank[torch.randperm(m, generator=g)[:4096]]])[None]
    c = cdist(x, sample).mean() / d**0.5
    return bank / c, (x / c).to(args.device)


def exact_knn(x: torch.Tensor, bank: PositiveBank, k: int, block: int) -> torch.Tensor:
    """[N, k] indices of the exact k nearest bank rows, by a streamed torch top-k."""
    best_d = x.new_full((x.shape[0], 0), math.inf)
    best_i = torch.zeros(x.shape[0], 0, dtype=torch.long, device=x.device)
    for j, y in enumerate(bank.blocks(block, x.device)):
        dist = cdist(x[None], y[None])[0]
        cand_d, cand_i = torch.cat([best_d, dist], 1), torch.cat([best_i, j * block + torch.arange(
            y.shape[0], device=x.device).expand(x.shape[0], -1)], 1)
        best_d, pick = cand_d.topk(min(k, cand_d.shape[1]), largest=False)
        best_i = cand_i.gather(1, pick)
    return best_i


def recall(idx: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean over rows of |idx_n & ref_n| / k (missing entries, -1, count as misses)."""
    hits = (idx[:, :, None] == ref[:, None, :]).any(-1).float()
    return hits.mean().item()


class Cell:
    """The inputs, kernels and exact fields of one bank size."""

    def __init__(self, m: int, args):
        feats, self.x = inputs(m, args)
        self.args, self.m = args, m
        self.flat = PositiveBank(feats, "flat", device="cpu")  # holds the rows for the references
        unit = args.dim**0.5
        self.kernels = [zoo.build("kernel", args.kernel, tau=t * unit) for t in args.taus]
        self.kw = {"affinity_floor": args.affinity_floor} if args.field == "meanshift" else {}
        exact = exact_split if args.field == "split" else exact_meanshift
        self.exact_step = lambda: [exact(self.x, self.flat, kernel=k, block=args.block, **self.kw)
                                   for k in self.kernels]
        times = []
        for _ in range(max(1, args.exact_repeats)):
            t0 = time.perf_counter()
            self.v_exact = self.exact_step()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        self.t_exact = statistics.median(times)
        self.ref = exact_knn(self.x[0], self.flat, max(args.ks), args.block)

    def errors(self, vs) -> list[str]:
        return [f"{((v - e).norm() / e.norm()).item():.2e}" for v, e in zip(vs, self.v_exact)]

    def union_step(self, bank, k):
        pos, w = knn_positives(bank, self.x, k)
        field = zoo.registry.lookup("field", self.args.field)
        return [field(self.x, pos, kernel=kk, pos_w=w, **self.kw) for kk in self.kernels], pos.shape[1]

    def per_row_step(self, bank, k):
        y, w = knn_rows(bank, self.x, k)
        return [per_row_split(self.x, y, w, kernel=kk) for kk in self.kernels], k


def index_rows(cell: Cell, kind: str, args, t_exact: float) -> list[list[str]]:
    """Rows of one index over every k and truncation."""
    device = "auto" if args.device.startswith("cuda") else "cpu"
    t0 = time.perf_counter()
    bank = PositiveBank(cell.flat.features, kind, device=device, seed=args.seed, nlist=args.nlist,
                        nprobe=args.nprobe, hnsw_m=args.hnsw_m, ef_search=args.ef_search)
    build = time.perf_counter() - t0
    time_it = lambda fn: median_time(fn, args.repeats, args.device)
    steps = [("union", cell.union_step)] + ([("per-row", cell.per_row_step)]
                                            if args.field == "split" else [])
    rows = []
    for k in args.ks:
        rec = recall(bank.search(cell.x[0], k)[1], cell.ref[:, :k])
        t_query = time_it(lambda: bank.search(cell.x[0], k))
        for name, step in steps:
            vs, used = step(bank, k)
            t_step = time_it(lambda: step(bank, k))
            rows.append([f"{cell.m:.0e}", f"{kind} ({bank.device})", str(k), name, f"{rec:.3f}",
                         f"{build:.1f}", str(used), f"{1e3 * t_query:.1f}", *cell.errors(vs),
                         f"{1e3 * t_step:.1f}", f"{t_exact / t_step:.1f}x"])
    return rows


def run(args) -> Report:
    faiss.omp_set_num_threads(args.threads)
    taus = [f"rel. err V, tau={t:g}" for t in args.taus]
    report = Report(f"faiss: {args.field} on the k nearest positives vs the exact full bank "
                    f"({args.kernel}, D = {args.dim}, N = {args.n})",
                    ["bank M", "index", "k", "truncation", "recall@k", "build s",
                     "positives per x", "query ms", *taus, "step ms", "speed-up vs exact"])
    console = Console(stderr=True)
    for m in args.banks:
        with console.status(f"M = {m}: exact field"):
            cell = Cell(m, args)
            t_exact = cell.t_exact
        report.rows.append([f"{m:.0e}", f"exact torch ({args.device})", "all", "none", "1",
                            "-", str(m), "-", *["0"] * len(taus), f"{1e3 * t_exact:.1f}", "1.0x"])
        for kind in args.indexes.split(","):
            with console.status(f"M = {m}: {kind}"):
                report.rows += index_rows(cell, kind, args, t_exact)
    report.notes = notes(args)
    return report


def notes(args) -> list[str]:
    return [
        f"Bank: {args.modes}-mode Gaussian mixture (means N(0, I), std 0.25); N = {args.n} generated "
        "rows from the same modes with std 0.35; coordinates scaled so the mean distance is sqrt(D); "
        f"the generated batch is the only negative; seed {args.seed}, {args.repeats} timed repeats.",
        "union: positives = the deduplicated union of every x's k nearest rows (P' in 'positives "
        "per x'), then the registered field unchanged; per-row (split only): each x is attracted by "
        "its own k rows. The repulsion is exact in both, so errors are of the attraction alone.",
        "recall@k: mean |index kNN & exact kNN| / k; step ms: one query + the field at every "
        "temperature; exact: the streamed full-bank field at every temperature (torch, "
        f"{args.exact_repeats} call(s), no warm-up: it is seconds long).",
        "V = V+ - V- nearly cancels when q is close to p, so an error of the attraction alone can "
        "exceed |V| (rel. error > 1): per-row attraction points at the mean of x's own neighbours, "
        "which is biased towards x when tau is wide compared with the neighbourhood.",
        f"ivf: nlist {args.nlist or 'min(sqrt M, M/39)'}, nprobe {args.nprobe}; hnsw: M "
        f"{args.hnsw_m}, efSearch max({args.ef_search}, k); faiss and torch threads {args.threads}.",
        "Timings on a shared machine are noisy; compare within a table, not across machines."]
