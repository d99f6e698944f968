"""Running oha (the load generator) and reading what it measured.

Every oha run writes its JSON summary (status codes, transport errors) and, through
`--db-url`, one SQLite row per request (start, end, duration, status), which gives exact
percentiles over several concurrent oha processes and per-second timelines.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Load:
    """One oha process: a fixed body POSTed to a URL, open loop (`rate`) or closed loop."""

    label: str  # e.g. "ontograph/point", "write"
    url: str
    body: Path
    duration: float  # seconds
    concurrency: int
    rate: float | None = None  # requests per second; None = as fast as possible


@dataclass
class Outcome:
    load: Load
    started: float  # wall clock (time.time()) when the process was started
    summary: dict
    # per request: (start offset s, end offset s, latency s, status); offsets from `started`
    requests: list[tuple[float, float, float, int]] = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""

    @property
    def statuses(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.summary.get("statusCodeDistribution") or {}).items()}

    @property
    def transport_errors(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.summary.get("errorDistribution") or {}).items()}

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.transport_errors.values())

    @property
    def failed(self) -> int:
        bad = sum(v for k, v in self.statuses.items() if not k.startswith("2"))
        return bad + sum(self.transport_errors.values())


def start(oha: str, load: Load, workdir: Path, tag: str) -> tuple[subprocess.Popen, float, Path, Path]:
    """Starts oha in the background; returns (process, wall start, json path, db path)."""
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"{tag}-{load.label.replace('/', '_')}"
    out = workdir / f"{stem}.json"
    db = workdir / f"{stem}.sqlite"
    for p in (out, db):
        if p.exists():
            p.unlink()
    args = [
        oha,
        "--no-tui",
        "--output-format", "json",
        "-o", str(out),
        "--db-url", str(db),
        "-z", f"{load.duration:g}s",
        "-c", str(load.concurrency),
        "-m", "POST",
        "-H", "content-type: application/json",
        "-D", str(load.body),
        # A request not answered within 10 s counts as an error rather than stalling the run.
        "-t", "10s",
        # Requests still running at the deadline are waited for, not counted as errors.
        "-w",
    ]
    if load.rate is not None:
        # Open loop at a fixed rate; latency counted from when the request was due, so that a
        # server falling behind shows up as latency (no coordinated omission).
        args += ["-q", f"{load.rate:g}", "--latency-correction"]
    args.append(load.url)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, time.time(), out, db


def _read_db(db: Path) -> list[tuple[float, float, float, int]]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        cols = {r[1] for r in con.execute("PRAGMA table_info(oha)")}
        corr = "COALESCE(start_latency_correction, start)" if "start_latency_correction" in cols else "start"
        rows = con.execute(f"SELECT {corr}, start, end, status FROM oha").fetchall()
    finally:
        con.close()
    if not rows:
        return []
    t0 = min(r[0] for r in rows)
    # latency = end - (when the request was due); offsets relative to the first request
    return [(s0 - t0, e - t0, e - s0, int(st)) for s0, _s, e, st in rows]


def finish(proc: subprocess.Popen, started: float, out: Path, db: Path, load: Load) -> Outcome:
    _, stderr = proc.communicate()
    try:
        summary = json.loads(out.read_text())
    except (OSError, ValueError):
        summary = {}
    requests = _read_db(db)
    return Outcome(load, started, summary, requests, proc.returncode, stderr.strip())


def run_together(oha: str, loads: list[Load], workdir: Path, tag: str) -> list[Outcome]:
    """Runs several oha processes at the same time (e.g. reads and writes of a mix)."""
    running = [(start(oha, load, workdir, tag), load) for load in loads]
    outcomes = [finish(*handle, load) for handle, load in running]
    for o in outcomes:
        if o.returncode != 0 or not o.summary:
            raise RuntimeError(f"oha failed for {o.load.label} (exit {o.returncode}): {o.stderr[-2000:]}")
    return outcomes


def run(oha: str, load: Load, workdir: Path, tag: str) -> Outcome:
    return run_together(oha, [load], workdir, tag)[0]


# ---------------------------------------------------------------- statistics


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = min(max(math.ceil(p * len(sorted_values)), 1), len(sorted_values))
    return sorted_values[rank - 1]


@dataclass
class Stats:
    n: int
    failed: int
    seconds: float
    rps: float  # completed requests per second of the measured window
    p50: float  # milliseconds
    p95: float
    p99: float
    mean: float
    max: float

    @property
    def error_rate(self) -> float:
        return self.failed / self.n if self.n else math.nan


def stats(outcomes: list[Outcome], seconds: float | None = None) -> Stats:
    """Figures over all requests of these (concurrent) oha runs."""
    lat = sorted(r[2] * 1000.0 for o in outcomes for r in o.requests)
    n = sum(o.sent for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    if seconds is None:
        seconds = max((o.load.duration for o in outcomes), default=0.0)
    ok = len(lat)
    return Stats(
        n=n,
        failed=failed,
        seconds=seconds,
        rps=ok / seconds if seconds else math.nan,
        p50=percentile(lat, 0.50),
        p95=percentile(lat, 0.95),
        p99=percentile(lat, 0.99),
        mean=sum(lat) / ok if ok else math.nan,
        max=lat[-1] if lat else math.nan,
    )


def timeline(outcomes: list[Outcome], t0: float) -> dict[int, list[float]]:
    """Latencies (ms) by the second (since wall time t0) in which each request completed."""
    by_second: dict[int, list[float]] = {}
    for o in outcomes:
        for _s, end, lat, _st in o.requests:
            second = int(o.started - t0 + end)
            by_second.setdefault(second, []).append(lat * 1000.0)
    return by_second
