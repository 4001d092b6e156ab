#!/usr/bin/env python3
"""The small peers the benchmarks need, one subcommand each (stdlib only).

    peers.py hold --port P
        an origin that accepts connections and holds them, never answering,
        until the other side closes
    peers.py tunnels --proxy P --target HOST:PORT -n N
        [--src ADDR]
        opens N CONNECT tunnels through the proxy, 50 handshakes at a time,
        prints "ready N SECONDS" once all are established, holds them until
        stdin closes
    peers.py sse-bridge --port P --cert C --key K [-n N] [--interval-ms MS]
        a TLS bridge answering any request with N SSE events MS apart, each
        carrying time.monotonic_ns() taken just before it was sent
    peers.py sse-client --connect HOST:PORT --cafile F --host H --path P
        [--token T]
        one streamed POST to H, directly to HOST:PORT or, with --token,
        through the proxy at HOST:PORT (CONNECT H:443 with credentials);
        prints one JSON line: {"lat_us": [arrival - send, every event]}

All of them run on the same machine, so the monotonic clocks agree.
"""
import argparse
import base64
import json
import re
import selectors
import socket
import ssl
import sys
import threading
import time

READY = "ready"
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def listen(port, backlog=4096):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def read_head(sock, limit=65536):
    """Bytes up to and including the blank line, and what came after."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(4096)
        if not more:
            raise ConnectionError("closed before the end of the head")
        data += more
        if len(data) > limit:
            raise ConnectionError("head too long")
    head, rest = data.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def connect_request(host, port, token=None):
    lines = ["CONNECT %s:%d HTTP/1.1" % (host, port),
             "Host: %s:%d" % (host, port)]
    if token is not None:
        cred = base64.b64encode(("coder:" + token).encode()).decode()
        lines.append("Proxy-Authorization: Basic " + cred)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def check_established(head):
    status = head.split(b"\r\n", 1)[0]
    if not re.match(rb"HTTP/1\.[01] 200", status):
        raise ConnectionError("CONNECT refused: %r" % status)


# hold ---------------------------------------------------------------------

def cmd_hold(args):
    srv = listen(args.port)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    print(READY, flush=True)
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                try:
                    conn, _ = srv.accept()
                except BlockingIOError:
                    continue
                sel.register(conn, selectors.EVENT_READ)
                continue
            # Silent, but it closes when the other side does.
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()


# tunnels ------------------------------------------------------------------

def connect_from(src, addr):
    """A blocking connection to addr from the address src, its port
    chosen at connect(2) (IP_BIND_ADDRESS_NO_PORT, ip(7)): thousands of
    connections to one port need more source addresses than one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((src, 0))
    s.connect(addr)
    return s


def cmd_tunnels(args):
    host, port = args.target.rsplit(":", 1)
    req = connect_request(host, int(port))
    socks = []
    t0 = time.monotonic()
    # In batches, as a busy client would: a few dozen handshakes in
    # flight, never all of them at once.
    for first in range(0, args.n, args.batch):
        batch = []
        for _ in range(min(args.batch, args.n - first)):
            s = connect_from(args.src, ("127.0.0.1", args.proxy))
            s.sendall(req)
            batch.append(s)
        for s in batch:
            head, rest = read_head(s)
            check_established(head)
            if rest:
                raise ConnectionError("bytes from an idle origin")
        socks.extend(batch)
    print("%s %d %.3f" % (READY, len(socks), time.monotonic() - t0),
          flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


# sse-bridge ---------------------------------------------------------------

def sse_event(i, pad):
    data = json.dumps({"type": "content_block_delta", "index": 0,
                       "seq": i, "t": time.monotonic_ns(),
                       "delta": {"type": "text_delta", "text": pad}},
                      separators=(",", ":"))
    ev = ("event: content_block_delta\ndata: %s\n\n" % data).encode()
    return b"%x\r\n%s\r\n" % (len(ev), ev)


def sse_serve(conn, args):
    head, rest = read_head(conn)
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    left = int(m.group(1)) - len(rest) if m else 0
    while left > 0:
        more = conn.recv(min(left, 65536))
        if not more:
            return
        left -= len(more)
    conn.sendall(b"HTTP/1.1 200 OK\r\n"
                 b"Content-Type: text/event-stream\r\n"
                 b"Cache-Control: no-cache\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    pad = "x" * 40
    start = time.monotonic()
    for i in range(args.n):
        delay = start + i * args.interval_ms / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        conn.sendall(sse_event(i, pad))
    conn.sendall(b"0\r\n\r\n")


def sse_conn(raw, ctx, args):
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_side=True) as conn:
            # Keep-alive, as a real bridge: the proxy pools this.
            while True:
                sse_serve(conn, args)
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        raw.close()


def cmd_sse_bridge(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = listen(args.port)
    print(READY, flush=True)
    while True:
        raw, _ = srv.accept()
        threading.Thread(target=sse_conn, args=(raw, ctx, args),
                         daemon=True).start()


# sse-client ---------------------------------------------------------------

class Dechunker:
    """Incremental chunked decoding, so events are seen as they arrive."""

    def __init__(self):
        self.raw = b""
        self.need = None	# bytes left in the current chunk
        self.done = False

    def feed(self, data):
        self.raw += data
        out = b""
        while not self.done:
            if self.need is None:
                if b"\r\n" not in self.raw:
                    break
                line, self.raw = self.raw.split(b"\r\n", 1)
                self.need = int(line.split(b";")[0], 16)
                if self.need == 0:
                    self.done = True
                    break
            if len(self.raw) < self.need + 2:
                break
            out += self.raw[:self.need]
            self.raw = self.raw[self.need + 2:]
            self.need = None
        return out


def cmd_sse_client(args):
    host, port = args.connect.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=args.cafile)
    raw = socket.create_connection((host, int(port)))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.token is not None:
        raw.sendall(connect_request(args.host, 443, args.token))
        head, rest = read_head(raw)
        check_established(head)
    sock = ctx.wrap_socket(raw, server_hostname=args.host)
    body = json.dumps({"model": "bench", "max_tokens": 1, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]})
    sock.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\n"
                  "Content-Type: application/json\r\n"
                  "Accept: text/event-stream\r\n"
                  "Content-Length: %d\r\n\r\n%s" %
                  (args.path, args.host, len(body), body)).encode())
    head, rest = read_head(sock)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit("sse-client: %r" % head.split(b"\r\n", 1)[0])
    dc = Dechunker()
    text = b""
    lat = []
    data = rest
    now = time.monotonic_ns()
    while True:
        text += dc.feed(data)
        while b"\n\n" in text:
            ev, text = text.split(b"\n\n", 1)
            m = re.search(rb'"t":(\d+)', ev)
            if m:
                lat.append((now - int(m.group(1))) / 1000.0)
        if dc.done:
            break
        data = sock.recv(65536)
        now = time.monotonic_ns()
        if not data:
            break
    sock.close()
    print(json.dumps({"lat_us": lat}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("hold")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("tunnels")
    p.add_argument("--proxy", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--src", help="source address, 127.0.0.1 by default")
    p = sub.add_parser("sse-bridge")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--interval-ms", type=float, default=5.0)
    p = sub.add_parser("sse-client")
    p.add_argument("--connect", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--token")
    args = ap.parse_args()
    {"hold": cmd_hold, "tunnels": cmd_tunnels, "sse-bridge": cmd_sse_bridge,
     "sse-client": cmd_sse_client}[args.cmd](args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
