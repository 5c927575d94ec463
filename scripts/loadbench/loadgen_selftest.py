#!/usr/bin/env python3
"""Self-test of spamward-loadgen against fake servers (Python 3 standard library only).

usage: loadgen_selftest.py [LOADGEN] [-k NAME]
       (LOADGEN default: .build-bench/release/spamward-loadgen of this checkout)

Runs the binary for about a second against each of a set of fake spamd and HTTP servers on
127.0.0.1: well-formed replies (whole, drip-fed in small pieces, chunked, with Connection:
close, with a body that ends at EOF, from a server that drops every keep-alive connection
after one reply) and broken ones (bad status, missing or malformed Spam header, non-200,
JSON without a numeric top-level score or a string action, truncated bodies, empty replies,
no reply at all, a refused port). For each it checks what the load generator counts: a reply
that fails loadbench.py's success checks must be an error (or a timeout), never a success;
a good one must never be an error; spam verdicts must follow the reply. One scenario also
checks the bytes on the wire: the server records every request and they must be
loadbench.py's build_requests() output, in cursor order. Exits 1 if any scenario fails.

Run it against the old and the new binary when changing the load generator: the same
expectations hold for both, except the "over the client's limit" scenarios: replies over 2 MiB
are errors since the epoll loop (30 Nov 2026); the SwiftNIO client before it had no limit and
counted a 3 MB spamd reply with a good head as a success.
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loadbench  # noqa: E402  (load_corpus, build_requests: the reference requests)

GOOD_JSON = b'{"is_skipped":false,"score":-1.5,"required_score":15.0,"action":"no action","symbols":{"X":{"score":3.0,"name":"X"}},"messages":{}}'
SPAM_JSON = b'{"score":16.25,"required_score":15.0,"action":"reject","symbols":{}}'


# ---------------------------------------------------------------------------------------------
# fake servers: one asyncio loop in a thread; a behaviour is a coroutine per connection

class FakeServer:
    def __init__(self, handler):
        self.handler = handler
        self.requests = []  # every request received, in order (bytes)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _conn(self, reader, writer):
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    def stop(self):
        async def halt():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()
        asyncio.run_coroutine_threadsafe(halt(), self.loop)
        self.thread.join(5)


async def read_http_request(srv, reader):
    """One request (head + Content-Length body); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    body = await reader.readexactly(length)
    srv.requests.append(head + body)
    return head + body


def http_server(reply, keep_alive=True, close_after=False, drip=0, delay=0.0):
    """A keep-alive HTTP server answering every request with `reply` (bytes, or a function of
    the request count). close_after: drop the connection after each reply without saying so.
    drip: write the reply in pieces of this many bytes."""
    async def handler(srv, reader, writer):
        while True:
            req = await read_http_request(srv, reader)
            if req is None:
                return
            if delay:
                await asyncio.sleep(delay)
            data = reply(len(srv.requests)) if callable(reply) else reply
            await send(writer, data, drip)
            if not keep_alive or close_after:
                return
    return handler


async def send(writer, data, drip=0):
    """Writes a reply whole, or drip-fed in pieces of `drip` bytes."""
    if drip:
        for i in range(0, len(data), drip):
            writer.write(data[i:i + drip])
            await writer.drain()
            await asyncio.sleep(0)
    else:
        writer.write(data)
        await writer.drain()


def http_reply(body, status=b"200 OK", headers=b""):
    return b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body), headers, body)


def chunked(body, status=b"200 OK", sizes=(7, 1, 30)):
    out = b"HTTP/1.1 " + status + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    i, k = 0, 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        k += 1
        part = body[i:i + n]
        out += b"%x;ext=1\r\n%s\r\n" % (len(part), part)
        i += n
    return out + b"0\r\n\r\n"


def spamd_server(reply, drip=0):
    """A spamd server: reads the request to EOF (the client half-closes), answers, closes."""
    async def handler(srv, reader, writer):
        req = await reader.read()
        srv.requests.append(req)
        await send(writer, reply, drip)
    return handler


def silent_server():
    async def handler(srv, reader, writer):
        await reader.read()  # the request (spamd: to the client's half-close)
        await asyncio.sleep(3600)  # never answers, never closes
    return handler


def raw_server(data, after_request=True):
    """HTTP: reads one request, writes `data` (anything), closes."""
    async def handler(srv, reader, writer):
        if after_request:
            await read_http_request(srv, reader)
        writer.write(data)
        await writer.drain()
    return handler


# ---------------------------------------------------------------------------------------------
# scenarios: (name, protocol, handler or None for a refused port, checks, extra args)

def ok_only(spam=None):
    def check(r, srv):
        s = r["stats"]
        fails = []
        n_ok = s["spam"] + s["ham_verdicts"]
        if n_ok == 0:
            fails.append("no successes")
        if s["errors"] or s["timeouts"] or s["warmup_err"]:
            fails.append("errors %d timeouts %d warmup_err %d: %s" % (s["errors"], s["timeouts"], s["warmup_err"], r["err_kinds"]))
        if len(r["lat"]) != n_ok:
            fails.append("%d latencies for %d successes" % (len(r["lat"]), n_ok))
        if spam is True and s["ham_verdicts"]:
            fails.append("ham verdicts for spam replies")
        if spam is False and s["spam"]:
            fails.append("spam verdicts for ham replies")
        return fails
    return check


def errors_only(kind=None, timeouts=False):
    def check(r, srv):
        s = r["stats"]
        fails = []
        if s["spam"] or s["ham_verdicts"] or r["lat"] or s["warmup_ok"]:
            fails.append("%d successes (%d in warm-up) for bad replies" % (s["spam"] + s["ham_verdicts"], s["warmup_ok"]))
        counted = s["timeouts"] if timeouts else s["errors"]
        if counted == 0:
            fails.append("no %s counted: %s" % ("timeouts" if timeouts else "errors", s))
        if kind and not any(k.startswith(kind) for k in r["err_kinds"]):
            fails.append("error kinds %s, expected %r" % (r["err_kinds"], kind))
        return fails
    return check


def all_of(*checks):
    def check(r, srv):
        return [f for c in checks for f in c(r, srv)]
    return check


def stat_at_least(key, n):
    def check(r, srv):
        return [] if r["stats"].get(key, 0) >= n else ["stats[%s] = %s, expected >= %d" % (key, r["stats"].get(key), n)]
    return check


def min_latency(seconds):
    def check(r, srv):
        return [] if r["lat"] and min(r["lat"]) >= seconds else ["latency below the server's own delay: %s" % (min(r["lat"]) if r["lat"] else None)]
    return check


def requests_on_wire(protocol, corpus):
    """The server saw exactly loadbench.py's requests, in cursor order (concurrency 1)."""
    def check(r, srv):
        msgs = loadbench.load_corpus(corpus, "test")
        expected = [req for _, req in loadbench.build_requests(protocol, "127.0.0.1", msgs)]
        got = list(srv.requests)
        if not got:
            return ["no requests received"]
        for i, g in enumerate(got):
            if g != expected[i % len(expected)]:
                return ["request %d differs from build_requests(): %r… vs %r…" % (i, g[:80], expected[i % len(expected)][:80])]
        return []
    return check


SPAMD_TRUE = b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 12.5 / 5.0\r\n\r\n"
SPAMD_FALSE = b"SPAMD/1.5 0 EX_OK\r\nSpam: False ; -1.0 / 5.0\r\n\r\n"


def scenarios(corpus):
    h, s = "spamward-http", "spamd"
    return [
        # --- HTTP, good replies
        ("http: good reply, requests on the wire", h, http_server(http_reply(GOOD_JSON)),
         all_of(ok_only(spam=False), requests_on_wire(h, corpus)), ["--concurrency", "1"]),
        ("http: spam verdict", h, http_server(http_reply(SPAM_JSON)), ok_only(spam=True), []),
        ("http: reply drip-fed 3 bytes at a time", h, http_server(http_reply(GOOD_JSON), drip=3), ok_only(spam=False), []),
        ("http: chunked body", h, http_server(chunked(SPAM_JSON)), ok_only(spam=True), []),
        ("http: chunked body drip-fed", h, http_server(chunked(GOOD_JSON), drip=5), ok_only(spam=False), []),
        ("http: Connection: close on every reply", h,
         http_server(http_reply(GOOD_JSON, headers=b"Connection: close\r\n"), keep_alive=False),
         all_of(ok_only(spam=False), stat_at_least("server_closes", 2), stat_at_least("connects", 2)), []),
        ("http: body to EOF (no length)", h,
         http_server(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + GOOD_JSON, keep_alive=False),
         ok_only(spam=False), []),
        ("http: keep-alive dropped after each reply (retried once)", h,
         http_server(http_reply(GOOD_JSON), close_after=True),
         all_of(ok_only(spam=False), stat_at_least("reconnects", 1)), []),
        ("http: latency includes the server's time", h, http_server(http_reply(GOOD_JSON), delay=0.05),
         all_of(ok_only(spam=False), min_latency(0.05)), []),
        # --- HTTP, bad replies
        ("http: status 500", h, http_server(http_reply(GOOD_JSON, status=b"500 Internal Server Error")),
         errors_only("bad reply: HTTP 500"), []),
        ("http: JSON without score", h, http_server(http_reply(b'{"action":"no action","symbols":{}}')),
         errors_only("bad reply: JSON without score/action"), []),
        ("http: score only nested", h,
         http_server(http_reply(b'{"action":"reject","symbols":{"A":{"score":1.0}}}')),
         errors_only("bad reply: JSON without score/action"), []),
        ("http: score is a string", h, http_server(http_reply(b'{"score":"5","action":"reject"}')),
         errors_only("bad reply: JSON without score/action"), []),
        ("http: action is a number", h, http_server(http_reply(b'{"score":5,"action":1}')),
         errors_only("bad reply: JSON without score/action"), []),
        ("http: escaped quotes and backslashes in strings", h,
         http_server(http_reply(b'{"d":"say \\"score\\": 1","x":"\\\\","score":2,"action":"reject","s":{"A":{"description":"\\"}\\""}}}')),
         ok_only(spam=True), []),
        ("http: escaped closing quote", h, http_server(http_reply(b'{"score":1,"action":"no action\\"}')),
         errors_only("bad reply: body is not JSON"), []),
        ("http: body not JSON", h, http_server(http_reply(b"hello")), errors_only("bad reply: body is not JSON"), []),
        ("http: truncated JSON", h, http_server(http_reply(b'{"score":1,"action":"x"')), errors_only("bad reply: body is not JSON"), []),
        ("http: body shorter than Content-Length, then close", h,
         raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"score\":1,"), errors_only(), []),
        ("http: Content-Length over the client's limit", h,
         raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n{"), errors_only(), []),
        ("http: endless head", h, raw_server(b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"x" * 3000000), errors_only(), []),
        ("http: bad status line", h, raw_server(b"FOO 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
         errors_only("bad reply: status line"), []),
        ("http: closed without a reply", h, raw_server(b""), errors_only(), []),
        ("http: no reply (timeout)", h, silent_server(), errors_only("timeout", timeouts=True), ["--timeout", "0.3"]),
        ("http: refused port", h, None, errors_only(), []),
        # --- spamd
        ("spamd: spam reply, requests on the wire", s, spamd_server(SPAMD_TRUE),
         all_of(ok_only(spam=True), requests_on_wire(s, corpus)), ["--concurrency", "1"]),
        ("spamd: ham reply", s, spamd_server(SPAMD_FALSE), ok_only(spam=False), []),
        ("spamd: reply drip-fed 2 bytes at a time", s, spamd_server(SPAMD_TRUE, drip=2), ok_only(spam=True), []),
        ("spamd: bad status", s, spamd_server(b"SPAMD/1.5 76 Bad header line\r\n\r\n"), errors_only("bad reply: status"), []),
        ("spamd: no Spam header", s, spamd_server(b"SPAMD/1.5 0 EX_OK\r\nContent-length: 0\r\n\r\n"),
         errors_only("bad reply: no Spam header"), []),
        ("spamd: malformed Spam header", s, spamd_server(b"SPAMD/1.5 0 EX_OK\r\nSpam: Maybe ; 1.0 / 5.0\r\n\r\n"),
         errors_only("bad reply: no Spam header"), []),
        ("spamd: Spam header without threshold", s, spamd_server(b"SPAMD/1.5 0 EX_OK\r\nSpam: True ; 1.0\r\n\r\n"),
         errors_only("bad reply: no Spam header"), []),
        ("spamd: reply over the client's limit", s, spamd_server(b"SPAMD/1.5 0 EX_OK\r\nSpam: True ; 1 / 5\r\n" + b"x" * 3000000),
         errors_only(), []),
        ("spamd: empty reply", s, spamd_server(b""), errors_only("bad reply: empty reply"), []),
        ("spamd: no reply (timeout)", s, silent_server(), errors_only("timeout", timeouts=True), ["--timeout", "0.3"]),
        ("spamd: refused port", s, None, errors_only(), []),
    ]


def make_corpus(d):
    os.makedirs(os.path.join(d, "m"))
    rows = []
    for i in range(8):
        name = "m/%d.eml" % i
        body = b"From: a@example.org\r\nSubject: test %d\r\n\r\n" % i + b"line of text\r\n" * (20 + 300 * i)
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
        rows.append("%s %s" % ("spam" if i % 2 else "ham", name))
    with open(os.path.join(d, "index"), "w") as f:
        f.write("\n".join(rows) + "\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    args = sys.argv[1:]
    only = None
    if "-k" in args:
        i = args.index("-k")
        only = args[i + 1]
        del args[i:i + 2]
    exe = args[0] if args else os.path.join(HERE, "..", "..", ".build-bench", "release", "spamward-loadgen")
    if not os.access(exe, os.X_OK):
        sys.exit("not executable: %s" % exe)
    failed = 0
    with tempfile.TemporaryDirectory() as corpus:
        make_corpus(corpus)
        for name, proto, handler, check, extra in scenarios(corpus):
            if only and only not in name:
                continue
            srv = FakeServer(handler) if handler else None
            port = srv.port if srv else free_port()
            cmd = [exe, "--protocol", proto, "--target", "127.0.0.1:%d" % port, "--corpus", corpus,
                   "--concurrency", "3", "--duration", "0.8", "--warmup", "0.2", "--timeout", "5"] + extra
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            if srv:
                srv.stop()
            try:
                r = json.loads(p.stdout)
                fails = check(r, srv)
            except ValueError:
                r, fails = None, ["exit %d, no JSON: %r %r" % (p.returncode, p.stdout[:200], p.stderr[:200])]
            if p.returncode != 0:
                fails.append("exit status %d" % p.returncode)
            summary = "" if r is None else " (ok %d, errors %d, timeouts %d, connects %d)" % (
                len(r["lat"]), r["stats"]["errors"], r["stats"]["timeouts"], r["stats"]["connects"])
            print("%s  %s%s" % ("FAIL" if fails else "ok  ", name, summary))
            for f in fails:
                print("      " + f)
            failed += bool(fails)
    print("%d scenario(s) failed" % failed if failed else "all scenarios passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
