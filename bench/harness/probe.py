"""Small probes next to the load: one-off GraphQL requests (to compare answers and to look at
bodies, which oha does not read), the service's Prometheus counters, and its memory."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from pathlib import Path


def post(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:  # a GraphQL error with a non-2xx status still has a body
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {}


def first_difference(a, b, path: str = "data") -> str | None:
    """Where two JSON values first differ (None when equal)."""
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present on one side only"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"


def graphql_outcomes(metrics_url: str) -> dict[str, float]:
    """`ontograph_graphql_requests_total` summed by its `outcome` label ({} when unreadable)."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("ontograph_graphql_requests_total{"):
            continue
        labels, _, value = line.rpartition(" ")
        outcome = "unknown"
        for part in labels[labels.index("{") + 1 : labels.rindex("}")].split(","):
            k, _, v = part.partition("=")
            if k.strip() == "outcome":
                outcome = v.strip().strip('"')
        try:
            totals[outcome] = totals.get(outcome, 0.0) + float(value)
        except ValueError:
            pass
    return totals


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(after) | set(before)}


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Sampler:
    """Samples a process's RSS (MiB) and CPU use (% of one core) once a second in a thread."""

    def __init__(self, pid: int, interval: float = 1.0):
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []  # (wall time, RSS MiB, CPU %)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        last_t, last_cpu = time.time(), cpu_seconds(self.pid)
        while True:
            rss = rss_kib(self.pid)
            now, cpu = time.time(), cpu_seconds(self.pid)
            pct = float("nan")
            if cpu is not None and last_cpu is not None and now > last_t:
                pct = 100.0 * (cpu - last_cpu) / (now - last_t)
            if rss is not None:
                self.samples.append((now, rss / 1024.0, pct))
            last_t, last_cpu = now, cpu
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
