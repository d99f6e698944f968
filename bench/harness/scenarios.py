"""The benchmark scenarios. Each is a function `(ctx) -> Section`, registered in SCENARIOS;
adding one is writing that function (use `oha.Load`/`oha.run_together` for load, `charts` for
pictures) and one line in the registry. Scenarios report; they never fail on a timing. They do
fail when the systems under test answer wrongly before measuring, because then the numbers would
mean nothing."""

from __future__ import annotations

import json
import os
import math
import subprocess
import urllib.request
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import charts
import oha
import probe


@dataclass
class Ctx:
    smoke: bool
    work: Path  # raw outputs (oha JSON/SQLite, latency report)
    out_dir: Path  # where the report and its PNGs go
    oha: str
    ontograph_url: str
    ontograph_pid: int
    peer_url: str | None
    peer_pid: int | None
    bodies: Path  # <id>.json request bodies + queries.json, written by `latency --bodies`
    latency: list[str]  # the `latency` command line without per-scenario arguments
    queries: list[dict] = field(default_factory=list)
    # replicas scenario: Ontograph routing reads over one reader, and over two (bench/run)
    replicas_1: str | None = None
    replicas_2: str | None = None
    readers: list[str] = field(default_factory=list)  # bolt URIs of the two readers
    routing: str | None = None  # the `routing` binary (the router's own cost)
    ingest: str | None = None  # the `ingest` binary (ingestion throughput)
    cached_url: str | None = None  # Ontograph with the result cache on (cache scenario)
    cache_bin: str | None = None  # the `cache` binary (Zipf workload, miss path)
    supernode_bin: str | None = None  # the `supernode` binary (hub queries)
    ontograph_bin: str | None = None  # the `ontograph` binary (the supernode binary starts gateways)

    @property
    def metrics_url(self) -> str:
        return self.ontograph_url.rsplit("/", 1)[0] + "/metrics"

    def body(self, qid: str) -> Path:
        return self.bodies / f"{qid}.json"


@dataclass
class Section:
    name: str
    title: str
    markdown: str
    headline: list[str] = field(default_factory=list)  # lines for the summary at the top
    charts: list[str] = field(default_factory=list)


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def ms(v: float) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and math.isfinite(a) and math.isfinite(b) else "n/a"


def pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{100 * v:.3f}%"


def concurrency_for(rate: float) -> int:
    """Connections for an open-loop oha run: room for ~100 ms of latency at that rate."""
    return int(min(100, max(4, math.ceil(rate / 10))))


# ---------------------------------------------------------------- 1. peer side by side


def peer(ctx: Ctx) -> Section:
    return side_by_side(ctx, ctx.queries, "peer", "1. Side by side with @neo4j/graphql", "Peer side by side")


def vocabulary(ctx: Ctx) -> Section:
    queries = json.loads((ctx.bodies / "vocabulary.json").read_text())
    return side_by_side(
        ctx, queries, "vocabulary", "1b. Side by side with @neo4j/graphql: the wider vocabulary",
        "Vocabulary side by side (union, interface, temporal filter, nested update, @cypher field, hub aggregate, aggregation filter)",
    )


def items_of(data: dict) -> str:
    return ", ".join(f"{k}: {len(v) if isinstance(v, list) else 1}" for k, v in data.items())


def side_by_side(ctx: Ctx, queries: list[dict], name_: str, title: str, label: str) -> Section:
    if not ctx.peer_url:
        raise RuntimeError(f"the {name_} scenario needs the @neo4j/graphql peer (bench/run starts it)")
    warm, sat_s, sat_c, fixed_s = (1, 2, 4, 2) if ctx.smoke else (5, 15, 32, 20)
    systems = [("Ontograph", ctx.ontograph_url), ("peer", ctx.peer_url)]
    ids = [q["id"] for q in queries]
    md = []

    # Both systems must give the same answer to each query, or the comparison means nothing.
    agree_rows = []
    for q in queries:
        body = ctx.body(q["id"]).read_bytes()
        answers = {}
        for name, url in systems:
            status, reply = probe.post(url, body)
            if status != 200 or reply.get("errors") or not reply.get("data"):
                raise RuntimeError(f"{name} answered `{q['id']}` with {status}: {json.dumps(reply)[:500]}")
            answers[name] = reply["data"]
        diff = probe.first_difference(answers["Ontograph"], answers["peer"])
        items = q.get("items") or items_of(answers["Ontograph"])
        agree_rows.append(f"| `{q['id']}` | {items} | {'yes' if diff is None else '**NO**: ' + diff} |")
        if diff:
            log(f"WARNING: `{q['id']}`: Ontograph and the peer disagree: {diff}")

    log(f"{name_}: warm-up ({warm} s per shape and system)")
    for qid in ids:
        for name, url in systems:
            oha.run(ctx.oha, oha.Load(f"{name}/{qid}", url, ctx.body(qid), warm, 8), ctx.work, "peer-warm")

    saturation: dict[tuple[str, str], oha.Stats] = {}
    fixed: dict[tuple[str, str], oha.Stats] = {}
    fixed_outcomes: dict[tuple[str, str], oha.Outcome] = {}
    rates: dict[str, float] = {}
    for i, qid in enumerate(ids):
        order = systems if i % 2 == 0 else systems[::-1]
        for name, url in order:
            log(f"{name_}: saturation of `{qid}` on {name} (c={sat_c}, {sat_s} s)")
            out = oha.run(ctx.oha, oha.Load(f"{name}/{qid}", url, ctx.body(qid), sat_s, sat_c), ctx.work, "peer-sat")
            saturation[(name, qid)] = oha.stats([out])
    for i, qid in enumerate(ids):
        rate = 0.5 * min(saturation[(n, qid)].rps for n, _ in systems)
        rate = max(1.0, round(rate))
        rates[qid] = rate
        order = systems if i % 2 else systems[::-1]
        for name, url in order:
            log(f"{name_}: `{qid}` on {name} at a fixed {rate:.0f} req/s ({fixed_s} s)")
            load = oha.Load(f"{name}/{qid}", url, ctx.body(qid), fixed_s, concurrency_for(rate), rate)
            out = oha.run(ctx.oha, load, ctx.work, "peer-fixed")
            fixed_outcomes[(name, qid)] = out
            fixed[(name, qid)] = oha.stats([out])

    md.append(
        "`@neo4j/graphql` 7.6.3 served by graphql-yoga on Node.js (`tests/peer/server.mjs`, "
        "`NODE_ENV=production`, the same type definitions minus Ontograph's own directives) and "
        "Ontograph (no result cache: not built yet) on the same Neo4j, in the same run, one shape "
        "after the other, alternating which system goes first. Every request is the same POST "
        "body (`oha -D`), so both systems do exactly the same work for every request.\n"
    )
    md.append("Both systems return the same `data` for each query (checked before measuring):\n")
    md.append("| query | items returned | same `data` |\n|---|---|---|")
    md.extend(agree_rows)
    md.append(
        f"\n**Saturation** (closed loop, `oha -c {sat_c} -z {sat_s}s`; client, service and Neo4j "
        "share the machine's CPUs, so this is the throughput of the whole machine with each "
        f"system in the middle). **Fixed rate** (open loop, `oha -q R -z {fixed_s}s "
        "--latency-correction`, R = half the lower of the two saturation throughputs, latency "
        "counted from when each request was due). Latencies in ms. Ratio = Ontograph / peer: "
        "above 1 for throughput and below 1 for latency means Ontograph is ahead.\n"
    )
    md.append(
        "| query | Ontograph req/s | peer req/s | **throughput ratio** | rate | Ontograph p50 | peer p50 "
        "| Ontograph p95 | peer p95 | Ontograph p99 | peer p99 | **p99 ratio** | errors (O / peer) |"
    )
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    headline = []
    behind = []
    for qid in ids:
        so, sp = saturation[("Ontograph", qid)], saturation[("peer", qid)]
        fo, fp = fixed[("Ontograph", qid)], fixed[("peer", qid)]
        tr, r99 = ratio(so.rps, sp.rps), ratio(fo.p99, fp.p99)
        errs = f"{fo.failed + so.failed} / {fp.failed + sp.failed}"
        md.append(
            f"| `{qid}` | {so.rps:.0f} | {sp.rps:.0f} | **{tr}** | {rates[qid]:.0f} | {ms(fo.p50)} | {ms(fp.p50)} "
            f"| {ms(fo.p95)} | {ms(fp.p95)} | {ms(fo.p99)} | {ms(fp.p99)} | **{r99}** | {errs} |"
        )
        headline.append(f"`{qid}`: throughput {tr}, p99 {r99}")
        if so.rps < sp.rps or fo.p99 > fp.p99:
            behind.append(qid)
    md.append("\nSaturation latency (closed loop, queueing included), for reference:\n")
    md.append("| query | system | req/s | p50 | p95 | p99 | failed |\n|---|---|--:|--:|--:|--:|--:|")
    for qid in ids:
        for name, _ in systems:
            s = saturation[(name, qid)]
            md.append(f"| `{qid}` | {name} | {s.rps:.0f} | {ms(s.p50)} | {ms(s.p95)} | {ms(s.p99)} | {s.failed} |")
    png = charts.latency_cdfs(
        ctx.out_dir / f"{name_}-latency.png",
        {qid: {name: [r[2] * 1000 for r in fixed_outcomes[(name, qid)].requests] for name, _ in systems} for qid in ids},
        {qid: rates[qid] for qid in ids},
    )
    png2 = charts.bars(
        ctx.out_dir / f"{name_}-throughput.png",
        "Saturation throughput per query shape (req/s, higher is better)",
        ids,
        {name: [saturation[(name, qid)].rps for qid in ids] for name, _ in systems},
    )
    md.append(f"\n![latency distributions at a fixed rate]({png})\n\n![saturation throughput]({png2})\n")
    if behind:
        md.append(f"Ontograph is not ahead of the peer on: {', '.join(f'`{q}`' for q in behind)} (see the analysis).")
    summary = [f"{label} (Ontograph / peer; throughput ratio >1 and p99 ratio <1 favour Ontograph): " + "; ".join(headline)]
    return Section(name_, title, "\n".join(md), summary, [png, png2])


# ---------------------------------------------------------------- 2. overhead over raw Bolt


def bolt(ctx: Ctx) -> Section:
    requests, warmup, conc, rounds = (50, 10, "1,8", 10) if ctx.smoke else (2000, 200, "1,8", 50)
    md_path, json_path = ctx.work / "latency.md", ctx.work / "latency.json"
    cmd = ctx.latency + [
        "--requests", str(requests), "--warmup", str(warmup), "--concurrency", conc,
        "--round-size", str(rounds), "--out", str(md_path), "--json", str(json_path),
    ]
    log("bolt: " + " ".join(cmd[:1] + cmd[-12:]))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    results = json.loads(json_path.read_text())
    text = md_path.read_text()
    # The latency report is a document of its own: keep its body, one heading level down.
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    body = "\n".join(("##" + line) if line.startswith("## ") else line for line in body.splitlines())
    ids = [q["id"] for q in results]
    levels = sorted({lv["concurrency"] for q in results for lv in q["levels"]})
    series = {}
    for c in levels:
        for side, label in (("ontograph", "Ontograph"), ("raw", "raw Bolt")):
            series[f"{label} c={c}"] = [
                next(lv[side]["p50_ms"] for lv in q["levels"] if lv["concurrency"] == c) for q in ids_q(results, ids)
            ]
    png = charts.bars(ctx.out_dir / "bolt-latency.png", "p50 latency, Ontograph vs the same Cypher over Bolt (ms, lower is better)", ids, series)
    parts = []
    for q in results:
        for lv in q["levels"]:
            o, r = lv["ontograph"], lv["raw"]
            parts.append(f"`{q['id']}` c={lv['concurrency']} p50 {ratio(o['p50_ms'], r['p50_ms'])} p99 {ratio(o['p99_ms'], r['p99_ms'])}")
    md = (
        "The `latency` binary (`bench/src/bin/latency.rs`): the five queries of scenario 1, each "
        "sent to Ontograph and, interleaved, its compiled Cypher sent straight to Neo4j with the "
        "same Bolt client Ontograph uses, at the same concurrency (closed loop, 1 and 8 workers).\n\n"
        f"![p50 latency vs raw Bolt]({png})\n" + body
    )
    return Section("bolt", "2. Overhead over raw Bolt", md, ["Ontograph / raw Bolt latency: " + "; ".join(parts)], [png])


def ids_q(results: list[dict], ids: list[str]) -> list[dict]:
    return [next(q for q in results if q["id"] == i) for i in ids]


# ---------------------------------------------------------------- 3. traffic targets

WRITE_BODY = json.dumps(
    {
        "query": "mutation BenchWrite { createDocuments(input: [{ title: \"bench write\", "
        "url: \"https://example.invalid/bench\" }]) { info { nodesCreated } documents { id title } } }"
    }
)


@dataclass
class Stage:
    name: str
    rate: float
    seconds: float
    t0: float = 0.0
    t1: float = 0.0
    all: oha.Stats | None = None
    reads: oha.Stats | None = None
    writes: oha.Stats | None = None
    graphql_errors: float = 0.0
    probe_ok: str = ""
    outcomes: list[oha.Outcome] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Transport failures + the larger of non-2xx answers and GraphQL errors the service
        counted (an error answer is usually both, so they are not added)."""
        transport = sum(sum(o.transport_errors.values()) for o in self.outcomes)
        non2xx = sum(o.failed for o in self.outcomes) - transport
        return int(transport + max(non2xx, self.graphql_errors))

    @property
    def error_rate(self) -> float:
        n = self.all.n if self.all else 0
        return self.errors / n if n else math.nan


def mix_loads(ctx: Ctx, rate: float, seconds: float, write_share: float = 0.2) -> list[oha.Load]:
    """80 % reads spread evenly over the five read shapes, 20 % writes (createDocuments)."""
    write_body = ctx.work / "write.json"
    write_body.write_text(WRITE_BODY)
    per_read = rate * (1 - write_share) / len(ctx.queries)
    loads = [
        oha.Load(f"read/{q['id']}", ctx.ontograph_url, ctx.body(q["id"]), seconds, concurrency_for(per_read), per_read)
        for q in ctx.queries
    ]
    w = rate * write_share
    loads.append(oha.Load("write/createDocuments", ctx.ontograph_url, write_body, seconds, concurrency_for(w), w))
    return loads


def run_stage(ctx: Ctx, stage: Stage, tag: str) -> Stage:
    log(f"traffic: {stage.name}: {stage.rate:.0f} req/s (80/20 read/write) for {stage.seconds:g} s")
    before = probe.graphql_outcomes(ctx.metrics_url)
    stage.t0 = time.time()
    stage.outcomes = oha.run_together(ctx.oha, mix_loads(ctx, stage.rate, stage.seconds), ctx.work, tag)
    stage.t1 = time.time()
    after = probe.graphql_outcomes(ctx.metrics_url)
    d = probe.delta(after, before)
    stage.graphql_errors = sum(v for k, v in d.items() if k not in ("ok", "success"))
    stage.all = oha.stats(stage.outcomes, stage.seconds)
    stage.reads = oha.stats([o for o in stage.outcomes if o.load.label.startswith("read/")], stage.seconds)
    stage.writes = oha.stats([o for o in stage.outcomes if o.load.label.startswith("write/")], stage.seconds)
    # oha does not read bodies: look at one answer of each kind right after the stage.
    good = 0
    bodies = [ctx.body(q["id"]) for q in ctx.queries] + [ctx.work / "write.json"]
    for b in bodies:
        status, reply = probe.post(ctx.ontograph_url, b.read_bytes())
        good += status == 200 and not reply.get("errors") and bool(reply.get("data"))
    stage.probe_ok = f"{good}/{len(bodies)}"
    return stage


def stage_table(stages: list[Stage], rss: list[tuple[float, float, float]]) -> list[str]:
    md = [
        "| stage | target req/s | achieved req/s | p50 | p95 | p99 | read p95 | write p95 | requests | errors | error rate | RSS MiB (max) | service CPU % (mean) | probe |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in stages:
        inside = [x for x in rss if s.t0 <= x[0] <= s.t1]
        rmax = max((x[1] for x in inside), default=math.nan)
        cpus = [x[2] for x in inside if math.isfinite(x[2])]
        cpu = sum(cpus) / len(cpus) if cpus else math.nan
        a = s.all
        md.append(
            f"| {s.name} | {s.rate:.0f} | {a.rps:.0f} | {ms(a.p50)} | {ms(a.p95)} | {ms(a.p99)} | {ms(s.reads.p95)} "
            f"| {ms(s.writes.p95)} | {a.n} | {s.errors} | {pct(s.error_rate)} | {rmax:.0f} | {cpu:.0f} | {s.probe_ok} |"
        )
    return md


def verdict(stage: Stage) -> str:
    ok95 = stage.all.p95 < 200
    okerr = stage.error_rate < 0.001
    reached = stage.all.rps >= 0.95 * stage.rate
    return (
        f"p95 {ms(stage.all.p95)} ms ({'met' if ok95 else 'MISSED'}: < 200 ms), error rate "
        f"{pct(stage.error_rate)} ({'met' if okerr else 'MISSED'}: < 0.1 %), achieved "
        f"{stage.all.rps:.0f} of {stage.rate:.0f} req/s{'' if reached else ' (the rate was NOT reached)'}"
    )


def traffic(ctx: Ctx) -> Section:
    if ctx.smoke:
        steady = Stage("steady", 20, 2)
        peak = Stage("peak", 60, 2)
        spike = [Stage("spike 20", 20, 1), Stage("spike 60", 60, 1), Stage("spike 100", 100, 1)]
    else:
        steady = Stage("steady", 100, 60)
        peak = Stage("peak", 1000, 60)
        spike = [Stage("spike base", 100, 15)]
        spike += [Stage(f"ramp {r}", r, 10) for r in (250, 400, 550, 700, 850, 1000)]
        spike += [Stage("spike hold", 1000, 15), Stage("recovery", 100, 15)]
    t_start = time.time()
    with probe.Sampler(ctx.ontograph_pid) as sampler:
        run_stage(ctx, steady, "steady")
        time.sleep(2)
        run_stage(ctx, peak, "peak")
        time.sleep(2)
        for i, s in enumerate(spike):
            run_stage(ctx, s, f"spike{i}")
    stages = [steady, peak] + spike
    png = charts.timeline(
        ctx.out_dir / "traffic.png",
        "Traffic targets: steady, peak, spike (80 % reads / 20 % writes)",
        stages,
        sampler.samples,
        t_start,
    )
    md = [
        "Open-loop load at fixed rates on Ontograph: for each stage, six `oha` processes at once "
        "(`-q`, `--latency-correction`): the five read queries of scenario 1 sharing 80 % of the "
        "rate and a `createDocuments` mutation (a new node with a generated `id` each time) the "
        "other 20 %. The spike is successive fixed-rate stages (a new set of oha processes per "
        "stage, so there are gaps of about a second between stages). Errors = failed "
        "connections/timeouts (10 s) + the larger of non-2xx answers and the service's own "
        "count of GraphQL errors (`ontograph_graphql_requests_total` by outcome, read before and "
        "after); the probe column is one request of each kind sent right after the stage "
        "(answers with `data` and no `errors`). RSS and CPU of the service from `/proc`, once a "
        "second. Latencies in ms.\n",
    ]
    md += stage_table(stages, sampler.samples)
    md.append(f"\n- Steady: {verdict(steady)}.")
    md.append(f"- Peak (the 1,000 req/s target): {verdict(peak)}.")
    hold = spike[-2] if len(spike) > 2 else spike[-1]
    md.append(f"- Spike, top of the ramp ({hold.name}): {verdict(hold)}.")
    md.append(f"\n![throughput, p95 and memory over time]({png})\n")
    headline = [
        f"Traffic: steady {steady.rate:.0f} req/s: {verdict(steady)}",
        f"Traffic: peak {peak.rate:.0f} req/s: {verdict(peak)}",
        f"Traffic: spike top ({hold.name}): {verdict(hold)}",
    ]
    return Section("traffic", "3. Traffic targets", "\n".join(md), headline, [png])


def span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def soak(ctx: Ctx) -> Section:
    rate, seconds = (20, 4) if ctx.smoke else (300, 600)
    stage = Stage("soak", rate, seconds)
    t_start = time.time()
    with probe.Sampler(ctx.ontograph_pid) as sampler:
        run_stage(ctx, stage, "soak")
    samples = sampler.samples
    png = charts.timeline(ctx.out_dir / "soak.png", f"Soak: {rate} req/s for {span(seconds)}", [stage], samples, t_start, window=10)
    rss = [x[1] for x in samples]
    first = rss[: max(1, len(rss) // 10)]
    last = rss[-max(1, len(rss) // 10):]
    growth = (sum(last) / len(last)) - (sum(first) / len(first)) if rss else math.nan
    md = [
        f"{rate} req/s of the traffic mix (80 % reads over the five shapes, 20 % `createDocuments`) for "
        f"{span(seconds)} (the issue's shortened soak), watching the service's memory.\n"
    ]
    md += stage_table([stage], samples)
    md.append(
        f"\n- RSS: {rss[0]:.0f} MiB at the start, {max(rss):.0f} MiB at most, {rss[-1]:.0f} MiB at the end; "
        f"mean of the last tenth minus mean of the first tenth: {growth:+.1f} MiB."
        if rss else "\n- RSS: no samples."
    )
    md.append(f"- {verdict(stage)}.")
    md.append(f"\n![soak]({png})\n")
    head = [f"Soak {rate} req/s for {span(seconds)}: {verdict(stage)}; RSS " + (
        f"{rss[0]:.0f} → {rss[-1]:.0f} MiB (max {max(rss):.0f})" if rss else "n/a")]
    return Section("soak", "3b. Soak (shortened)", "\n".join(md), head, [png])


# ---------------------------------------------------------------- 4. read replicas


def replicas(ctx: Ctx) -> Section:
    if not (ctx.replicas_1 and ctx.replicas_2 and len(ctx.readers) >= 2 and ctx.routing):
        raise RuntimeError("the replicas scenario needs two readers and the gateways bench/run starts for them")
    warm, sat_s, sat_c = (1, 2, 8) if ctx.smoke else (5, 15, 32)
    requests, decisions = (300, 100_000) if ctx.smoke else (5000, 1_000_000)
    systems = [("1 reader", ctx.replicas_1), ("2 readers", ctx.replicas_2)]
    ids = [q["id"] for q in ctx.queries]

    # The readers hold the same data as the leader (same deterministic seed): every answer must
    # equal the leader's, or the throughput would compare different work.
    for q in ctx.queries:
        body = ctx.body(q["id"]).read_bytes()
        status, ref = probe.post(ctx.ontograph_url, body)
        if status != 200 or ref.get("errors"):
            raise RuntimeError(f"the leader-only gateway answered `{q['id']}` with {status}: {json.dumps(ref)[:300]}")
        for name, url in systems:
            for _ in range(4):  # several times: the answers must agree on every reader
                status, reply = probe.post(url, body)
                diff = probe.first_difference(ref.get("data"), reply.get("data"))
                if status != 200 or reply.get("errors") or diff:
                    raise RuntimeError(f"{name} answered `{q['id']}` unlike the leader: {status} {diff} {json.dumps(reply)[:300]}")

    log(f"replicas: warm-up ({warm} s per shape and topology)")
    for qid in ids:
        for name, url in systems:
            oha.run(ctx.oha, oha.Load(f"{name}/{qid}", url, ctx.body(qid), warm, 8), ctx.work, "replicas-warm")
    sat: dict[tuple[str, str], oha.Stats] = {}
    for i, qid in enumerate(ids):
        for name, url in (systems if i % 2 == 0 else systems[::-1]):
            log(f"replicas: saturation of `{qid}` with {name} (c={sat_c}, {sat_s} s)")
            out = oha.run(ctx.oha, oha.Load(f"{name}/{qid}", url, ctx.body(qid), sat_s, sat_c), ctx.work, "replicas-sat")
            sat[(name, qid)] = oha.stats([out])

    json_path = ctx.work / "routing.json"
    cmd = [ctx.routing, "--reader", ctx.readers[0], "--requests", str(requests), "--warmup", str(requests // 10),
           "--decisions", str(decisions), "--json", str(json_path)]
    log("replicas: " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rt = json.loads(json_path.read_text())

    md = [
        "Two more Ontograph gateways, one routing reads to **one** reader and one balancing them over "
        "**two** readers (`NEO4J_READER_URIS`), measured in the same run, one shape after the other, "
        "alternating which goes first. The readers are independent Neo4j servers loaded with the same "
        "deterministic seed as the leader (Neo4j Community has no replication); before measuring, "
        "every answer of both gateways was checked equal to the leader's.\n",
        "**Read this ratio with the machine in mind**: the leader, both readers, the gateways and the "
        "load generator share the same CPUs, so a second reader adds no CPU here; it can only spread "
        "the same cores over two JVMs. On separate machines the second reader adds its own cores.\n",
        f"Saturation: closed loop, `oha -c {sat_c} -z {sat_s}s`, latencies in ms.\n",
        "| query | 1 reader req/s | 2 readers req/s | **ratio 2/1** | 1 reader p50 | 2 readers p50 | failed (1 / 2) |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    total1 = total2 = 0.0
    for qid in ids:
        a, b = sat[("1 reader", qid)], sat[("2 readers", qid)]
        total1 += a.rps
        total2 += b.rps
        md.append(f"| `{qid}` | {a.rps:.0f} | {b.rps:.0f} | **{ratio(b.rps, a.rps)}** | {ms(a.p50)} | {ms(b.p50)} | {a.failed} / {b.failed} |")
    md.append(f"| all shapes | {total1:.0f} | {total2:.0f} | **{ratio(total2, total1)}** | | | |")
    d, r = rt["direct"], rt["routed"]
    md += [
        "\n**The router's own cost** (`target/release/routing`): the same small indexed read "
        f"(`{rt['statement']}`) sent {d['n']} times straight to the reader with a `Neo4jClient` and "
        f"{r['n']} times through a `Router` whose only reader is that server, interleaved, one at a time "
        f"(microseconds):\n",
        "| path | mean | p50 | p90 | p99 |\n|---|--:|--:|--:|--:|",
        f"| direct | {d['mean_us']:.0f} | {d['p50_us']:.0f} | {d['p90_us']:.0f} | {d['p99_us']:.0f} |",
        f"| routed | {r['mean_us']:.0f} | {r['p50_us']:.0f} | {r['p90_us']:.0f} | {r['p99_us']:.0f} |",
        f"\n- Added by routing: **{rt['added_p50_us']:+.1f} µs at p50**, {rt['added_mean_us']:+.1f} µs in the mean "
        "(differences this small are within the run-to-run noise of the statement itself).",
        f"- The routing decision alone (`Router::target`: healthy readers, power of two choices over "
        f"peak-EWMA load), timed over {rt['decisions']:,} calls: **{rt['decision_ns']:.0f} ns** per request.",
    ]
    png = charts.bars(
        ctx.out_dir / "replicas-throughput.png",
        "Read throughput through one reader vs two (req/s, same run)",
        ids,
        {name: [sat[(name, qid)].rps for qid in ids] for name, _ in systems},
    )
    md.append(f"\n![replica throughput]({png})\n")
    head = [
        f"Replicas: read throughput 2 readers / 1 reader = {ratio(total2, total1)} over the five shapes (one shared "
        f"2-core machine); routing adds {rt['added_p50_us']:+.1f} µs at p50, the decision {rt['decision_ns']:.0f} ns"
    ]
    return Section("replicas", "4. Read replicas", "\n".join(md), head, [png])


# ---------------------------------------------------------------- 5. ingestion


def ingest(ctx: Ctx) -> Section:
    if not ctx.ingest:
        raise RuntimeError("the ingest scenario needs the `ingest` binary (bench/run passes it)")
    events, per_event, conc = (500, 100, 16) if ctx.smoke else (20_000, 2_000, 64)
    json_path = ctx.work / "ingest.json"
    cmd = [ctx.ingest, "--events", str(events), "--per-event", str(per_event), "--concurrency", str(conc),
           "--json", str(json_path)]
    log("ingest: " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    r = json.loads(json_path.read_text())
    e2e, raw = r["e2e_events_per_s"], r["raw_batched_events_per_s"]
    seq, conc_rate = r["one_tx_sequential_events_per_s"], r["one_tx_concurrent_events_per_s"]
    md = [
        f"`target/release/ingest`: {events:,} `membership.changed` events (each upserts a person and a team and "
        "connects them with a role), in one run:\n",
        f"1. **End to end**: signed webhooks over HTTP ({conc} keep-alive connections) into the gateway's "
        "receiver (`POST /ingest/internal`, 202 after the broker's confirm), RabbitMQ (quorum partition "
        f"queues), one ingest worker (batches of {r['batch_size']}), committed in Neo4j; timed from the first "
        "POST until every event is visible in the graph.",
        "2. **Raw batched**: the very statements the worker writes (`plan_batch` over the same rules, same "
        "batch size) sent straight to Neo4j one after the other.",
        f"3. **One transaction per event** ({per_event:,} events): each event's statement alone, sequentially "
        f"and {conc} at once.\n",
        "| path | events/s | ratio: end to end / path |\n|---|--:|--:|",
        f"| end to end | **{e2e:,.0f}** | |",
        f"| raw batched UNWIND | {raw:,.0f} | **{e2e / raw:.2f}** (goal ≥ 0.60) |",
        f"| one transaction per event, sequential | {seq:,.0f} | **{e2e / seq:.1f}x** (goal ≥ 20x) |",
        f"| one transaction per event, {conc} concurrent | {conc_rate:,.0f} | {e2e / conc_rate:.1f}x |",
        f"\n- The receiver accepted the {events:,} events in {r['accepted_seconds']:.1f} s ({r['accepted_per_s']:,.0f}/s); "
        f"the rest of the {r['e2e_seconds']:.1f} s end-to-end time is the worker catching up.",
        "- Concurrent per-event transactions are slower than sequential ones here: every event also MERGEs one of "
        "100 teams and sets its name, so concurrent transactions queue on the teams' locks.",
        "- Everything (Neo4j, RabbitMQ, the gateway, the worker, the senders) shares the machine's CPUs.",
    ]
    head = [f"Ingestion: end to end {e2e:,.0f} events/s = {e2e / raw:.2f} of raw batched writes, "
            f"{e2e / seq:.1f}x one transaction per event"]
    return Section("ingest", "5. Ingestion", "\n".join(md), head, [])


# ---------------------------------------------------------------- 6. result cache


def cache_stats(url: str) -> dict:
    admin = urllib.request.Request(
        url.rsplit("/", 1)[0] + "/admin/api/cache",
        headers={"Authorization": "Bearer " + os.environ.get("BENCH_ADMIN_TOKEN", "")},
    )
    with urllib.request.urlopen(admin, timeout=5) as r:
        return json.loads(r.read())["stats"]


def cache(ctx: Ctx) -> Section:
    if not (ctx.cached_url and ctx.cache_bin):
        raise RuntimeError("the cache scenario needs the cached gateway and the `cache` binary (bench/run passes them)")
    secs = 2 if ctx.smoke else 15
    body = ctx.body("point")
    for _ in range(2):  # fill the cache
        status, reply = probe.post(ctx.cached_url, body.read_bytes())
        if status != 200 or reply.get("errors"):
            raise RuntimeError(f"the cached gateway answered {status}: {json.dumps(reply)[:300]}")
    hit_rows: list[str] = []
    hit: dict[int, oha.Stats] = {}
    for c in (8, 16, 32):
        before = cache_stats(ctx.cached_url)
        log(f"cache: hit path, `point` on the cached gateway (c={c}, {secs} s)")
        out = oha.run(ctx.oha, oha.Load(f"cached/point/c{c}", ctx.cached_url, body, secs, c), ctx.work, "cache-hit")
        after = cache_stats(ctx.cached_url)
        st = oha.stats([out])
        hits = after["hitsL1"] - before["hitsL1"]
        hit[c] = st
        hit_rows.append(f"| {c} | **{st.rps:,.0f}** | {ms(st.p50)} | **{ms(st.p99)}** | {st.failed} | {pct(hits / st.n if st.n else 0)} |")
    log(f"cache: the same request without the cache (c=32, {secs} s)")
    base = oha.stats([oha.run(ctx.oha, oha.Load("uncached/point", ctx.ontograph_url, body, secs, 32), ctx.work, "cache-base")])
    best_c = max(hit, key=lambda c: hit[c].rps)
    best = hit[best_c]

    json_path = ctx.work / "cache.json"
    cmd = [ctx.cache_bin, "--cached", ctx.cached_url, "--uncached", ctx.ontograph_url,
           "--seconds", str(2 if ctx.smoke else 15), "--concurrency", "16", "--json", str(json_path)]
    if ctx.peer_url:
        cmd += ["--peer", ctx.peer_url]
    log("cache: " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    r = json.loads(json_path.read_text())
    zc, zu, zp = r["zipf_cached"], r["zipf_uncached"], r.get("zipf_peer")
    mc, mu = r["miss_cached"], r["miss_uncached"]

    def row(name: str, x: dict, ref: dict | None) -> str:
        hr = "" if x.get("hit_ratio") is None else pct(x["hit_ratio"])
        vs = "" if ref is None else f"{x['rps'] / ref['rps']:.2f}x"
        return f"| {name} | {x['rps']:,.0f} | {ms(x['p50_ms'])} | {ms(x['p99_ms'])} | {x['failed']} | {hr} | {vs} |"

    md = [
        "**Hit path**: the `point` request body, already cached, sent by oha (closed loop) to a gateway started with "
        "`ONTOGRAPH_CACHE_TTL=600s` and Redis. Every request is an L1 hit served from stored bytes "
        "(`hits` is the gateway's own count of L1 hits over requests sent). oha runs on the same 2-core "
        "machine as the gateway, Neo4j, Redis and RabbitMQ.\n",
        "| connections | req/s | p50 | p99 | failed | L1 hits |\n|--:|--:|--:|--:|--:|--:|",
        *hit_rows,
        f"\nThe same request without the cache (c=32): {base.rps:,.0f} req/s, p99 {ms(base.p99)} "
        f"→ the hit path serves **{best.rps / base.rps:.1f}x** the throughput. Target: 30,000 req/s with p99 under 2 ms.\n",
        f"**Zipf workload** (`target/release/cache`): {r['keys']:,} people, popularity Zipf(s={r['zipf_s']}), the "
        f"`PersonWithTeams` query (person by handle with their teams), {r['concurrency']} connections, {r['seconds']:.0f} s per "
        "row, each system in turn. The cached gateway starts cold, so its hit ratio includes the warm-up.\n",
        "| system | req/s | p50 | p99 | failed | hit ratio | vs no cache |\n|---|--:|--:|--:|--:|--:|--:|",
        row("Ontograph, cache on", zc, zu),
        row("Ontograph, cache off", zu, None),
    ]
    if zp:
        md.append(row("@neo4j/graphql peer", zp, zu))
    md += [
        "\n**Miss path**: every request a new key (a handle no one has), so each one runs the statement and is "
        "stored in both levels (the Redis write is part of the request).\n",
        "| system | req/s | p50 | p99 | failed | hit ratio | vs no cache |\n|---|--:|--:|--:|--:|--:|--:|",
        row("Ontograph, cache on (all misses)", mc, mu),
        row("Ontograph, cache off", mu, None),
    ]
    head = [f"Cache: hit path {best.rps:,.0f} req/s (c={best_c}), p99 {ms(best.p99)}; Zipf hit ratio "
            f"{pct(zc['hit_ratio'] or 0)}, {zc['rps'] / zu['rps']:.1f}x the uncached throughput"
            + (f", {zc['rps'] / zp['rps']:.1f}x the peer" if zp else "")]
    return Section("cache", "6. Result cache", "\n".join(md), head, [])


# ---------------------------------------------------------------- 7. supernodes


def run_supernode(ctx: Ctx, part: str) -> dict:
    if not (ctx.supernode_bin and ctx.ontograph_bin):
        raise RuntimeError("the supernode scenarios need the `supernode` and `ontograph` binaries (bench/run passes them)")
    json_path = ctx.work / f"supernode-{part}.json"
    cmd = [ctx.supernode_bin, "--ontograph", ctx.ontograph_bin, "--json", str(json_path), "--part", part]
    cmd += ["--powers", "3", "--runs", "3", "--budget", "2"] if ctx.smoke else ["--powers", "4,5,6"]
    if ctx.peer_url:
        cmd += ["--peer", ctx.peer_url]
    log("supernode: " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(json_path.read_text())


def hub_vocabulary(ctx: Ctx) -> Section:
    """The v7 vocabulary on the hub data, Ontograph and the peer side by side."""
    rows = run_supernode(ctx, "vocabulary")["vocabulary"]
    md = [
        "`target/release/supernode --part vocabulary`: the v7 vocabulary on the same data (people `snb-p-…`, a million of them; the hubs of 10^5 and "
        "10^6 members), Ontograph (rewrites on) and the @neo4j/graphql peer, each query sequentially "
        "(up to 30 runs, 20 s budget; p99 is nearest-rank over those runs, so with few runs it is the "
        "slowest). `same` says whether the peer's `data` equalled Ontograph's.\n",
        "| shape | what | hub | Ontograph p50 (ms) | p99 (ms) | runs | peer p50 (ms) | p99 (ms) | runs | same | p50 ratio (peer / Ontograph) |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|:-:|--:|",
    ]
    head = []
    for r in rows:
        o, p = r["ontograph"], r.get("peer") or {}
        if p.get("error"):
            peer_cells = f"**failed** ({p['error'][:80]}) | | | n/a"
            vs = "n/a"
        elif p:
            peer_cells = f"{ms(p['p50_ms'])} | {ms(p['p99_ms'])} | {p['runs']} | {'yes' if p.get('same_data') else 'no'}"
            vs = f"**{p['p50_ms'] / max(o['p50_ms'], 1e-6):.1f}x**"
        else:
            peer_cells = "n/a | | | n/a"
            vs = "n/a"
        md.append(f"| {r['shape']} | {r['what']} | {r['hub']} | {ms(o['p50_ms'])} | {ms(o['p99_ms'])} | {o['runs']} | {peer_cells} | {vs} |")
        head.append(f"{r['shape']}{' at ' + r['hub'] if r['hub'] != '—' else ''} {vs.strip('*')}")
    head = ["Vocabulary on the hub data (peer p50 / Ontograph p50): " + ", ".join(head)]
    return Section("hubvocabulary", "7b. The v7 vocabulary on a million people and hubs of 10^5 and 10^6", "\n".join(md), head, [])


def supernode(ctx: Ctx) -> Section:
    rows = run_supernode(ctx, "rules")["rows"]
    md = [
        "`target/release/supernode`: teams joined by 10^N people (`snb-hub-N`, seeded once and kept) and a "
        "team of 10; each shape timed (median of up to 30 sequential runs, 20 s budget) through an Ontograph "
        "gateway with supernode rewrites on, one with them off (same binary, `ONTOGRAPH_SUPERNODES=false`), "
        "one with them on over the same type definitions written as a v7 user writes them (no `@id`, "
        "`@unique` or `@index`: every key comes from the database's uniqueness constraints, **DB keys**), "
        "and the @neo4j/graphql peer, all on the same Neo4j. The rewritten, DB-keys and plain answers are "
        "checked equal before timing; `peer same` says whether the peer's `data` matched.\n",
        "| hub | shape | rule applied | plain p50 (ms) | rewritten p50 (ms) | speedup | DB keys: rule | DB keys p50 (ms) | DB keys speedup | peer p50 (ms) | peer same | rewritten vs peer |",
        "|---|---|---|--:|--:|--:|---|--:|--:|--:|:-:|--:|",
    ]
    errors = []
    for r in rows:
        peer = r.get("peer") or {}
        pp = peer.get("p50_ms")
        vs_peer = f"{pp / r['rewritten_p50_ms']:.1f}x" if pp else "n/a"
        same = "yes" if peer.get("same_data") else ("no" if "p50_ms" in peer else "n/a")
        if peer.get("error"):
            errors.append(f"- peer, {r['shape']} at {r['hub']}: `{peer['error']}`")
            pp_text = "**failed**"
        else:
            pp_text = ms(pp) if pp is not None else "n/a"
        if r.get("plain_error"):
            errors.append(f"- Ontograph plain, {r['shape']} at {r['hub']}: `{r['plain_error']}`")
        plain = "**failed**" if r.get("plain_error") else ms(r["plain_p50_ms"])
        speed = f"**{r['speedup']:.1f}x**" if r.get("speedup") is not None else "plain failed"
        db_speed = f"**{r['db_keys_speedup']:.1f}x**" if r.get("db_keys_speedup") is not None else "plain failed"
        md.append(
            f"| {r['hub']} | {r['shape']} | {', '.join(r['applied']) or '— (plain kept)'} | {plain} | "
            f"{ms(r['rewritten_p50_ms'])} | {speed} | {', '.join(r['db_keys_applied']) or '— (plain kept)'} | "
            f"{ms(r['db_keys_p50_ms'])} | {db_speed} | {pp_text} | {same} | {vs_peer} |"
        )
    if errors:
        md += ["\nFailures (a plain plan or the peer hitting a Neo4j limit the rewritten plan stays under):\n", *errors]
    top = max((int(r["hub"].split("^")[1]) for r in rows if r["hub"].startswith("10^")), default=0)
    at_top = [r for r in rows if r["hub"] == f"10^{top}"]
    fast = [r for r in at_top if (r["speedup"] or 0) >= 50 or (r.get("plain_error") and r["applied"])]
    small = [r for r in rows if not r["hub"].startswith("10^")]
    worst_small = min((r["speedup"] for r in small if r["speedup"]), default=float("nan"))
    same_rules = sum(1 for r in rows if r["applied"] == r["db_keys_applied"])
    md.append(
        f"\nKeys from the database only: the same rules applied in {same_rules} of {len(rows)} rows."
    )
    md.append(
        f"\nAt 10^{top}: {len(fast)} of {len(at_top)} shapes are 50x or more faster rewritten (goal: at least three). "
        f"Small team (no rule applies, the plain plan is kept): speedup between {worst_small:.2f}x and "
        f"{max((r['speedup'] for r in small if r['speedup']), default=float('nan')):.2f}x, i.e. no slowdown beyond run-to-run noise."
    )
    head = [f"Supernodes: at 10^{top} relationships " + ", ".join(
        f"{r['shape']} {r['speedup']:.0f}x" if r["speedup"] else f"{r['shape']} (plain failed)" for r in at_top)
        + "; keys from the database only: " + ", ".join(
        f"{r['shape']} {r['db_keys_speedup']:.0f}x" if r.get("db_keys_speedup") else f"{r['shape']} (plain failed)"
        for r in at_top)]
    return Section("supernode", "7. Supernode rewrites", "\n".join(md), head, [])


# name -> (function, one-line description, real?)
SCENARIOS: dict[str, tuple[Callable[[Ctx], Section], str, bool]] = {
    "peer": (peer, "@neo4j/graphql v7 vs Ontograph, five read shapes: saturation and fixed-rate latency", True),
    "vocabulary": (vocabulary, "@neo4j/graphql v7 vs Ontograph on a union field, an interface root list, a temporal filter, a nested update, a @cypher field, a hub aggregate and an aggregation filter", True),
    "bolt": (bolt, "Ontograph vs the same Cypher over raw Bolt, per shape (the `latency` binary)", True),
    "traffic": (traffic, "steady 100, peak 1,000 (80/20 read/write), spike 100 -> 1,000 req/s", True),
    "soak": (soak, "10 minutes at a moderate rate, memory of the service over time", True),
    "cache": (cache, "result cache: hit-path throughput and p99, Zipf workload hit ratio vs no cache and the peer, miss path", True),
    "ingest": (ingest, "end-to-end events/s (webhook → RabbitMQ → worker → Neo4j) vs raw batched writes and one transaction per event", True),
    "supernode": (supernode, "hubs of 10^4..10^6 relationships: each rewritten shape plain vs rewritten vs the peer", True),
    "hubvocabulary": (hub_vocabulary, "the v7 vocabulary (@cypher list, hub aggregates, aggregation filter, full-text) on a million people and hubs of 10^5 and 10^6, vs the peer", True),
    "replicas": (replicas, "read throughput through one reader vs two, and the router's own cost per request", True),
}
