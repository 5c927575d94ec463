#!/usr/bin/env bash
# The edge beside postscreen, back to back on the same Postfix (docs/edge.md, "Simulation and
# throughput"). Starts scripts/postscreen-bench.sh's private Postfix (postscreen on :10027, the
# edge's backend smtpd on :10028, one queue and Maildir), runs spamward-edge-sim against the edge,
# restarts that Postfix (postscreen's cache and the Maildir start empty, as the edge's in-memory
# state does), runs the same clients against postscreen, and stops it. Load average before each.
#
# usage: scripts/edge-bench.sh [spamward-edge-sim run options...]
#   e.g. scripts/edge-bench.sh --good 2000 --bots 10000 --concurrency 1000 --relay-concurrency 200 --pregreet-ms 1000
#   SIM=path/to/spamward-edge-sim (default .build-bench/release/spamward-edge-sim), ONLY=edge|postscreen
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${SIM:-.build-bench/release/spamward-edge-sim}
[ -x "$sim" ] || { echo "no $sim: swift build -c release --scratch-path .build-bench --product spamward-edge-sim"; exit 1; }
maildir=/var/tmp/spamward-postscreen/mail/inbox
trap 'bash scripts/postscreen-bench.sh stop >/dev/null 2>&1 || true' EXIT
if [ "${ONLY:-}" != postscreen ]; then
  bash scripts/postscreen-bench.sh start
  echo "== edge: $(uptime)"
  "$sim" run --backend 127.0.0.1:10028 --maildir "$maildir" --dnsbl-action drop "$@"
fi
if [ "${ONLY:-}" != edge ]; then
  bash scripts/postscreen-bench.sh start
  echo "== postscreen: $(uptime)"
  "$sim" run --target 127.0.0.1:10027 --maildir "$maildir" "$@" --idle 0
fi
