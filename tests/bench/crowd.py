#!/usr/bin/env python3
"""Thousands of TLS connections from one process, for the benchmarks that
need more than hey can hold (stdlib only).  One event loop (epoll) drives
one generator per connection; a generator yields what it waits for.

    crowd.py client --connect HOST:PORT --cafile F --host H --path P
        -n N [--token T] [--src ADDR] [--sse] [--inflight K]
        opens N connections to HOST:PORT (with --token, a proxy: CONNECT
        H:443 with credentials first), TLS to H, K openings at a time.
        Without --sse each sends one POST and reads the answer; with it,
        each sends a streamed POST and reads events for as long as it is
        open.  Prints "ready OPEN SECONDS FAILED", then reads commands:
          run SECONDS RATE   requests: each connection sends RATE a second
                             (phases spread), answers timed; events: each
                             event's send-to-arrival time; prints one JSON
                             line {"ok", "errors", "p50", "p99", "max"}
                             (microseconds)
          end of input       closes them all and exits
    crowd.py sse-hub --port P --cert C --key K [--interval-ms MS]
        a TLS bridge answering any request with an endless SSE stream, an
        event every MS per connection (phases spread), each carrying
        time.monotonic_ns() taken just before it is sent

Everything runs on one machine, so the monotonic clocks agree.
"""
import argparse
import base64
import heapq
import json
import os
import random
import re
import selectors
import socket
import ssl
import sys
import time

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
BODY = ('{"model":"claude-bench","max_tokens":16,'
        '"messages":[{"role":"user","content":"hello"}]}')
R, W = "r", "w"


class Loop:
    """Generators yield (R, sock), (W, sock), ("at", when) or ("park",);
    send() starts one, park() hands parked ones back to the caller."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.seq = 0
        self.parked = []
        self.live = 0
        self.on_done = None	# called with (gen, exception or None)
        self.on_park = None

    def send(self, gen):
        try:
            op = next(gen)
        except StopIteration:
            self.live -= 1
            self.on_done(gen, None)
            return
        except (OSError, ssl.SSLError, ConnectionError, ValueError) as e:
            self.live -= 1
            self.on_done(gen, e)
            return
        if op[0] in (R, W):
            ev = selectors.EVENT_READ if op[0] == R else \
                selectors.EVENT_WRITE
            self.sel.register(op[1], ev, gen)
        elif op[0] == "at":
            self.seq += 1
            heapq.heappush(self.timers, (op[1], self.seq, gen))
        else:
            self.parked.append(gen)
            if self.on_park:
                self.on_park(gen)

    def start(self, gen):
        self.live += 1
        self.send(gen)

    def watch(self, f, fn):
        self.sel.register(f, selectors.EVENT_READ, fn)

    def run_once(self, timeout=None):
        now = time.monotonic()
        if self.timers:
            wait = max(0.0, self.timers[0][0] - now)
            timeout = wait if timeout is None else min(timeout, wait)
        for key, _ in self.sel.select(timeout):
            if callable(key.data) and not hasattr(key.data, "send"):
                key.data()
                continue
            self.sel.unregister(key.fileobj)
            self.send(key.data)
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, gen = heapq.heappop(self.timers)
            self.send(gen)


def tls_io(fn, sock, *a):
    """Calls fn until it neither wants to read nor write."""
    while True:
        try:
            return fn(*a)
        except ssl.SSLWantReadError:
            yield (R, sock)
        except ssl.SSLWantWriteError:
            yield (W, sock)


def send_all(sock, data):
    view = memoryview(data)
    while view:
        n = yield from tls_io(sock.send, sock, view)
        view = view[n:]


def recv_some(sock):
    data = yield from tls_io(sock.recv, sock, 65536)
    if not data:
        raise ConnectionError("closed")
    return data


def raw_connect(addr, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if src:
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((src, 0))
    err = s.connect_ex(addr)
    if err not in (0, 115):	# EINPROGRESS
        s.close()
        raise OSError(err, os.strerror(err))
    return s


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        buf += yield from recv_some(sock)
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def read_answer(sock, buf):
    """One answer with a Content-Length or chunked body; what follows."""
    head, rest = yield from read_head(sock, buf)
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError("answer %r" % head.split(b"\r\n", 1)[0])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if m:
        need = int(m.group(1))
        while len(rest) < need:
            rest += yield from recv_some(sock)
        return rest[need:]
    while b"0\r\n\r\n" not in rest:	# small bodies: one chunk, then 0
        rest += yield from recv_some(sock)
    return rest.split(b"0\r\n\r\n", 1)[1]


class Client:
    def __init__(self, args):
        self.a = args
        host, port = args.connect.rsplit(":", 1)
        self.addr = (host, int(port))
        self.ctx = ssl.create_default_context(cafile=args.cafile)
        self.loop = Loop()
        self.socks = []
        self.pending = args.n
        self.opened = self.failed = 0
        self.window = (0.0, 0.0)	# when latencies count
        self.lat = []
        self.errors = 0
        self.period = None
        self.last_error = ""

    def request(self, stream):
        a = self.a
        body = BODY if not stream else BODY.replace(
            '"max_tokens":16', '"max_tokens":16,"stream":true')
        return ("POST %s HTTP/1.1\r\nHost: %s\r\n"
                "Content-Type: application/json\r\n%s"
                "Content-Length: %d\r\n\r\n%s" % (
                    a.path, a.host, "Accept: text/event-stream\r\n"
                    if stream else "", len(body), body)).encode()

    def open(self):
        """CONNECT (through a proxy), TLS, the first request."""
        a = self.a
        raw = raw_connect(self.addr, a.src)
        self.socks.append(raw)
        yield (W, raw)
        err = raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        if a.token is not None:
            cred = base64.b64encode(("coder:" + a.token).encode())
            raw.sendall(b"CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n"
                        b"Proxy-Authorization: Basic %s\r\n\r\n" % (
                            a.host.encode(), a.host.encode(), cred))
            buf = b""
            while b"\r\n\r\n" not in buf:
                yield (R, raw)
                more = raw.recv(4096)
                if not more:
                    raise ConnectionError("closed after CONNECT")
                buf += more
            if not re.match(rb"HTTP/1\.[01] 200", buf):
                raise ConnectionError("CONNECT %r" % buf.split(b"\r\n")[0])
        s = self.ctx.wrap_socket(raw, server_hostname=a.host,
                                 do_handshake_on_connect=False)
        self.socks[-1] = s
        yield from tls_io(s.do_handshake, s)
        return s

    def conn(self):
        s = yield from self.open()
        if self.a.sse:
            yield from send_all(s, self.request(True))
            head, rest = yield from read_head(s, b"")
            if not head.startswith(b"HTTP/1.1 200"):
                raise ConnectionError("answer %r" % head.split(b"\r\n")[0])
            yield ("park",)
            yield from self.events(s, rest)
            return
        req = self.request(False)
        yield from send_all(s, req)
        buf = yield from read_answer(s, b"")
        while True:
            yield ("park",)
            buf = yield from self.requests(s, req, buf)

    def events(self, s, text):
        now = time.monotonic_ns()
        while True:
            while b"\n\n" not in text:
                text += yield from recv_some(s)
                now = time.monotonic_ns()
            ev, text = text.split(b"\n\n", 1)
            m = re.search(rb'"t":(\d+)', ev)
            t0, t1 = self.window
            if m and t0 <= time.monotonic() < t1:
                self.lat.append((now - int(m.group(1))) / 1000.0)

    def requests(self, s, req, buf):
        t0, t1 = self.window
        when = t0 + random.uniform(0, self.period)
        while when < t1:
            yield ("at", when)
            start = time.monotonic()
            try:
                yield from send_all(s, req)
                buf = yield from read_answer(s, buf)
            except (OSError, ConnectionError, ssl.SSLError):
                self.errors += 1
                raise
            self.lat.append((time.monotonic() - start) * 1e6)
            when = max(when + self.period, time.monotonic())
        return buf

    def done(self, gen, exc):
        if exc is not None:
            self.last_error = str(exc)
            if gen in self.opening:
                self.failed += 1
        self.next_open(gen)

    def parked(self, gen):
        if gen in self.opening:
            self.opened += 1
            self.next_open(gen)
        if self.a.sse:		# streams are read from the start
            self.loop.parked.remove(gen)
            self.loop.send(gen)

    def next_open(self, gen):
        self.opening.discard(gen)
        if self.pending > 0:
            self.pending -= 1
            g = self.conn()
            self.opening.add(g)
            self.loop.start(g)

    def main(self):
        self.opening = set()
        self.loop.on_done, self.loop.on_park = self.done, self.parked
        t0 = time.monotonic()
        for _ in range(min(self.a.inflight, self.a.n)):
            self.next_open(None)
        while self.opening:
            self.loop.run_once()
        print("ready %d %.3f %d" % (self.opened, time.monotonic() - t0,
                                    self.failed), flush=True)
        if self.failed:
            print("last error: " + self.last_error, file=sys.stderr,
                  flush=True)
        self.loop.watch(sys.stdin, self.command)
        self.stop = False
        while not self.stop:
            self.loop.run_once()
        for s in self.socks:
            s.close()

    def command(self):
        line = sys.stdin.readline().split()
        if not line:
            self.stop = True
            return
        secs, rate = float(line[1]), float(line[2])
        now = time.monotonic()
        self.window = (now, now + secs)
        self.lat, self.errors = [], 0
        if not self.a.sse:
            self.period = 1.0 / rate
            parked, self.loop.parked = self.loop.parked, []
            for g in parked:
                self.loop.send(g)
        while time.monotonic() < self.window[1] or (
                not self.a.sse and self.loop.live > len(self.loop.parked)):
            self.loop.run_once(0.05)
        lat = sorted(self.lat)

        def q(p):
            return lat[min(len(lat) - 1, int(p * (len(lat) - 1)))] \
                if lat else 0.0
        print(json.dumps({"ok": len(lat), "errors": self.errors,
                          "p50": q(0.5), "p99": q(0.99), "max": q(1.0)}),
              flush=True)


# sse-hub ------------------------------------------------------------------

def sse_event(pad):
    data = json.dumps({"type": "content_block_delta", "index": 0,
                       "t": time.monotonic_ns(),
                       "delta": {"type": "text_delta", "text": pad}},
                      separators=(",", ":"))
    ev = ("event: content_block_delta\ndata: %s\n\n" % data).encode()
    return b"%x\r\n%s\r\n" % (len(ev), ev)


def hub_conn(raw, ctx, period):
    s = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    try:
        yield from tls_io(s.do_handshake, s)
        head, rest = yield from read_head(s, b"")
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        need = int(m.group(1)) if m else 0
        while len(rest) < need:
            rest += yield from recv_some(s)
        yield from send_all(s, b"HTTP/1.1 200 OK\r\n"
                            b"Content-Type: text/event-stream\r\n"
                            b"Cache-Control: no-cache\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n")
        when = time.monotonic() + random.uniform(0, period)
        pad = "x" * 40
        while True:
            yield ("at", when)
            yield from send_all(s, sse_event(pad))
            when = max(when + period, time.monotonic())
    finally:
        s.close()


def cmd_sse_hub(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(4096)
    srv.setblocking(False)
    loop = Loop()
    loop.on_done = lambda g, e: None
    period = args.interval_ms / 1000.0

    def accept():
        for _ in range(64):
            try:
                raw, _ = srv.accept()
            except BlockingIOError:
                return
            raw.setblocking(False)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            loop.start(hub_conn(raw, ctx, period))
    loop.watch(srv, accept)
    print("ready", flush=True)
    while True:
        loop.run_once()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("client")
    p.add_argument("--connect", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--token")
    p.add_argument("--src")
    p.add_argument("--sse", action="store_true")
    p.add_argument("--inflight", type=int, default=64)
    p = sub.add_parser("sse-hub")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--interval-ms", type=float, default=1000.0)
    args = ap.parse_args()
    if args.cmd == "client":
        Client(args).main()
    else:
        cmd_sse_hub(args)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
