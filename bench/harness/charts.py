"""PNG charts (matplotlib, Agg backend). Each function writes one file and returns its name
relative to the report, so the Markdown can link it. Kept small (< 200 KB): modest size and dpi."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

PLAIN = FuncFormatter(lambda v, _pos: f"{v:g}")

DPI = 80
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path.name


def latency_cdfs(path: Path, data: dict[str, dict[str, list[float]]], rates: dict[str, float]) -> str:
    """One panel per query: the latency distribution (CDF, log x) of each system."""
    ids = list(data)
    cols = min(3, len(ids))
    rows = math.ceil(len(ids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, qid in zip(axes.flat, ids):
        for color, (system, lat) in zip(COLORS, data[qid].items()):
            lat = sorted(x for x in lat if x > 0)
            if not lat:
                continue
            n = len(lat)
            ax.plot(lat, [(i + 1) / n for i in range(n)], color=color, label=system, lw=1.4)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(PLAIN)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{qid} at {rates[qid]:.0f} req/s", fontsize=10)
        ax.set_xlabel("latency (ms, log)")
        ax.set_ylabel("fraction of requests")
        for q in (0.5, 0.95, 0.99):
            ax.axhline(q, color="#bbb", lw=0.6, ls=":")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(ids):]:
        ax.axis("off")
    fig.suptitle("Latency distribution at a fixed rate (CDF; dotted: p50, p95, p99)")
    fig.tight_layout()
    return _save(fig, path)


def bars(path: Path, title: str, groups: list[str], series: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        b = ax.bar(xs, values, width, label=name, color=COLORS[i % len(COLORS)])
        ax.bar_label(b, fmt="%.3g", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _p95(values: list[float]) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(0.95 * len(v)) - 1))] if v else math.nan


def timeline(path: Path, title: str, stages, samples, t0: float, window: int = 1) -> str:
    """Throughput (reads, writes) and p95 per `window` seconds, and the service's RSS, over time;
    stage boundaries shaded alternately."""
    buckets: dict[str, dict[int, list[float]]] = {"reads": {}, "writes": {}}
    for s in stages:
        for o in s.outcomes:
            kind = "writes" if o.load.label.startswith("write/") else "reads"
            for _st, end, lat, _code in o.requests:
                b = int((o.started - t0 + end) // window)
                buckets[kind].setdefault(b, []).append(lat * 1000)
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(9, 7.2), sharex=True)
    last = max((max(b, default=0) for b in buckets.values()), default=0)
    xs = list(range(last + 1))
    for color, kind in zip(COLORS, buckets):
        a1.plot([x * window for x in xs], [len(buckets[kind].get(x, [])) / window for x in xs], color=color, label=kind, lw=1)
    both = {x: buckets["reads"].get(x, []) + buckets["writes"].get(x, []) for x in xs}
    a1.plot([x * window for x in xs], [len(both[x]) / window for x in xs], color="k", label="total", lw=1)
    a1.set_ylabel("completed req/s")
    a1.legend(fontsize=8, loc="upper left")
    a2.plot([x * window for x in xs], [_p95(both[x]) for x in xs], color=COLORS[1], lw=1, label=f"p95 per {window} s")
    a2.axhline(200, color="#888", ls="--", lw=0.8, label="target 200 ms")
    a2.set_yscale("log")
    a2.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a2.yaxis.set_major_formatter(PLAIN)
    a2.yaxis.set_minor_formatter(NullFormatter())
    a2.set_ylabel("p95 latency (ms, log)")
    a2.legend(fontsize=8, loc="upper left")
    a3.plot([s[0] - t0 for s in samples], [s[1] for s in samples], color=COLORS[2], lw=1.2)
    a3.set_ylabel("service RSS (MiB)")
    a3.set_xlabel("seconds since the start of the scenario")
    lo = min((s[1] for s in samples), default=0)
    a3.set_ylim(bottom=max(0, lo * 0.8))
    for i, s in enumerate(stages):
        for ax in (a1, a2, a3):
            if i % 2:
                ax.axvspan(s.t0 - t0, s.t1 - t0, color="#eee", zorder=0)
        if len(stages) > 1:
            a1.text((s.t0 + s.t1) / 2 - t0, 0, f"{s.rate:.0f}", ha="center", va="bottom", fontsize=7, color="#555")
    for ax in (a1, a2, a3):
        ax.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)
