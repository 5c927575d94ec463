#!/usr/bin/env python3
"""Markdown table + ratios from a loadbench run directory.

usage: report.py OUT_DIR      (reads OUT_DIR/results.jsonl and OUT_DIR/meta.tsv)
Ratios compare Spamward's throughput with each peer's, measured in the same run at the same
concurrency: Spamward spamd protocol vs SpamAssassin spamd, Spamward /checkv2 vs Rspamd /checkv2,
and both Spamward front ends against both peers.
"""
import json
import os
import sys

TARGET_TEXT = {"spamward-spamd": "Spamward (spamd protocol)", "spamward-http": "Spamward (HTTP /checkv2)",
               "spamward-rspamd": "Spamward (Rspamd worker /checkv2)",
               "sa-spamd": "SpamAssassin spamd", "rspamd-http": "Rspamd (HTTP /checkv2)"}


def f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def main():
    out = sys.argv[1]
    allrows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
    rows = [r for r in allrows if r.get("loop", "closed") == "closed"]
    open_rows = [r for r in allrows if r.get("loop") == "open"]
    meta = []
    if os.path.exists(os.path.join(out, "meta.tsv")):
        meta = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "meta.tsv")) if "\t" in l]
    print("# Load benchmark results\n")
    for k, v in meta:
        print("- **%s**: `%s`" % (k, v))
    print()
    print("| target | conc | msgs/s | p50 ms | p90 ms | p99 ms | max ms | ok | errors | timeouts "
          "| peak RSS MB | peak PSS MB | RSS first→last MB | server CPU s | client CPU s | server ms/msg | client ms/msg "
          "| other CPU s | load | conns |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    clients = sorted({r.get("client", "python") for r in rows})

    def name(r):
        t = TARGET_TEXT.get(r["label"], r["label"])
        return t + (" · %s client" % r.get("client", "python") if len(clients) > 1 else "")

    for r in rows:
        flag = " (client-bound?)" if r.get("client_bound") else ""
        ok = r["ok"]
        server_ms = r["server_cpu_s"] * 1000 / ok if ok and r.get("server_cpu_s") is not None else None
        client_ms = r["client_cpu_s"] * 1000 / ok if ok else None
        print("| %s | %d | %s | %s | %s | %s | %s | %d | %d | %d | %s | %s | %s→%s | %s | %s%s | %s | %s | %s | %s | %d |" % (
            name(r), r["concurrency"], f(r["msgs_per_s"]),
            f(r["p50_ms"]), f(r["p90_ms"]), f(r["p99_ms"]), f(r["max_ms"]), r["ok"], r["errors"],
            r["timeouts"], f(r.get("server_peak_rss_mb")), f(r.get("server_peak_pss_mb")),
            f(r.get("server_rss_first_mb")), f(r.get("server_rss_last_mb")), f(r.get("server_cpu_s"), 2),
            f(r["client_cpu_s"], 2), flag, f(server_ms, 3), f(client_ms, 3), f(r.get("other_cpu_s"), 1),
            f(r.get("loadavg_start")), r["connects"]))
    print("\nCPU columns are seconds used during the measurement window (2 CPUs: at most 2 x duration); "
          "ms/msg is CPU milliseconds per successful message in the window. "
          "\"other\" is everything else on the machine (other engineers' builds): noise. "
          "\"load\" is the 1-minute load average at the start of the window.")
    by = {(r["label"], r["concurrency"], r.get("client", "python")): r for r in rows}
    concs = sorted({r["concurrency"] for r in rows})
    pairs = [("spamward-spamd", "sa-spamd"), ("spamward-rspamd", "rspamd-http"), ("spamward-http", "rspamd-http"),
             ("spamward-http", "sa-spamd"), ("spamward-spamd", "rspamd-http")]
    print("\n## Throughput ratios (same run, same concurrency)\n")
    print("| ratio | " + " | ".join("c=%d" % c for c in concs) + " |")
    print("|---|" + "---:|" * len(concs))
    for cl in clients:
        for a, b in pairs:
            cells = []
            for c in concs:
                ra, rb = by.get((a, c, cl)), by.get((b, c, cl))
                if ra and rb and rb["msgs_per_s"] > 0:
                    cells.append("%.1fx" % (ra["msgs_per_s"] / rb["msgs_per_s"]))
                else:
                    cells.append("-")
            if any(x != "-" for x in cells):
                print("| %s / %s%s | %s |" % (TARGET_TEXT[a], TARGET_TEXT[b],
                                             " (%s client)" % cl if len(clients) > 1 else "", " | ".join(cells)))
    if open_rows:
        print("\n## Open loop (requests arrive at a fixed rate; latency from arrival, queueing included)\n")
        print("| target | conc | offered msg/s | served msg/s | p50 ms | p90 ms | p99 ms | max ms | queued at end "
              "| errors | peak RSS MB | server CPU s | client CPU s | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in open_rows:
            print("| %s | %d | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s |" % (
                TARGET_TEXT.get(r["label"], r["label"]), r["concurrency"], f(r["offered_per_s"], 0),
                f(r["msgs_per_s"]), f(r["p50_ms"]), f(r["p90_ms"]), f(r["p99_ms"]), f(r["max_ms"]),
                r.get("queued_at_end", 0), r["errors"] + r["timeouts"], f(r.get("server_peak_rss_mb")),
                f(r.get("server_cpu_s"), 2), f(r["client_cpu_s"], 2), f(r.get("loadavg_start"))))
    errs = [(name(r), r["concurrency"], r["error_kinds"]) for r in allrows if r["error_kinds"]]
    if errs:
        print("\n## Errors and timeouts\n")
        for lab, c, kinds in errs:
            print("- %s c=%d: %s" % (lab, c, "; ".join("%s ×%d" % kv for kv in kinds.items())))
    print("\nVerdicts (spam / not spam) per run: " + ", ".join(
        "%s c=%d %d/%d" % (r["label"], r["concurrency"], r["verdict_spam"], r["verdict_not_spam"]) for r in rows))


if __name__ == "__main__":
    main()
