#!/usr/bin/env python3
"""Closed-loop load generator for spam-filter daemons over loopback (Python 3 stdlib only).

usage:
  loadbench.py --protocol spamd|rspamd-http|spamward-http --target HOST:PORT
               --corpus DIR [--part test|train|all] [--concurrency 50] [--duration 20]
               [--warmup 3] [--timeout 60] [--pid PID ...] [--procs 1] [--json] [--label NAME]

Keeps exactly --concurrency requests in flight for --warmup + --duration seconds (closed loop:
every connection sends its next message as soon as the previous reply is complete).

  spamd          one TCP connection per request, as spamc does: connect, send
                 "CHECK SPAMC/1.5\\r\\nContent-length: N\\r\\n\\r\\n<message>", half-close, read
                 the reply to EOF. Well-formed = "SPAMD/1.x 0 EX_OK" status line plus a
                 "Spam: True|False ; S / T" header.
  rspamd-http,   HTTP/1.1 keep-alive connections, one request in flight on each:
  spamward-http  "POST /checkv2" with the raw message as the body. Well-formed = status 200 and
                 a JSON object with a numeric "score" and a string "action". If the server
                 closes the connection (Connection: close or EOF), the client reconnects and
                 counts the reconnect. (The two HTTP protocol names send the same request;
                 the name only labels the target.)

Messages come from DIR/index (lines "spam PATH" / "ham PATH"); --part test (default) is the
second half of the index, the part no model was trained on in run.sh. Every connection takes the
next message from one shared cursor, so all targets see the same sequence; the set is cycled.

Counted: requests that *complete* inside the measurement window (after warm-up). Errors
(refused/reset connections, malformed replies, non-200 statuses) and timeouts are counted
separately and never as successes; latency percentiles are over successes only.
Throughput = successes / window length.

Server memory: with --pid, the summed VmRSS of each PID and all its descendants (from /proc)
is sampled every 100 ms during the window (peak, first and last sample), and the summed PSS
(shared pages counted once) every 500 ms. Server CPU seconds (utime+stime of the tree, plus
reaped children) over the window are also reported, next to the client's own CPU seconds, so
that a client-bound run is visible: the run is flagged "client_bound" when the client used more
than 80% of one core or more CPU than the server.

--procs P runs P client processes (each with concurrency/P connections, sharing nothing but the
start time) and merges their results; use it when one Python process is the bottleneck.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SPAM_HEADER = re.compile(rb"^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[0-9.]+)\s*/\s*(-?[0-9.]+)\s*$",
                         re.IGNORECASE | re.MULTILINE)
SPAMD_STATUS = re.compile(rb"^SPAMD/\d+\.\d+ 0 EX_OK\r?$")


# ---------------------------------------------------------------------------------------------
# corpus

def load_corpus(corpus, part):
    with open(os.path.join(corpus, "index"), encoding="utf-8") as f:
        rows = [l.split(None, 1) for l in f if l.strip()]
    half = len(rows) // 2
    if part == "train":
        rows = rows[:half]
    elif part == "test":
        rows = rows[half:]
    msgs = []
    for label, rel in rows:
        with open(os.path.join(corpus, rel.strip()), "rb") as f:
            msgs.append((label, f.read()))
    if not msgs:
        sys.exit("no messages in %s (%s)" % (corpus, part))
    return msgs


def build_requests(protocol, host, msgs):
    reqs = []
    for label, body in msgs:
        if protocol == "spamd":
            head = b"CHECK SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(body)
        else:
            head = (b"POST /checkv2 HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                    b"Connection: keep-alive\r\n\r\n" % (host.encode(), len(body)))
        reqs.append((label, head + body))
    return reqs


# ---------------------------------------------------------------------------------------------
# /proc sampling of the server tree

def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                s = f.read()
            ppid = int(s[s.rfind(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(roots):
    kids = children_map()
    seen, todo = [], list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """utime+stime of one process (its own threads, not reaped children), seconds."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
        v = s[s.rfind(b")") + 2:].split()
        return (int(v[11]) + int(v[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None  # exited meanwhile


def machine_cpu_s():
    """Busy CPU seconds of the whole machine (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # minus idle and iowait


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class TreeSampler:
    """Peak summed RSS/PSS and CPU of process trees. CPU = for every process seen in the tree
    during the window, its last seen utime+stime minus its value at the window start (0 for a
    process born during the window); up to 100 ms of a process that exits is missed. Reaped
    children's cutime is deliberately not used: it would add CPU spent before the window (e.g.
    a spamd child recycled after 200 connections)."""

    def __init__(self, roots):
        self.roots = roots
        self.peak_rss = self.peak_pss = 0
        self.first_rss = self.last_rss = None
        self.samples = 0
        self.cpu = {}
        self.cpu_start = {}
        self.pids = []
        self.timeline = []  # summed RSS in MB, one value a second

    def sample(self, with_pss):
        self.pids = tree(self.roots)
        total = sum(rss_kb(p) for p in self.pids)
        if self.first_rss is None:
            self.first_rss = total
        self.last_rss = total
        self.peak_rss = max(self.peak_rss, total)
        if self.samples % 10 == 0:
            self.timeline.append(round(total / 1024, 1))
        if with_pss:
            self.peak_pss = max(self.peak_pss, sum(pss_kb(p) for p in self.pids))
        for p in self.pids:
            c = cpu_s(p)
            if c is not None:  # keep the last value seen of a process that has exited
                self.cpu[p] = c
        self.samples += 1

    def start_cpu(self):
        self.pids = tree(self.roots)
        self.cpu_start = {p: c for p in self.pids for c in [cpu_s(p)] if c is not None}
        self.cpu = dict(self.cpu_start)
        self.cpu_t0 = time.time()

    def cpu_used(self):
        return sum(v - self.cpu_start.get(p, 0.0) for p, v in self.cpu.items())


    def alive(self):
        return any(os.path.exists("/proc/%d" % r) for r in self.roots)


# ---------------------------------------------------------------------------------------------
# protocol clients

class BadReply(Exception):
    pass


def parse_spamd(data):
    if not data:
        raise BadReply("empty reply (connection closed)")
    line, _, rest = data.partition(b"\n")
    if not SPAMD_STATUS.match(line):
        raise BadReply("status: %r" % line[:80])
    m = SPAM_HEADER.search(rest)
    if not m:
        raise BadReply("no Spam header: %r" % data[:160])
    return m.group(1).lower() in (b"true", b"yes")


async def spamd_request(host, port, req, stats):
    reader, writer = await asyncio.open_connection(host, port)
    stats["connects"] += 1
    try:
        writer.write(req)
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
        data = await reader.read()  # to EOF
    finally:
        writer.close()
    return parse_spamd(data)


class HTTPConn:
    def __init__(self, host, port, stats):
        self.host, self.port, self.stats = host, port, stats
        self.reader = self.writer = None

    async def ensure(self):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.stats["connects"] += 1

    def close(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:  # noqa: BLE001
                pass
        self.reader = self.writer = None

    async def request(self, req):
        fresh = self.writer is None
        await self.ensure()
        try:
            self.writer.write(req)
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            self.close()
            if fresh:
                raise
            # the server closed an idle keep-alive connection: retry once on a new one
            self.stats["reconnects"] += 1
            await self.ensure()
            self.writer.write(req)
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise BadReply("status line %r" % lines[0][:80])
        status = int(parts[1])
        hdr = {}
        for l in lines[1:]:
            k, sep, v = l.partition(b":")
            if sep:
                hdr[k.strip().lower()] = v.strip()
        if b"content-length" in hdr:
            body = await self.reader.readexactly(int(hdr[b"content-length"]))
        elif hdr.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await self.reader.read()
            self.close()
        if hdr.get(b"connection", b"").lower() == b"close" or parts[0] == b"HTTP/1.0":
            self.close()
            self.stats["server_closes"] += 1
        if status != 200:
            raise BadReply("HTTP %d: %r" % (status, body[:120]))
        try:
            j = json.loads(body)
        except ValueError:
            raise BadReply("body is not JSON: %r" % body[:120])
        if not isinstance(j, dict) or not isinstance(j.get("score"), (int, float)) \
                or not isinstance(j.get("action"), str):
            raise BadReply("JSON without score/action: %r" % body[:160])
        return j["action"] in ("reject", "add header", "rewrite subject", "soft reject")


# ---------------------------------------------------------------------------------------------
# the load loop (one process)

async def run_load(a, reqs, t_start):
    host, port = a.target.rsplit(":", 1)
    port = int(port)
    t_meas = t_start + a.warmup
    t_end = t_meas + a.duration
    lat = []
    stats = {"connects": 0, "reconnects": 0, "server_closes": 0, "errors": 0, "timeouts": 0,
             "warmup_ok": 0, "warmup_err": 0, "spam": 0, "ham_verdicts": 0, "late": 0}
    err_kinds = {}
    cursor = [a.offset]
    n = len(reqs)
    loop = asyncio.get_running_loop()

    async def worker():
        conn = HTTPConn(host, port, stats) if a.protocol != "spamd" else None
        while True:
            now = loop.time()
            if now >= t_end:
                break
            i = cursor[0]
            cursor[0] = i + a.stride
            _, req = reqs[i % n]
            t0 = loop.time()
            kind = None
            try:
                if conn is None:
                    spam = await asyncio.wait_for(spamd_request(host, port, req, stats), a.timeout)
                else:
                    spam = await asyncio.wait_for(conn.request(req), a.timeout)
            except asyncio.TimeoutError:
                kind = "timeout"
                if conn is not None:
                    conn.close()
            except BadReply as e:
                kind = "bad reply: " + str(e)[:100]
                if conn is not None:
                    conn.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
                kind = "%s: %s" % (type(e).__name__, str(e)[:80])
                if conn is not None:
                    conn.close()
            t1 = loop.time()
            if t1 < t_meas:
                stats["warmup_ok" if kind is None else "warmup_err"] += 1
            elif t1 > t_end:
                stats["late"] += 1  # completed after the window: not counted
            elif kind is None:
                lat.append(t1 - t0)
                stats["spam" if spam else "ham_verdicts"] += 1
            elif kind == "timeout":
                stats["timeouts"] += 1
                err_kinds[kind] = err_kinds.get(kind, 0) + 1
            else:
                stats["errors"] += 1
                k = re.sub(r"\d+", "N", kind)[:90]
                err_kinds[k] = err_kinds.get(k, 0) + 1
            if kind is not None:
                await asyncio.sleep(0.01)  # no tight error loop against a refusing server
        if conn is not None:
            conn.close()

    delay = t_start - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    # convert wall-clock window to loop clock
    off = loop.time() - time.time()
    t_meas += off
    t_end += off
    ru0 = None

    ru1 = None

    async def mark_cpu():
        # client CPU over exactly the measurement window [t_meas, t_end]
        nonlocal ru0, ru1
        await asyncio.sleep(max(0.0, t_meas - loop.time()))
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.sleep(max(0.0, t_end - loop.time()))
        ru1 = resource.getrusage(resource.RUSAGE_SELF)

    marker = asyncio.ensure_future(mark_cpu())
    await asyncio.gather(*(worker() for _ in range(a.concurrency)))
    await marker
    client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return {"lat": lat, "stats": stats, "err_kinds": err_kinds, "client_cpu_s": client_cpu}


# ---------------------------------------------------------------------------------------------
# parent: sampling, child processes, merging, report

async def sample_loop(sampler, a, t_start, stop, machine):
    t_meas = t_start + a.warmup
    await asyncio.sleep(max(0.0, t_meas - time.time()))
    machine["cpu0"], machine["load0"] = machine_cpu_s(), loadavg()
    if sampler is None:
        try:
            await asyncio.wait_for(stop.wait(), a.duration)
        except asyncio.TimeoutError:
            pass
        machine["cpu1"], machine["load1"] = machine_cpu_s(), loadavg()
        return
    sampler.start_cpu()
    t_end = t_meas + a.duration
    k = 0
    # CPU and memory over exactly the measurement window [t_meas, t_end]
    while not stop.is_set() and time.time() < t_end:
        sampler.sample(with_pss=(k % 5 == 0))
        k += 1
        try:
            await asyncio.wait_for(stop.wait(), min(0.1, max(0.0, t_end - time.time())))
        except asyncio.TimeoutError:
            pass
    machine["cpu1"], machine["load1"] = machine_cpu_s(), loadavg()
    sampler.sample(with_pss=True)


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    i = max(0, min(len(sorted_vals) - 1, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--protocol", required=True, choices=["spamd", "rspamd-http", "spamward-http"])
    p.add_argument("--target", required=True, help="HOST:PORT")
    p.add_argument("--corpus", required=True)
    p.add_argument("--part", default="test", choices=["test", "train", "all"])
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    p.add_argument("--pid", type=int, action="append", default=[],
                   help="server root PID (repeatable); its process tree is sampled")
    p.add_argument("--procs", type=int, default=1, help="client processes")
    p.add_argument("--client", default="python", choices=["python", "swift"],
                   help="who generates the load: this script's asyncio loop, or spamward-loadgen "
                        "(same closed loop on one thread per process, an epoll loop; see --loadgen)")
    p.add_argument("--loadgen", default=None,
                   help="path of spamward-loadgen (--client swift; default: next to $SPAMWARD_BIN, "
                        "else .build-bench/release/spamward-loadgen)")
    p.add_argument("--rate", type=float, default=None,
                   help="open loop (--client swift only): requests arrive at this many per second "
                        "(Poisson, fixed seed) and wait for one of --concurrency connections; "
                        "latency counts from arrival")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--label", default="")
    # internal (child processes)
    p.add_argument("--child-start", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--stride", type=int, default=1, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def child_main(a):
    msgs = load_corpus(a.corpus, a.part)
    reqs = build_requests(a.protocol, a.target.rsplit(":", 1)[0], msgs)
    res = asyncio.run(run_load(a, reqs, a.child_start))
    json.dump(res, sys.stdout)


def main():
    a = parse_args()
    if a.child_start is not None:
        return child_main(a)
    if a.concurrency < 1 or a.procs < 1 or a.procs > a.concurrency:
        sys.exit("need 1 <= procs <= concurrency")
    if a.rate is not None and (a.client != "swift" or a.rate <= 0):
        sys.exit("--rate needs --client swift and a positive rate")
    msgs = load_corpus(a.corpus, a.part)
    reqs = build_requests(a.protocol, a.target.rsplit(":", 1)[0], msgs)
    n_spam = sum(1 for l, _ in msgs if l == "spam")
    avg_bytes = sum(len(b) for _, b in msgs) / len(msgs)
    sampler = TreeSampler(a.pid) if a.pid else None
    for p in a.pid:
        if not os.path.exists("/proc/%d" % p):
            sys.exit("--pid %d: no such process" % p)

    children = []
    t_start = time.time() + (1.5 if a.procs > 1 or a.client == "swift" else 0.2)
    if a.client == "swift":
        exe = a.loadgen or os.environ.get("SPAMWARD_LOADGEN") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", ".build-bench", "release", "spamward-loadgen")
        if not os.access(exe, os.X_OK):
            sys.exit("--client swift: %s is not executable (swift build -c release --product spamward-loadgen)" % exe)
        for k in range(a.procs):
            conc = a.concurrency // a.procs + (1 if k < a.concurrency % a.procs else 0)
            cmd = [exe, "--protocol", a.protocol, "--target", a.target,
                   "--corpus", a.corpus, "--part", a.part, "--concurrency", str(conc),
                   "--duration", str(a.duration), "--warmup", str(a.warmup),
                   "--timeout", str(a.timeout), "--start", repr(t_start),
                   "--offset", str(k), "--stride", str(a.procs)]
            if a.rate is not None:
                cmd += ["--rate", repr(a.rate / a.procs)]
            children.append(subprocess.Popen(cmd, stdout=subprocess.PIPE))
    elif a.procs > 1:
        me = os.path.abspath(__file__)
        for k in range(a.procs):
            conc = a.concurrency // a.procs + (1 if k < a.concurrency % a.procs else 0)
            cmd = [sys.executable, me, "--protocol", a.protocol, "--target", a.target,
                   "--corpus", a.corpus, "--part", a.part, "--concurrency", str(conc),
                   "--duration", str(a.duration), "--warmup", str(a.warmup),
                   "--timeout", str(a.timeout), "--child-start", repr(t_start),
                   "--offset", str(k), "--stride", str(a.procs)]
            children.append(subprocess.Popen(cmd, stdout=subprocess.PIPE))

    async def parent():
        stop = asyncio.Event()
        samp = asyncio.ensure_future(sample_loop(sampler, a, t_start, stop, machine))
        if children:
            loop = asyncio.get_running_loop()
            outs = await asyncio.gather(*(loop.run_in_executor(None, c.communicate) for c in children))
            results = [json.loads(o[0]) for o in outs]
        else:
            results = [await run_load(a, reqs, t_start)]
        stop.set()
        await samp
        return results

    machine = {}
    results = asyncio.run(parent())
    lat = sorted(x for r in results for x in r["lat"])
    stats = {}
    err_kinds = {}
    for r in results:
        for k, v in r["stats"].items():
            stats[k] = stats.get(k, 0) + v
        for k, v in r["err_kinds"].items():
            err_kinds[k] = err_kinds.get(k, 0) + v
    client_cpu = sum(r["client_cpu_s"] for r in results)
    ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
    out = {
        "label": a.label, "protocol": a.protocol, "target": a.target,
        "concurrency": a.concurrency, "client_procs": a.procs, "client": a.client,
        "loop": "open" if a.rate is not None else "closed", "offered_per_s": a.rate,
        "queued_at_end": stats.get("queued_at_end", 0),
        "duration_s": a.duration, "warmup_s": a.warmup,
        "corpus": os.path.abspath(a.corpus), "part": a.part, "messages": len(msgs),
        "messages_spam": n_spam, "avg_message_bytes": round(avg_bytes),
        "ok": len(lat), "errors": stats["errors"], "timeouts": stats["timeouts"],
        "msgs_per_s": round(len(lat) / a.duration, 2),
        "p50_ms": ms(pct(lat, 0.50)), "p90_ms": ms(pct(lat, 0.90)),
        "p99_ms": ms(pct(lat, 0.99)), "max_ms": ms(lat[-1] if lat else None),
        "mean_ms": ms(sum(lat) / len(lat) if lat else None),
        "verdict_spam": stats["spam"], "verdict_not_spam": stats["ham_verdicts"],
        "connects": stats["connects"], "reconnects": stats["reconnects"],
        "server_closes": stats["server_closes"], "late_not_counted": stats["late"],
        "warmup_ok": stats["warmup_ok"], "warmup_errors": stats["warmup_err"],
        "error_kinds": err_kinds,
        "client_cpu_s": round(client_cpu, 2),
        # CPU per successful message in the window (the daemon's: server_ms_per_msg)
        "client_ms_per_msg": round(1000 * client_cpu / len(lat), 4) if lat else None,
        "machine_cpu_s": round(machine["cpu1"] - machine["cpu0"], 2),
        "loadavg_start": machine["load0"], "loadavg_end": machine["load1"],
    }
    if sampler:
        out.update({
            "server_pids": a.pid, "server_tree_procs": len(sampler.pids),
            "server_peak_rss_mb": round(sampler.peak_rss / 1024, 1),
            "server_peak_pss_mb": round(sampler.peak_pss / 1024, 1),
            "server_rss_first_mb": round((sampler.first_rss or 0) / 1024, 1),
            "server_rss_last_mb": round((sampler.last_rss or 0) / 1024, 1),
            "server_cpu_s": round(sampler.cpu_used(), 2),
            "rss_samples": sampler.samples,
            "server_rss_timeline_mb": sampler.timeline,
        })
        # busy CPU seconds of everything else on the machine during the window (noise)
        out["server_ms_per_msg"] = round(1000 * out["server_cpu_s"] / len(lat), 4) if lat else None
        out["other_cpu_s"] = round(out["machine_cpu_s"] - out["server_cpu_s"] - client_cpu, 2)
        out["client_bound"] = bool(client_cpu > 0.8 * a.duration * a.procs
                                   or client_cpu > out["server_cpu_s"])
    else:
        out["other_cpu_s"] = round(out["machine_cpu_s"] - client_cpu, 2)
        out["client_bound"] = bool(client_cpu > 0.8 * a.duration * a.procs)
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print("%-22s %s" % (k, v))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
