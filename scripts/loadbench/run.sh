#!/usr/bin/env bash
# Load benchmark: Spamward vs SpamAssassin spamd vs Rspamd, one after another, on loopback.
#
# usage (as root: spamd and rspamd drop privileges to their Debian users):
#   scripts/loadbench/run.sh SPAMWARD_BIN OUT_DIR [CORPUS_DIR]
#
# Builds nothing. Starts each daemon on free 127.0.0.1 ports, prepares it, runs loadbench.py
# against it at every concurrency in CONCURRENCIES, stops it, then starts the next one. Never two
# daemons at once. Every daemon it started is stopped by PID on exit (trap EXIT).
#   Spamward: `serve` with its shipped starter model, empty private store, milter off;
#             targets "spamward-spamd" (spamd protocol CHECK), "spamward-rspamd" (/checkv2 on the
#             Rspamd worker listener, `--rspamd`) and/or "spamward-http" (/checkv2 on the
#             Hummingbird HTTP port), as SPAMWARD_HTTP says.
#   SpamAssassin: spamd -L -x, private site config as in /work/shared/peers/run_spamassassin.sh
#             (offline, Debian-shipped rules, Bayes trained with sa-learn on the first half of
#             the corpus, autolearn off), SA_CHILDREN children; target "sa-spamd".
#   Rspamd:   private config as in /work/shared/peers/run_rspamd.sh (offline modules off, Bayes
#             in a private redis, learned through the controller on the first half), RSPAMD_WORKERS
#             normal workers; target "rspamd-http" (/checkv2).
# Messages: the second half of CORPUS_DIR/index, cycled (loadbench.py --part test).
#
# Env: CONCURRENCIES ("1 10 50"), DURATION (20), WARMUP (3), TIMEOUT (60), PROCS (client
#      processes, 1), SA_CHILDREN (2), RSPAMD_WORKERS (2), SPAMWARD_SPAMD (on|off, on),
#      SPAMWARD_HTTP (worker|hummingbird|both: which /checkv2 to measure; default worker when
#      the binary has `serve --rspamd`, else hummingbird), SPAMWARD_TOML (lines added to its
#      configuration file),
#      TARGETS ("spamward sa rspamd"), PEER_TRAIN (1; 0 = peers with rules only, no Bayes),
#      CLIENTS ("swift python": spamward-loadgen, then loadbench.py's asyncio loop), LOADGEN
#      (spamward-loadgen beside SPAMWARD_BIN), PEERS_DIR (/work/shared/peers), NICE (-19: autogroup nice of the benchmark's own session,
#      so that other work on a shared machine disturbs the figures less; 0 to disable).
# Output: OUT_DIR/results.jsonl (one loadbench.py JSON object per run), OUT_DIR/results.md
#      (table + ratios), OUT_DIR/work/ (logs, configs, models).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS_DIR=${PEERS_DIR:-/work/shared/peers}
[ $# -ge 2 ] || { sed -n 2,33p "$0"; exit 2; }
SPAMWARD_BIN=$(readlink -f "$1")
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
CORPUS=$(cd "${3:-/work/shared/corpora/spamassassin}" && pwd)
CONCURRENCIES=${CONCURRENCIES:-"1 10 50"}
# Open-loop runs (spamward-loadgen --rate), Spamward's front ends only, after the closed loop:
# RATES="500 1000" runs each rate at OPEN_CONCURRENCY connections (default 50). Empty: none.
RATES=${RATES:-}
OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-50}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
TIMEOUT=${TIMEOUT:-60}
PROCS=${PROCS:-1}
SA_CHILDREN=${SA_CHILDREN:-2}
RSPAMD_WORKERS=${RSPAMD_WORKERS:-2}
SPAMWARD_SPAMD=${SPAMWARD_SPAMD:-on}
SPAMWARD_HTTP=${SPAMWARD_HTTP:-}
TARGETS=${TARGETS:-"spamward sa rspamd"}
PEER_TRAIN=${PEER_TRAIN:-1}
PY=${PY:-python3}
# Load generators, each run back to back at every concurrency: swift = spamward-loadgen (lean,
# one thread per process: an epoll loop), python = loadbench.py's own asyncio loop (for comparison).
CLIENTS=${CLIENTS:-"swift python"}
LOADGEN=${LOADGEN:-$(dirname "$(readlink -f "$1" 2>/dev/null || echo .)")/spamward-loadgen}
# Scheduling priority. The kernel groups processes by session (sched_autogroup), and the CPU is
# shared fairly between groups, so a plain `nice` only ranks processes inside one group. With
# NICE != 0 the script re-runs itself in a new session (setsid) and sets that session's autogroup
# nice, so that the daemons and the client together outweigh other sessions' work (builds) on a
# shared machine. NICE=0 disables this. Needs root for negative values.
NICE=${NICE:--19}
if [ "$NICE" != 0 ] && [ -e /proc/self/autogroup ] && [ -z "${LOADBENCH_IN_SESSION:-}" ]; then
  export LOADBENCH_IN_SESSION=1
  exec setsid -w "$0" "$@"
fi
if [ "$NICE" != 0 ] && [ -e /proc/self/autogroup ]; then
  echo "$NICE" > /proc/self/autogroup || { echo "cannot set autogroup nice $NICE" >&2; exit 2; }
fi
N=()

[ -x "$SPAMWARD_BIN" ] || [[ " $TARGETS " != *" spamward "* ]] || { echo "not executable: $SPAMWARD_BIN" >&2; exit 2; }
[ -f "$CORPUS/index" ] || { echo "no index in $CORPUS" >&2; exit 2; }

WORK=$OUT/work
rm -rf "$WORK"
mkdir -p "$WORK"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- daemons started here, stopped by PID ---------------------------------------------------
declare -a STARTED=()
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIGTERM for 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  local i
  for ((i=${#STARTED[@]}-1; i>=0; i--)); do stop_pid "${STARTED[$i]}"; done
  STARTED=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_ok() { curl -sf --max-time 2 "http://127.0.0.1:$1$2" > /dev/null 2>&1; }

"$PY" "$PEERS_DIR/split.py" "$CORPUS" "$WORK" 0.5
SPLIT=$WORK/split

{
  echo "date_utc	$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host	$(hostname) $(nproc) cpus, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "spamward_bin	$SPAMWARD_BIN ($(stat -c %y "$SPAMWARD_BIN" 2>/dev/null | cut -d. -f1))"
  echo "spamward_git	$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -z "$(git -C "$HERE" status --porcelain -- ../../Sources 2>/dev/null)" ] || echo ' + uncommitted/untracked changes in Sources')"
  echo "settings	SPAMWARD_HTTP=${SPAMWARD_HTTP:-auto} CLIENTS=$CLIENTS CONCURRENCIES=$CONCURRENCIES DURATION=$DURATION WARMUP=$WARMUP TIMEOUT=$TIMEOUT PROCS=$PROCS NICE=$NICE SA_CHILDREN=$SA_CHILDREN RSPAMD_WORKERS=$RSPAMD_WORKERS PEER_TRAIN=$PEER_TRAIN RATES=$RATES OPEN_CONCURRENCY=$OPEN_CONCURRENCY"
} > "$OUT/meta.tsv"

# bench LABEL PROTOCOL PORT PID... -- one loadbench.py run per concurrency, appended to results
bench() {
  local label=$1 proto=$2 port=$3 c pids=() p
  shift 3
  for p in "$@"; do pids+=(--pid "$p"); done
  for c in $CONCURRENCIES; do
    local procs=$PROCS cl
    [ "$procs" -gt "$c" ] && procs=$c
    for cl in $CLIENTS; do
      if [ "$cl" = swift ] && [ ! -x "$LOADGEN" ]; then
        log "$label: no $LOADGEN (swift build -c release --product spamward-loadgen): swift client skipped"
        continue
      fi
      log "$label: concurrency $c, ${DURATION}s (+${WARMUP}s warm-up), client $cl"
      "${N[@]}" "$PY" "$HERE/loadbench.py" --label "$label" --protocol "$proto" --target "127.0.0.1:$port" \
        --corpus "$CORPUS" --part test --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" \
        --timeout "$TIMEOUT" --procs "$procs" --client "$cl" --loadgen "$LOADGEN" "${pids[@]}" --json | tee -a "$RESULTS" \
        | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print("   %(msgs_per_s)s msg/s  p50 %(p50_ms)s ms  p99 %(p99_ms)s ms  max %(max_ms)s ms  errors %(errors)s  timeouts %(timeouts)s  rss %(server_peak_rss_mb)s MB  cpu client/server %(client_cpu_s)s/%(server_cpu_s)s s = %(client_ms_per_msg)s/%(server_ms_per_msg)s ms/msg" % d)' >&2
      sleep 1
    done
  done
}

# bench_open LABEL PROTOCOL PORT PID... -- one open-loop run (swift client) per rate in RATES
bench_open() {
  local label=$1 proto=$2 port=$3 r pids=() p
  shift 3
  for p in "$@"; do pids+=(--pid "$p"); done
  [ -x "$LOADGEN" ] || { [ -z "$RATES" ] || log "$label: no $LOADGEN: open-loop runs skipped"; return 0; }
  for r in $RATES; do
    log "$label: open loop, $r msg/s offered over $OPEN_CONCURRENCY connections, ${DURATION}s (+${WARMUP}s warm-up)"
    "${N[@]}" "$PY" "$HERE/loadbench.py" --label "$label" --protocol "$proto" --target "127.0.0.1:$port" \
      --corpus "$CORPUS" --part test --concurrency "$OPEN_CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
      --timeout "$TIMEOUT" --client swift --loadgen "$LOADGEN" --rate "$r" "${pids[@]}" --json | tee -a "$RESULTS" \
      | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print("   offered %(offered_per_s)s: %(msgs_per_s)s msg/s  p50 %(p50_ms)s ms  p99 %(p99_ms)s ms  queued at end %(queued_at_end)s  errors %(errors)s" % d)' >&2
    sleep 1
  done
}

# --- Spamward -------------------------------------------------------------------------------
run_spamward() {
  local hport sport wport pid args i
  hport=$(free_port); sport=$(free_port); wport=$(free_port)
  if [ -z "$SPAMWARD_HTTP" ]; then
    if "$SPAMWARD_BIN" serve --help 2>/dev/null | grep -q -- '--rspamd'; then SPAMWARD_HTTP=worker; else SPAMWARD_HTTP=hummingbird; fi
  fi
  mkdir -p "$WORK/spamward"
  rm -f "$WORK/spamward/spamward.sqlite"*
  # Network tests off, as for the peers (SpamAssassin -L with dns_available no, Rspamd's
  # offline modules off): without a reachable DNS every SPF/DKIM/DMARC lookup would wait for
  # its timeout. The content scan (parse, rules, features, learner) is what is compared.
  printf '[authentication]\nenabled = false\n' > "$WORK/spamward/spamward.toml"
  # SPAMWARD_TOML: more configuration lines (e.g. $'[rspamd]\nscan_threads = 1') for experiments.
  [ -z "${SPAMWARD_TOML:-}" ] || printf '%s\n' "$SPAMWARD_TOML" >> "$WORK/spamward/spamward.toml"
  args=(serve --config "$WORK/spamward/spamward.toml" --db "$WORK/spamward/spamward.sqlite" --milter off --http "127.0.0.1:$hport")
  if [ "$SPAMWARD_SPAMD" = on ]; then args+=(--spamd "127.0.0.1:$sport"); else args+=(--spamd off); fi
  if [ "$SPAMWARD_HTTP" != hummingbird ]; then args+=(--rspamd "127.0.0.1:$wport"); fi
  echo "spamward_cmd	$SPAMWARD_BIN ${args[*]}" >> "$OUT/meta.tsv"
  "${N[@]}" "$SPAMWARD_BIN" "${args[@]}" > "$WORK/spamward/serve.log" 2>&1 &
  pid=$!; STARTED+=("$pid")
  for i in $(seq 1 300); do
    http_ok "$hport" /ping && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -5 "$WORK/spamward/serve.log" >&2
    if [ "$SPAMWARD_SPAMD" = on ] && grep -q "spamd front end not wired yet" "$WORK/spamward/serve.log"; then
      log "Spamward: spamd front end not wired in this binary; measuring HTTP only (--spamd off)"
      echo "spamward_note	spamd front end not wired in this binary: spamd protocol not measured" >> "$OUT/meta.tsv"
      SPAMWARD_SPAMD=off; run_spamward; return
    fi
    die "spamward exited"
  fi
  http_ok "$hport" /ping || die "spamward not answering on $hport"
  log "Spamward pid $pid: http $hport$([ "$SPAMWARD_SPAMD" = on ] && echo ", spamd $sport")"
  # sanity: GTUBE must come back as spam on /checkv2
  printf 'Subject: gtube\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n' \
    | curl -sf --data-binary @- "http://127.0.0.1:$hport/checkv2" > "$WORK/spamward/gtube.json" || die "GTUBE check failed"
  log "Spamward GTUBE: $(head -c 200 "$WORK/spamward/gtube.json")"
  if [ "$SPAMWARD_SPAMD" = on ]; then
    spamc -d 127.0.0.1 -p "$sport" -c < "$(head -1 "$SPLIT/test.list")" > "$WORK/spamward/spamc_check.txt" || true
    log "Spamward spamc -c: $(cat "$WORK/spamward/spamc_check.txt")"
    bench spamward-spamd spamd "$sport" "$pid"
    bench_open spamward-spamd spamd "$sport" "$pid"
  fi
  if [ "$SPAMWARD_HTTP" != hummingbird ]; then
    for i in $(seq 1 50); do http_ok "$wport" /ping && break; sleep 0.1; done
    http_ok "$wport" /ping || die "spamward's Rspamd worker not answering on $wport"
    printf 'Subject: gtube\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n' \
      | curl -sf --data-binary @- "http://127.0.0.1:$wport/checkv2" > "$WORK/spamward/gtube-worker.json" || die "GTUBE check (worker) failed"
    log "Spamward Rspamd worker on $wport, GTUBE: $(head -c 120 "$WORK/spamward/gtube-worker.json")"
    bench spamward-rspamd spamward-http "$wport" "$pid"
    bench_open spamward-rspamd spamward-http "$wport" "$pid"
  fi
  if [ "$SPAMWARD_HTTP" != worker ]; then
    bench spamward-http spamward-http "$hport" "$pid"
    bench_open spamward-http spamward-http "$hport" "$pid"
  fi
  grep -ciE 'error|fault|warn' "$WORK/spamward/serve.log" | sed 's/^/spamward_log_error_lines\t/' >> "$OUT/meta.tsv" || true
  stop_pid "$pid"
}

# --- SpamAssassin spamd -----------------------------------------------------------------------
run_sa() {
  local port pid i etc=$WORK/sa/etc bayes=$WORK/sa/bayes home=$WORK/sa/home user=debian-spamd
  port=$(free_port)
  mkdir -p "$etc" "$bayes" "$home"
  cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$etc/"
  # same offline overrides as /work/shared/peers/run_spamassassin.sh (minus its report template)
  cat > "$etc/zz_loadbench.cf" <<CF
dns_available no
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
use_bayes $PEER_TRAIN
use_bayes_rules $PEER_TRAIN
bayes_auto_learn 0
bayes_auto_expire 0
bayes_learn_to_journal 0
bayes_path $bayes/bayes
bayes_file_mode 0777
lock_method flock
CF
  export HOME=$home
  if [ "$PEER_TRAIN" = 1 ]; then
    log "SpamAssassin: sa-learn on the first half ($(wc -l < "$SPLIT/train.list") messages)"
    sa-learn --siteconfigpath="$etc" -L --spam -f "$SPLIT/train_spam.list" > "$WORK/sa/train.log" 2>&1
    sa-learn --siteconfigpath="$etc" -L --ham -f "$SPLIT/train_ham.list" >> "$WORK/sa/train.log" 2>&1
    sa-learn --siteconfigpath="$etc" -L --dump magic 2>/dev/null | grep -E 'nspam|nham' | tr -s ' ' >> "$WORK/sa/train.log" || true
  fi
  chown -R "$user" "$WORK/sa"
  echo "sa_cmd	spamd -L -x --siteconfigpath=$etc -u $user --listen=127.0.0.1:$port --max-children=$SA_CHILDREN --min-children=$SA_CHILDREN --min-spare=1 --max-spare=$SA_CHILDREN" >> "$OUT/meta.tsv"
  echo "sa_version	$(spamassassin -V | head -1)" >> "$OUT/meta.tsv"
  "${N[@]}" spamd -L -x --siteconfigpath="$etc" -u "$user" --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 \
    --max-children="$SA_CHILDREN" --min-children="$SA_CHILDREN" --min-spare=1 --max-spare="$SA_CHILDREN" \
    --helper-home-dir="$home" --syslog=stderr --timeout-child=600 > "$WORK/sa/spamd.log" 2>&1 &
  pid=$!; STARTED+=("$pid")
  for i in $(seq 1 240); do
    spamc -d 127.0.0.1 -p "$port" -K > /dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/sa/spamd.log" >&2; die "spamd exited"; }
    sleep 0.5
  done
  spamc -d 127.0.0.1 -p "$port" -K > /dev/null 2>&1 || die "spamd not answering"
  for i in $(seq 1 "$SA_CHILDREN"); do spamc -c -d 127.0.0.1 -p "$port" < "$(sed -n "${i}p" "$SPLIT/train.list")" > /dev/null || true; done
  log "spamd pid $pid on $port, $SA_CHILDREN children"
  bench sa-spamd spamd "$port" "$pid"
  stop_pid "$pid"
}

# --- Rspamd (+ redis for Bayes) ---------------------------------------------------------------
run_rspamd() {
  local nport cport rport pid rpid i m d=$WORK/rspamd
  nport=$(free_port); cport=$(free_port); rport=$(free_port)
  local conf=$d/conf
  mkdir -p "$conf/local.d" "$d/db" "$d/run" "$d/log" "$d/redis"
  # same private config as /work/shared/peers/run_rspamd.sh
  cat > "$conf/rspamd.conf" <<CF
.include "\$CONFDIR/common.conf"
options {
    pidfile = "\$RUNDIR/rspamd.pid";
    .include "\$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
    type = "file";
    filename = "\$LOGDIR/rspamd.log";
    .include "\$CONFDIR/logging.inc"
    .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/logging.inc"
}
worker "normal" {
    bind_socket = "127.0.0.1:$nport";
    .include "\$CONFDIR/worker-normal.inc"
    count = $RSPAMD_WORKERS;
}
worker "controller" {
    bind_socket = "127.0.0.1:$cport";
    .include "\$CONFDIR/worker-controller.inc"
}
CF
  cat > "$conf/local.d/options.inc" <<CF
dns {
  nameserver = ["127.0.0.1:53"];
  timeout = 0.2s;
  retransmits = 0;
}
CF
  echo 'level = "notice";' > "$conf/local.d/logging.inc"
  cat > "$conf/local.d/classifier-bayes.conf" <<CF
backend = "redis";
servers = "127.0.0.1:$rport";
min_learns = 200;
autolearn = false;
CF
  printf 'phishtank_enabled = false;\nopenphish_enabled = false;\n' > "$conf/local.d/phishing.conf"
  printf 'symbols {\n  "DATE_IN_PAST" { weight = 0.0; }\n}\n' > "$conf/local.d/headers_group.conf"
  for m in rbl surbl emails fuzzy_check dkim spf dmarc arc asn mx_check hfilter rspamd_update \
           url_redirector dkim_signing bimi p0f dcc antivirus external_services metadata_exporter \
           clickhouse elastic metric_exporter history_redis greylist ratelimit neural reputation \
           replies spamtrap; do
    echo "enabled = false;" > "$conf/local.d/$m.conf"
  done
  chown -R _rspamd:_rspamd "$d/db" "$d/run" "$d/log"
  chown redis:redis "$d/redis"
  local vars=(--var="LOCAL_CONFDIR=$conf" --var="DBDIR=$d/db" --var="RUNDIR=$d/run" --var="LOGDIR=$d/log")
  rspamadm "${vars[@]}" configtest -c "$conf/rspamd.conf" > "$d/configtest.txt" 2>&1 || { cat "$d/configtest.txt" >&2; die "rspamadm configtest failed"; }
  echo "rspamd_version	$(rspamd --version | head -1); redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" >> "$OUT/meta.tsv"
  echo "rspamd_cmd	rspamd -f -u _rspamd -g _rspamd -c $conf/rspamd.conf ${vars[*]} (normal workers: $RSPAMD_WORKERS)" >> "$OUT/meta.tsv"

  "${N[@]}" setpriv --reuid=redis --regid=redis --init-groups redis-server --bind 127.0.0.1 --port "$rport" \
    --save "" --appendonly no --dir "$d/redis" --daemonize no --protected-mode yes --loglevel warning \
    > "$d/redis.log" 2>&1 &
  rpid=$!; STARTED+=("$rpid")
  for i in $(seq 1 100); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  redis-cli -p "$rport" ping | grep -q PONG || die "redis not answering"

  "${N[@]}" rspamd -f -u _rspamd -g _rspamd -c "$conf/rspamd.conf" "${vars[@]}" > "$d/rspamd.out" 2>&1 &
  pid=$!; STARTED+=("$pid")
  for i in $(seq 1 600); do
    http_ok "$cport" /ping && http_ok "$nport" /ping && break
    kill -0 "$pid" 2>/dev/null || { tail -30 "$d/log/rspamd.log" >&2; die "rspamd exited"; }
    sleep 0.2
  done
  http_ok "$nport" /ping || die "rspamd not answering"
  if [ "$PEER_TRAIN" = 1 ]; then
    log "Rspamd: learning the first half through the controller"
    "$PY" "$PEERS_DIR/rspamd_client.py" learn "127.0.0.1:$cport" 2 \
      "$SPLIT/train_spam.list" "$SPLIT/train_ham.list" "$d/learn_results.tsv"
    cut -f1,3 "$d/learn_results.tsv" | sort | uniq -c | sort -rn | head -5 > "$d/learn_summary.txt"
    log "Rspamd learned: $(tr '\n' ';' < "$d/learn_summary.txt")"
  fi
  sleep 2
  head -5 "$SPLIT/train.list" | while read -r f; do
    curl -sf --data-binary "@$f" "http://127.0.0.1:$nport/checkv2" > /dev/null || true
  done
  log "rspamd pid $pid (normal $nport, controller $cport), redis pid $rpid ($rport)"
  bench rspamd-http rspamd-http "$nport" "$pid" "$rpid"
  stop_pid "$pid"
  stop_pid "$rpid"
}

for t in $TARGETS; do
  case $t in
    spamward) run_spamward ;;
    sa) run_sa ;;
    rspamd) run_rspamd ;;
    *) die "unknown target $t" ;;
  esac
done
stop_all

"$PY" "$HERE/report.py" "$OUT" > "$OUT/results.md"
cat "$OUT/results.md"
