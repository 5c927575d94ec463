#!/usr/bin/env bash
# A private unbound for the DNS tests, on loopback only: 127.0.0.1:5354 (UDP and TCP).
# It serves only the zone files in Tests/Fixtures/dns/ (one auth-zone per NAME.zone file, named
# NAME), never recurses to the Internet, and does not touch the system resolver or port 53.
# Config, pid file and log live in /var/tmp/spamward-dns/. Add a zone by dropping a file there.
#
# Several checkouts on one machine: give each its own port and directory, and tell the tests the
# port (they read SPAMWARD_DNS_PORT too):
#   SPAMWARD_DNS_PORT=5356 SPAMWARD_DNS_DIR=/var/tmp/spamward-dns-mine scripts/test-dns.sh start
#   SPAMWARD_DNS_PORT=5356 swift test --filter URIBL
#
# usage: scripts/test-dns.sh start|stop|status
set -euo pipefail
base=${SPAMWARD_DNS_DIR:-/var/tmp/spamward-dns}
port=${SPAMWARD_DNS_PORT:-5354}
zones="$(cd "$(dirname "$0")/.." && pwd)/Tests/Fixtures/dns"

start() {
  command -v unbound >/dev/null || { echo "unbound is not installed (apt-get install unbound)"; exit 1; }
  stop >/dev/null 2>&1 || true
  rm -rf "$base"
  mkdir -p "$base/zones"
  cp "$zones"/*.zone "$base/zones/"
  {
    cat <<CF
server:
  interface: 127.0.0.1
  port: $port
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  access-control: 127.0.0.0/8 allow
  do-daemonize: yes
  username: ""
  chroot: ""
  directory: "$base"
  pidfile: "$base/unbound.pid"
  logfile: "$base/unbound.log"
  use-syslog: no
  verbosity: 1
  log-queries: yes
  num-threads: 1
  so-reuseport: no
  # No trust anchor, no root hints needed: everything asked is answered from the zones below.
  module-config: "iterator"
  harden-glue: yes
  # The reverse zones of the documentation ranges are blank local zones by default.
  unblock-lan-zones: yes
  insecure-lan-zones: yes
  # test. is a blank (NXDOMAIN) local zone by default (RFC 6761); ours live under it.
  local-zone: "test." nodefault
  # A zone that answers REFUSED, for the resolver's error mapping.
  local-zone: "refused.test." refuse
remote-control:
  control-enable: no
CF
    for f in "$base"/zones/*.zone; do
      z=$(basename "$f" .zone)
      case "$z" in *.arpa) printf '  # %s\nserver:\n  local-zone: "%s." nodefault\n' "$z" "$z" ;; esac
      printf 'auth-zone:\n  name: "%s."\n  zonefile: "%s"\n  for-downstream: yes\n  for-upstream: yes\n  fallback-enabled: no\n' "$z" "$f"
    done
  } > "$base/unbound.conf"
  unbound-checkconf "$base/unbound.conf" >/dev/null
  unbound -c "$base/unbound.conf"
  for _ in $(seq 1 50); do
    if dig @127.0.0.1 -p "$port" +short +time=1 +tries=1 spamward.test SOA >/dev/null 2>&1 \
      && [ -n "$(dig @127.0.0.1 -p "$port" +short +time=1 +tries=1 spamward.test SOA)" ]; then
      echo "unbound listening on 127.0.0.1:$port (pid $(cat "$base/unbound.pid"))"
      return 0
    fi
    sleep 0.2
  done
  echo "unbound did not start"; tail -20 "$base/unbound.log" 2>/dev/null; stop; exit 1
}

stop() {
  [ -f "$base/unbound.pid" ] || return 0
  pid=$(cat "$base/unbound.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q unbound "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$base/unbound.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) [ -f "$base/unbound.pid" ] && kill -0 "$(cat "$base/unbound.pid")" 2>/dev/null && echo running || { echo stopped; exit 1; } ;;
  *) echo "usage: $0 start|stop|status"; exit 64 ;;
esac
