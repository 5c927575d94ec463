#!/usr/bin/env bash
# CPU per bot connection of the edge and of the simulator (docs/edge.md, "The SMTP front"):
# a bots-only spamward-edge-sim run (no good clients, so no backend is contacted), with
# `perf stat -e task-clock` attached to the edge (the simulator's `serve` child) and to the
# simulator's client side for the whole run. A run is 2 x BOTS bot connections (phase 1 and
# phase 2). Prints the load average, the phase-2 refusal rate and the CPU per connection.
#
# usage: scripts/edge-cpu-bench.sh [SIM] [PORT]
#   SIM default .build-bench/release/spamward-edge-sim, PORT default 2611 (a private port);
#   BOTS (10000), CONCURRENCY (2000), PREGREET_MS (1000) from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${1:-.build-bench/release/spamward-edge-sim}
port=${2:-2611}
bots=${BOTS:-10000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)
"$sim" run --good 0 --bots "$bots" --concurrency "${CONCURRENCY:-2000}" --pregreet-ms "${PREGREET_MS:-1000}" \
  --dnsbl-action drop --idle 0 --backend 127.0.0.1:9 --port "$port" --maildir "$out/none" > "$out/run.txt" 2>&1 &
runner=$!
edge=""
for _ in $(seq 1 200); do
  edge=$(pgrep -f "spamward-edge-sim serve --listen 127.0.0.1:$port " || true)
  [ -n "$edge" ] && break
  sleep 0.05
done
[ -n "$edge" ] || { echo "the edge did not start"; cat "$out/run.txt"; exit 1; }
perf stat -e task-clock -x, -p "$edge" -o "$out/edge.perf" 2>/dev/null &
p1=$!
perf stat -e task-clock -x, -p "$runner" -o "$out/sim.perf" 2>/dev/null &
p2=$!
wait "$runner" || true
sleep 0.5
kill -INT "$p1" "$p2" 2>/dev/null || true
wait "$p1" "$p2" 2>/dev/null || true
ms() { grep task-clock "$1" | cut -d, -f1; }
conns=$((bots * 2))
edge_ms=$(ms "$out/edge.perf"); sim_ms=$(ms "$out/sim.perf")
rate=$(grep "bot connections rejected" "$out/run.txt" | sed 's/.*= //; s/ |$//')
printf 'load %s | bots refused/s (phase 2) %s | edge %.2f s = %.0f us/conn | simulator %.2f s = %.0f us/conn\n' \
  "$load" "$rate" "$(echo "$edge_ms / 1000" | bc -l)" "$(echo "$edge_ms * 1000 / $conns" | bc -l)" \
  "$(echo "$sim_ms / 1000" | bc -l)" "$(echo "$sim_ms * 1000 / $conns" | bc -l)"
grep -E "^\| (pipelining|pregreet|listed|denied|burst) " "$out/run.txt" | tr '\n' ' '; echo
