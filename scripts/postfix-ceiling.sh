#!/usr/bin/env bash
# How many messages per second the benchmark Postfix itself accepts and delivers, with no front
# end at all: Postfix's own load generator (smtp-source) talks straight to the backend smtpd of
# scripts/postscreen-bench.sh (127.0.0.1:10028, the smtpd the SMTP edge and postscreen hand their
# clients to), and the run ends when every message is in the Maildir. This is the ceiling of any
# front end's relay rate on this machine (docs/edge.md, "What bounds the relay rate").
#
# Prints the wall time, messages per second (accepted and delivered), and the CPU time the whole
# machine used per message (from /proc/stat: run it with nothing else running, or the figure
# includes the other work).
#
# usage: scripts/postfix-ceiling.sh [MESSAGES (2000)] [SESSIONS (50)] [SIZE bytes (4000)]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
sessions=${2:-50}
size=${3:-4000}
command -v smtp-source >/dev/null || { echo "smtp-source not found (Debian package postfix)"; exit 1; }
maildir=/var/tmp/spamward-postscreen/mail/inbox
trap 'bash scripts/postscreen-bench.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/postscreen-bench.sh start

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
delivered() { find "$maildir/new" "$maildir/cur" -type f 2>/dev/null | wc -l; }
hz=$(getconf CLK_TCK)

echo "== $(uptime)"
b0=$(busy)
t0=$(date +%s.%N)
smtp-source -s "$sessions" -m "$n" -l "$size" -f sender@example.com -t inbox@spamward.test 127.0.0.1:10028
t1=$(date +%s.%N)
deadline=$(( $(date +%s) + 300 ))
while [ "$(delivered)" -lt "$n" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
t2=$(date +%s.%N)
b1=$(busy)
d=$(delivered)
awk -v n="$n" -v d="$d" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v b="$((b1 - b0))" -v hz="$hz" -v s="$sessions" -v z="$size" 'BEGIN {
  printf "messages %d of %d bytes over %d sessions: accepted in %.2f s (%.0f/s), delivered %d in %.2f s (%.0f/s)\n", n, z, s, t1 - t0, n / (t1 - t0), d, t2 - t0, d / (t2 - t0)
  printf "machine CPU %.2f s = %.2f ms per message (all processes: Postfix and smtp-source)\n", b / hz, 1000 * b / hz / n
}'
[ "$d" -eq "$n" ] || { echo "only $d of $n delivered"; exit 1; }
