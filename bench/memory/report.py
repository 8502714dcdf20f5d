#!/usr/bin/env python3
"""Summary tables of bench/memory/run.sh: report.py OUT > OUT/summary.md."""
import glob
import json
import os
import sys

MiB = 1 << 20
out = sys.argv[1]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def mib(b):
    return "%d" % round(b / MiB) if b else "-"


def signal_load(sig, d):
    """(throughput figure, unit, refused, non-retryable failures, connection errors)"""
    r = load(os.path.join(d, "load-%s.json" % sig))
    if r is None:
        return None
    if sig == "metrics":
        ph = r.get("phases") or []
        samples = sum(p["samples"] for p in ph)
        secs = sum(p["seconds"] for p in ph)
        return (samples / secs if secs else 0, "samples/s", sum(p["refused_responses"] for p in ph),
                sum(p["rejected_requests"] for p in ph), sum(p["connection_errors"] + p["other_5xx_responses"] for p in ph), samples)
    if sig == "traces":
        return (r["spans_per_second"], "spans/s", r["requests_refused"], r["requests_failed"], r.get("connection_errors", 0), r["spans_acked"])
    return (r["lines_per_second"], "lines/s", r["refused_requests"], r["failed_requests"], r.get("connection_errors", 0), r["lines"])


def queries(sig, d):
    q = load(os.path.join(d, "queries-%s.json" % sig))
    return "%d / %d" % (q["runs"] - q["failed"], q["failed"]) if q else "-"


for m in sorted(glob.glob(os.path.join(out, "machine-*.txt"))):
    print("```")
    print(open(m).read().rstrip())
    print("```")
    print()

peers = {"metrics": "prometheus", "traces": "jaeger", "logs": "victorialogs"}
if os.path.isdir(os.path.join(out, "signals")):
    print("## Per signal: Vigil (default memory_limit) beside the peer, same load\n")
    print("| signal | system | acknowledged | peak RSS MiB (100 ms samples) | VmHWM MiB | server CPU s | refused (503/429) | non-retryable | queries ok / failed | load avg at end |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for sig in ("metrics", "traces", "logs"):
        rss = {}
        for sys_ in ("vigil", peers[sig]):
            d = os.path.join(out, "signals", "%s-%s" % (sig, sys_))
            if not os.path.isdir(d):
                continue
            mem, end, ld = load(os.path.join(d, "mem.json")) or {}, load(os.path.join(d, "end.json")) or {}, signal_load(sig, d)
            rss[sys_] = (mem.get("peak_rss_bytes"), mem.get("vmhwm_bytes"), ld[0] if ld else None)
            print("| %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s |" % (
                sig, sys_, "%s %s" % (format(round(ld[0]), ","), ld[1]) if ld else "-",
                mib(mem.get("peak_rss_bytes")), mib(mem.get("vmhwm_bytes")), mem.get("cpu_seconds", 0),
                ld[2] if ld else "-", (ld[3] + 0) if ld else "-", queries(sig, d), end.get("loadavg_end", "-")))
        if "vigil" in rss and peers[sig] in rss and rss[peers[sig]][1] and rss[peers[sig]][2]:
            v, p = rss["vigil"], rss[peers[sig]]
            ratios.append("%s: peak RSS %.2fx %s's (VmHWM %.2fx), at %.2fx its acknowledged throughput" % (
                sig, v[0] / p[0], peers[sig], v[1] / p[1], v[2] / p[2]))
    print()
    for r in ratios:
        print("- " + r)
    print()

if os.path.isdir(os.path.join(out, "all")):
    print("## All signals at once on one Vigil, against memory_limit\n")
    print("| memory_limit | peak RSS MiB (100 ms) | VmHWM MiB | bound (limit +10%) | within | metrics samples/s | spans/s | lines/s | refused (metrics / traces / logs) | non-retryable | conn. errors | query runs ok/failed (metrics, traces, logs) | OOM kills | survived |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for d in sorted(glob.glob(os.path.join(out, "all", "*"))):
        name = os.path.basename(d)
        mem, end = load(os.path.join(d, "mem.json")) or {}, load(os.path.join(d, "end.json")) or {}
        at = mem.get("metrics_at_peak") or {}
        mx = mem.get("metrics_max") or {}
        limit = mx.get("vigil_memory_limit_bytes") or at.get("vigil_memory_limit_bytes") or 0
        bound = limit * 1.1
        peak = max(mem.get("peak_rss_bytes", 0), mem.get("vmhwm_bytes", 0))
        lds = {s: signal_load(s, d) for s in ("metrics", "traces", "logs")}
        fig = lambda s, i: (format(round(lds[s][i]), ",") if isinstance(lds[s][i], float) else str(lds[s][i])) if lds[s] else "-"
        nonretry = sum(lds[s][3] for s in lds if lds[s])
        conn = sum(lds[s][4] for s in lds if lds[s])
        print("| %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %d | %d | %s, %s, %s | %s | %s |" % (
            name, mib(limit) + " MiB", mib(mem.get("peak_rss_bytes")), mib(mem.get("vmhwm_bytes")), mib(bound),
            "yes" if limit and peak <= bound else "**no**", fig("metrics", 0), fig("traces", 0), fig("logs", 0),
            fig("metrics", 2), fig("traces", 2), fig("logs", 2), nonretry, conn,
            queries("metrics", d).replace(" ", ""), queries("traces", d).replace(" ", ""), queries("logs", d).replace(" ", ""), ("n/a" if end.get("oom_kills", -1) == -1 else end.get("oom_kills")),
            "yes" if end.get("alive_at_end") else "**no** (exit %s)" % end.get("exit_status")))
        if at:
            g = lambda k: at.get(k, 0)
            goheld = g("go_memstats_sys_bytes") - g("go_memstats_heap_released_bytes")
            notes.append("%s: at the scrape with the highest RSS (%s MiB, %.0f s in): Go heap in use %s MiB, "
                         "Go idle not yet returned %s MiB, Go total held %s MiB, the rest (DuckDB's stores, the binary's pages, C allocations) %s MiB; "
                         "TSDB head series %d, store queue rows %d, log term index %s MiB; refused requests %d; refusing at that scrape: %d" % (
                             name, mib(g("rss_bytes")), g("at_seconds"), mib(g("go_memstats_heap_inuse_bytes")),
                             mib(g("go_memstats_heap_idle_bytes") - g("go_memstats_heap_released_bytes")), mib(goheld),
                             mib(g("rss_bytes") - goheld), g("prometheus_tsdb_head_series"), g("vigil_telemetrydb_queue_rows"),
                             mib(g("vigil_logs_term_index_bytes")), mx.get("vigil_memory_refused_requests_total", 0), g("vigil_memory_refusing")))
        if limit:
            share = max((limit - 128 * MiB) // 4, 64 * MiB)
            store = max(share * 3 // 4, 64 * MiB)
            gosoft = max(limit * 0.9 - 2 * store * 4 / 3, limit / 4)
            notes.append("%s: the rule (internal/memlimit, as of this commit) gives each store a share of %s MiB, its DuckDB a memory_limit of %s MiB, "
                         "Go a soft limit of %s MiB; refusals start at %s MiB resident, stop under %s MiB. Rejected by the stores' own limits (not memory): "
                         "samples %d, spans %d, log records %d" % (
                             name, mib(share), mib(store), mib(gosoft), mib(limit * 0.9), mib(limit * 0.85),
                             mx.get("vigil_samples_rejected_total", 0), mx.get("vigil_traces_spans_rejected_total", 0),
                             mx.get("vigil_logs_records_rejected_total", 0)))
    print()
    for n in notes:
        print("- " + n)
