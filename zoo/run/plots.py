"""Pictures of a run: ``samples.png`` (data vs samples) and ``curves.png`` (drift, loss, metrics).

``curves.png`` plots the raw drift RMS of each temperature first: it falls as the samples
approach the data. The loss comes second and, under the default
``drift.combine = 'normalized_sum'`` (not the toy recipe's 'per_temperature'), stays flat by
construction: each temperature's force V_t is divided by its RMS, so
loss = mean ||sum_t V_t / rms(V_t)||^2 lies in [0, T^2] (T temperatures; per feature set with
an encoder) and near T^2 while the forces agree, whatever the distance between q and p (~7.3 on
the digits while FD falls 2414 -> 27). The panel says so in a one-line note.
"""
from __future__ import annotations

from pathlib import Path

import torch

from zoo.metrics.misses import STRAY_RATIO, miss_shares


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported on first use (half a second that every
    ``import zoo``, and so every command, would otherwise pay)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _frame(data: torch.Tensor) -> list[tuple[float, float]]:
    """Axis limits (lo, hi) per coordinate of data [N, D<=2]: its range padded by 15%."""
    lo, hi = data.min(0).values, data.max(0).values
    pad = 0.15 * (hi - lo) + 1e-3
    return [(float(lo[i] - pad[i]), float(hi[i] + pad[i])) for i in range(data.shape[1])]


def _style(ax, title: str, lims, fontsize: int = 10) -> None:
    ax.set_title(title, fontsize=fontsize)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _scatter(ax, pts: torch.Tensor, title: str, color: str, lims) -> None:
    ax.scatter(pts[:, 0], pts[:, 1], s=1.5, alpha=0.5, color=color, linewidths=0)
    _style(ax, title, lims)


def samples_png(path: Path, data: torch.Tensor, samples: torch.Tensor, title: str = "") -> None:
    """Side-by-side scatter of data [N, D] and samples [M, D] (first two coordinates)."""
    data, samples = data[:, :2].cpu(), samples[:, :2].cpu()
    lims = _frame(data)
    if len(lims) == 1:
        lims.append((-1, 1))
    fig, axes = pyplot().subplots(1, 2, figsize=(8, 4.2))
    _scatter(axes[0], data, "data (held out)", "tab:blue", lims)
    _scatter(axes[1], samples.clamp(min=torch.tensor([l for l, _ in lims[: data.shape[1]]]),
                                    max=torch.tensor([h for _, h in lims[: data.shape[1]]])),
             "samples (EMA)", "tab:orange", lims)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


LOSS_NOTE = "flat by design: each temperature's force is scaled to unit RMS"
LOG_METRICS = ("energy_distance", "mmd", "sliced_w2", "fd", "kid")


def per_temperature(records: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """{temperature: [(step, raw drift RMS)]} from train records: ``drift_rms/<t>`` or, for an
    encoder's feature sets, the root sum of squares of every ``<set>/drift_rms/<t>``."""
    out: dict[str, list[tuple[int, float]]] = {}
    for r in records:
        sums: dict[str, float] = {}
        for key, v in r.items():
            head, sep, t = key.rpartition("drift_rms/")
            if sep and (not head or head.endswith("/")) and isinstance(v, (int, float)):
                sums[t] = sums.get(t, 0.0) + float(v) ** 2
        for t, sq in sums.items():
            out.setdefault(t, []).append((r["step"], sq ** 0.5))
    return dict(sorted(out.items(), key=lambda kv: float(kv[0])))


def _drift_panel(ax, train: list[dict]) -> None:
    """Raw drift RMS per temperature and in all (log scale): falls as q approaches p."""
    lines = per_temperature(train)
    lines["all"] = [(r["step"], r["drift_rms"]) for r in train if isinstance(r.get("drift_rms"), (int, float))]
    for t, pts in lines.items():
        if pts:
            ax.plot(*zip(*pts), label=f"tau {t}" if t != "all" else "all", lw=1,
                    **({"color": "k", "ls": "--"} if t == "all" else {}))
    if any(v <= 0 for pts in lines.values() for _, v in pts) or not any(lines.values()):
        return
    ax.set_yscale("log")
    ax.legend(fontsize=6)


def loss_is_normalised() -> bool:
    """Whether the drift in force normalises each temperature's force (gin binding
    ``drift.combine``, default 'normalized_sum'); 'per_temperature' keeps the raw forces."""
    import inspect

    import gin

    from zoo.drift import drift

    default = inspect.signature(drift).parameters["combine"].default
    return gin.get_bindings("drift").get("combine", default) == "normalized_sum"


def curves_figure(records: list[dict], normalised: bool = True):
    """The figure of ``curves_png``: raw drift per temperature first, then the loss (when
    ``normalised``, titled so with a note on why it stays flat), then every eval metric."""
    train = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    metric_keys = sorted({k for r in evals for k in r if k not in ("kind", "step", "wall_time")})
    n = 2 + len(metric_keys)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    axes = list(axes.flat)
    _drift_panel(axes[0], train)
    axes[0].set_title("raw drift RMS per temperature", fontsize=9)
    for ax, (key, recs) in zip(axes[1:], [("loss", train)] + [(k, evals) for k in metric_keys]):
        pts = [(r["step"], r[key]) for r in recs if isinstance(r.get(key), (int, float))]
        if pts:
            ax.plot(*zip(*pts), marker="." if recs is evals else None)
        if key in LOG_METRICS and pts and min(v for _, v in pts) > 0:
            ax.set_yscale("log")
        ax.set_title("loss (normalised)" if key == "loss" and normalised else key, fontsize=9)
    if normalised:
        axes[1].text(0.5, 0.97, LOSS_NOTE, transform=axes[1].transAxes, ha="center", va="top",
                     fontsize=6, style="italic", color="0.3")
    for ax in axes[:n]:
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(which="both", labelsize=7)
    for ax in axes[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def curves_png(path: Path, records: list[dict], normalised: bool | None = None) -> None:
    """``curves_figure(records, normalised)`` saved to ``path``; ``normalised`` None: from the
    gin config in force (``loss_is_normalised``)."""
    fig = curves_figure(records, loss_is_normalised() if normalised is None else normalised)
    fig.savefig(path, dpi=100)
    pyplot().close(fig)


def probe_png(path: Path, data, samples, disp, moved, title: str = "") -> None:
    """Data, samples with the field's displacement arrows (a subsample), and free particles."""
    data, samples, disp, moved = (t[:, :2].cpu() for t in (data, samples, disp, moved))
    lims = _frame(data)
    fig, axes = pyplot().subplots(1, 3, figsize=(12, 4.2))
    _scatter(axes[0], data, "data (held out)", "tab:blue", lims)
    _scatter(axes[1], samples, "samples + field d(x)", "tab:orange", lims)
    k = slice(0, min(400, samples.shape[0]))
    axes[1].quiver(samples[k, 0], samples[k, 1], disp[k, 0], disp[k, 1], angles="xy",
                   scale_units="xy", scale=1.0, width=0.003, color="k", alpha=0.6)
    _scatter(axes[2], moved, "particles moved by the field alone", "tab:green", lims)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


def misses_png(path: Path, panels: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]],
               stray: float = STRAY_RATIO) -> None:
    """One scatter per (title, data [M, 2], samples [N, 2], rho [N]): data grey, samples
    inside the data's k-NN balls blue, misses (rho > 1) orange, strays (rho > stray) red, all
    in the data's frame."""
    fig, axes = pyplot().subplots(1, len(panels), figsize=(4.6 * len(panels), 4.8), squeeze=False)
    for ax, (title, data, samples, rho) in zip(axes[0], panels):
        data, samples, rho = data[:, :2].cpu(), samples[:, :2].cpu(), rho.cpu()
        ax.scatter(data[:, 0], data[:, 1], s=1, color="0.8", linewidths=0)
        for keep, color, size in ((rho <= 1, "tab:blue", 1), ((rho > 1) & (rho <= stray),
                                  "tab:orange", 3), (rho > stray, "tab:red", 3)):
            ax.scatter(samples[keep, 0], samples[keep, 1], s=size, color=color, linewidths=0)
        shares = miss_shares(rho, stray)
        _style(ax, f"{title}\nmiss {shares['miss']:.3f}, stray {shares['stray']:.3f}",
               _frame(data), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    pyplot().close(fig)
