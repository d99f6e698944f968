"""Runs the selected scenarios against services `bench/run` started, and writes the report.

    main.py --scenarios peer,bolt,... --ontograph URL --ontograph-pid PID
            [--peer URL --peer-pid PID] --oha PATH --bodies DIR --work DIR --out FILE.md
            [--smoke] [--note TEXT] [--analysis FILE.md] -- LATENCY-COMMAND...
    main.py --rerender --bodies DIR --work DIR --out FILE.md [--analysis FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenarios import SCENARIOS, Ctx, Section, log  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default="")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--ontograph", default="")
    ap.add_argument("--ontograph-pid", type=int, default=0)
    ap.add_argument("--peer")
    ap.add_argument("--peer-pid", type=int)
    ap.add_argument("--oha", default="")
    ap.add_argument("--bodies", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="")
    ap.add_argument("--replicas-1", help="gateway routing reads to one reader (replicas scenario)")
    ap.add_argument("--replicas-2", help="gateway balancing reads over two readers")
    ap.add_argument("--readers", default="", help="comma-separated bolt URIs of the two readers")
    ap.add_argument("--routing", help="the `routing` binary")
    ap.add_argument("--ingest", help="the `ingest` binary")
    ap.add_argument("--cached", help="Ontograph with the result cache on (cache scenario)")
    ap.add_argument("--cache-bin", help="the `cache` binary")
    ap.add_argument("--supernode-bin", help="the `supernode` binary")
    ap.add_argument("--ontograph-bin", help="the `ontograph` binary")
    ap.add_argument("--analysis", type=Path, help="hand-written notes appended to the report")
    ap.add_argument("--rerender", action="store_true", help="only rewrite the report from the last run's results (e.g. after editing the analysis)")
    ap.add_argument("latency", nargs="*", help="the latency command (after --)")
    a = ap.parse_args()
    saved = a.work / "results.json"
    if a.rerender:
        r = json.loads(saved.read_text())
        sections = [Section(**x) for x in r["sections"]]
        ctx = Ctx(smoke=r["smoke"], work=a.work, out_dir=a.out.parent, oha="", ontograph_url="", ontograph_pid=0,
                  peer_url=None, peer_pid=None, bodies=a.bodies, latency=[], queries=r["queries"])
        a.note = r["note"]
        a.out.write_text(render(a, ctx, r["facts"], r["names"], sections, r["elapsed"], r["date"]))
        log(f"report: {a.out}")
        return 0

    if not (a.scenarios and a.ontograph and a.ontograph_pid and a.oha and a.latency):
        ap.error("--scenarios, --ontograph, --ontograph-pid, --oha and the latency command are required")
    names = [n for n in a.scenarios.split(",") if n]
    ctx = Ctx(
        smoke=a.smoke,
        work=a.work,
        out_dir=a.out.parent,
        oha=a.oha,
        ontograph_url=a.ontograph,
        ontograph_pid=a.ontograph_pid,
        peer_url=a.peer,
        peer_pid=a.peer_pid,
        bodies=a.bodies,
        latency=a.latency,
        queries=json.loads((a.bodies / "queries.json").read_text()),
        replicas_1=a.replicas_1,
        replicas_2=a.replicas_2,
        readers=[r for r in a.readers.split(",") if r],
        routing=a.routing,
        ingest=a.ingest,
        cached_url=a.cached,
        cache_bin=a.cache_bin,
        supernode_bin=a.supernode_bin,
        ontograph_bin=a.ontograph_bin,
    )
    facts = json.loads((a.bodies / "facts.json").read_text())
    a.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    sections: list[Section] = []
    failed = []
    for name in names:
        fn, _desc, _real = SCENARIOS[name]
        t = time.time()
        log(f"scenario `{name}`")
        try:
            section = fn(ctx)
        except Exception as e:  # report what broke, keep the other scenarios
            traceback.print_exc()
            failed.append(name)
            section = Section(name, f"{name} (FAILED)", f"The scenario failed: `{e}`")
        section.name = name
        section.markdown += f"\n\n_Scenario `{name}` took {time.time() - t:.0f} s._"
        sections.append(section)

    elapsed = time.time() - started
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    saved.write_text(json.dumps({
        "sections": [s.__dict__ for s in sections], "smoke": a.smoke, "queries": ctx.queries, "note": a.note,
        "facts": facts, "names": names, "elapsed": elapsed, "date": now,
    }))
    a.out.write_text(render(a, ctx, facts, names, sections, elapsed, now))
    log(f"report: {a.out}")
    return 1 if failed else 0


def render(a, ctx: Ctx, facts: dict, names: list[str], sections: list[Section], elapsed: float, now: str) -> str:
    labels = ", ".join(f"{l} {n}" for l, n in facts.get("labels", []))
    out = ["# Ontograph benchmarks: @neo4j/graphql, raw Bolt, traffic targets, read replicas, ingestion\n"]
    if ctx.smoke:
        out.append("> **SMOKE RUN** (tiny data, seconds per step): checks the harness, measures nothing.\n")
    out += [
        f"- Date: {now}; revision {facts.get('revision')}; `bench/run {' '.join(names)}` took {elapsed / 60:.1f} min",
        f"- Machine: {facts.get('cpus')} logical CPUs ({facts.get('available_cpus')} usable), {facts.get('cpu_model')}; "
        f"{facts.get('memory_gib', 0):.1f} GiB memory; Linux {facts.get('kernel')}; load average {facts.get('load')} "
        "before the run. The load generator (oha), Ontograph, the peer and Neo4j all share these CPUs.",
        f"- Neo4j: {facts.get('neo4j')} (local stack: the leader; the replicas scenario adds two readers)",
        f"- Dataset: {facts.get('nodes')} nodes, {facts.get('relationships')} relationships ({labels}); {a.note}",
        "- Load generator: [oha](https://github.com/hatoo/oha) 1.16 (`bench/run` installs it); per-request "
        "results from its SQLite output, percentiles nearest-rank over all requests.",
        "- Ontograph: release build, default settings (no result cache except in the `cache` scenario; supernode "
        "rewrites on, though only the `supernode` scenario has hubs). "
        "Peer: `tests/peer/server.mjs` (@neo4j/graphql 7.6.3, graphql-yoga, Node.js, `NODE_ENV=production`).",
        "",
        "## Summary\n",
    ]
    for s in sections:
        out += [f"- {line}" for line in s.headline]
    placeholders = [n for n, (_f, _d, real) in SCENARIOS.items() if not real]
    if placeholders:
        out.append(f"- Placeholders (filled by later issues): {', '.join(f'`{n}`' for n in placeholders)}.")
    if a.analysis and a.analysis.exists():
        out += ["", "## Analysis\n", a.analysis.read_text().strip()]
    out.append("\n## The queries\n")
    out.append("The five read shapes used by every scenario (values picked from the data so each returns rows):\n")
    for q in ctx.queries:
        out.append(f"<details><summary><code>{q['id']}</code>: {q['shape']}</summary>\n")
        out.append(f"```graphql\n{q['graphql']}\n```\n\nVariables `{json.dumps(q['variables'])}`: {q['picked']}; returns {q['items']}.\n")
        out.append(f"```cypher\n{q['cypher'].strip()}\n```\n\n</details>\n")
    for s in sections:
        out += [f"\n## {s.title}\n", s.markdown]
    if placeholders:
        out.append("\n## Placeholders\n")
        for n in placeholders:
            out.append(f"- `{n}`: {SCENARIOS[n][1]}: not implemented yet (a later issue fills it in).")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
