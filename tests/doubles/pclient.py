#!/usr/bin/env python3
"""A small proxy client for the integration tests: it says exactly what
it sends and checks exactly what it gets, and exits 0 only if every
--expect holds (a mismatch is printed as a "# ..." line).

    pclient.py --proxy HOST:PORT [options] MODE

Modes:
    raw     send --send on the proxy connection, read one answer
    mitm    CONNECT --connect with --token, TLS inside (--cafile, --sni),
            then send --send and read one answer
    tunnel  CONNECT --connect, then send --send (and shut down the
            write side with --half-close; with --early in the same
            write as the CONNECT), read everything to EOF
    hold    open --count idle connections first, then do "raw"
    sse     mitm, GET --path, print "one" on the first event and "two"
            on the second, as they arrive
    slow    mitm, GET --path (a chunked pattern body of --total bytes),
            read --first bytes, print "paused", stop reading for --pause
            seconds, then read the rest and check it

--send takes Python escapes (\\r\\n).  Answers with Content-Length are
read to their end, others to EOF.

Behind a balancer: --header sends a PROXY protocol header first (v1 or
v2 naming the client ADDR:PORT, v2local as HAProxy's health checks send
it, or raw bytes with Python escapes); --listener-ca then talks TLS to a
TLS listener, after the header; --source picks the local address.
"""
import argparse, base64, hashlib, ipaddress, socket, ssl, struct, sys, time

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"

PATTERN = bytes(range(256)) * 256  # as the test bridge sends it


def say(*a):
    print("#", *a, flush=True)


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Answer:
    def __init__(self):
        self.head = b""
        self.status = None
        self.headers = []
        self.body = b""
        self.closed = False
        self.elapsed = None


def read_head(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    head, sep, rest = buf.partition(b"\r\n\r\n")
    return head, rest, bool(sep)


def read_answer(s, t0, wait_close):
    a = Answer()
    try:
        head, rest, complete = read_head(s)
    except (socket.timeout, ssl.SSLError, OSError) as e:
        say("reading the answer:", e)
        # A reset is a close too (the proxy left bytes unread).
        a.closed = isinstance(e, ConnectionResetError)
        return a
    a.head = head
    lines = head.decode("latin-1").split("\r\n")
    if complete and lines and lines[0].startswith("HTTP/"):
        parts = lines[0].split(" ", 2)
        a.status = int(parts[1])
        a.headers = [tuple(x.strip() for x in l.split(":", 1))
                     for l in lines[1:] if ":" in l]
    length = None
    for k, v in a.headers:
        if k.lower() == "content-length":
            length = int(v)
    body = rest
    try:
        while length is None or len(body) < length:
            b = s.recv(65536)
            if not b:
                a.closed = True
                break
            body += b
        if not a.closed and wait_close:
            # Anything after the answer, then the close (or a timeout).
            while True:
                b = s.recv(65536)
                if not b:
                    a.closed = True
                    break
                body += b
    except (socket.timeout, TimeoutError):
        pass
    except (ssl.SSLError, ConnectionResetError) as e:
        say("after the answer:", e)
        a.closed = True
    a.body = body
    a.elapsed = time.monotonic() - t0
    return a


def proxy_header(spec):
    """The PROXY protocol header --header asks for (proxy-protocol.txt)."""
    if spec == "v2local":
        return V2_SIG + b"\x20\x00\x00\x00"
    kind, _, rest = spec.partition(":")
    if kind == "raw":
        return unescape(rest)
    addr, port = rest.rsplit(":", 1)
    ip = ipaddress.ip_address(addr.strip("[]"))
    dst = ipaddress.ip_address("127.0.0.1" if ip.version == 4 else "::1")
    if kind == "v1":
        return ("PROXY TCP%d %s %s %s 8888\r\n" %
                (ip.version, ip, dst, port)).encode()
    fam = b"\x11" if ip.version == 4 else b"\x21"
    body = ip.packed + dst.packed + struct.pack("!HH", int(port), 8888)
    return V2_SIG + b"\x21" + fam + struct.pack("!H", len(body)) + body


def proxy_socket(args):
    host, port = args.proxy.rsplit(":", 1)
    src = (args.source, 0) if args.source else None
    s = socket.create_connection((host, int(port)), timeout=args.timeout,
                                 source_address=src)
    if args.header:
        s.sendall(proxy_header(args.header))
    if args.listener_ca:
        ctx = ssl.create_default_context(cafile=args.listener_ca)
        s = ctx.wrap_socket(s, server_hostname=host)
    return s


def connect_head(args):
    h = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (args.connect, args.connect)
    if args.token is not None:
        cred = base64.b64encode(("coder:" + args.token).encode()).decode()
        h += "Proxy-Authorization: Basic %s\r\n" % cred
    return (h + "\r\n").encode()


def do_connect(args, s, early=b""):
    s.sendall(connect_head(args) + early)
    head, rest, _ = read_head(s)
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    if not line.startswith("HTTP/1.1 200") and not line.startswith("HTTP/1.0 200"):
        say("CONNECT answered:", repr(head[:200]))
        return None
    if rest:
        say("bytes after the CONNECT answer:", repr(rest[:80]))
        return None
    return line


def tls_wrap(args, s):
    ctx = ssl.create_default_context(cafile=args.cafile)
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn.split(","))
    if args.no_verify_name:
        ctx.check_hostname = False
    sni = args.sni or args.connect.rsplit(":", 1)[0]
    return ctx.wrap_socket(s, server_hostname=sni)


def mitm_socket(args):
    s = proxy_socket(args)
    if do_connect(args, s) is None:
        return None
    try:
        t = tls_wrap(args, s)
    except (ssl.SSLError, OSError) as e:
        say("TLS handshake:", e)
        return "handshake"
    return t


def check(args, a):
    good = True

    def bad(*m):
        nonlocal good
        say(*m)
        good = False

    if args.expect_status is not None and a.status != args.expect_status:
        bad("status", a.status, "want", args.expect_status,
            "head", repr(a.head[:300]))
    have = ["%s: %s" % (k.lower(), v) for k, v in a.headers]
    for want in args.expect_header:
        k, v = want.split(":", 1)
        if "%s: %s" % (k.lower(), v.strip()) not in have:
            bad("header", repr(want), "missing; headers", have)
    if args.expect_body is not None and a.body != unescape(args.expect_body):
        bad("body", repr(a.body[:300]), "want", repr(args.expect_body))
    if args.expect_closed and not a.closed:
        bad("connection still open after the answer")
    if args.expect_silent and (a.head or a.body or not a.closed):
        bad("not closed without an answer: got", repr(a.head[:200]))
    if args.within is not None and (a.elapsed is None or
                                   a.elapsed > args.within):
        bad("took", a.elapsed, "want at most", args.within)
    if args.print:
        sys.stdout.write(a.head.decode("latin-1") + "\r\n\r\n")
        sys.stdout.write(a.body.decode("latin-1"))
        sys.stdout.flush()
    return good


def mode_raw(args, s=None):
    if s is None:
        try:
            s = proxy_socket(args)
        except (ssl.SSLError, OSError) as e:
            # Refused at once: only --expect-silent wanted that.
            if not args.expect_silent:
                say("connecting:", e)
            return args.expect_silent
    t0 = time.monotonic()
    try:
        s.sendall(unescape(args.send))
    except OSError as e:
        if not args.expect_silent:
            say("sending:", e)
        return args.expect_silent
    return check(args, read_answer(s, t0, args.expect_closed or
                                   args.expect_silent))


def mode_hold(args):
    held = [proxy_socket(args) for _ in range(args.count)]
    time.sleep(0.3)
    try:
        return mode_raw(args)
    finally:
        for h in held:
            h.close()


def mode_mitm(args):
    t = mitm_socket(args)
    if t is None:
        return False
    if t == "handshake":
        return args.expect_refused
    if args.expect_refused:
        # TLS 1.3 finishes on our side first: the refusal may come as a
        # close without any answer to the request.
        t.settimeout(args.timeout)
        try:
            t.sendall(unescape(args.send))
        except (ssl.SSLError, OSError):
            return True
        a = read_answer(t, time.monotonic(), True)
        if a.status is not None or not a.closed:
            say("not refused: status", a.status, "closed", a.closed)
            return False
        return True
    if args.expect_alpn and t.selected_alpn_protocol() != args.expect_alpn:
        say("ALPN", t.selected_alpn_protocol(), "want", args.expect_alpn)
        return False
    return mode_raw(args, t)


def mode_tunnel(args):
    s = proxy_socket(args)
    data = unescape(args.send) * args.repeat
    # --early: the data goes in the same write as the CONNECT head.
    if do_connect(args, s, data if args.early else b"") is None:
        return False
    if not args.early:
        s.sendall(data)
    if args.half_close:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (socket.timeout, TimeoutError):
        say("no EOF from the tunnel; got", repr(got[:200]))
        return False
    want = args.expect_data
    if want is not None:
        want = want.replace("{len}", str(len(data)))
        want = want.replace("{sha256}", hashlib.sha256(data).hexdigest())
        if got != unescape(want):
            say("got", repr(got[:300]), "want", repr(want))
            return False
    return True


def mitm_get(args):
    t = mitm_socket(args)
    if t is None or t == "handshake":
        return None
    host = args.connect.rsplit(":", 1)[0]
    t.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
               (args.path, host)).encode())
    return t


def mode_sse(args):
    t = mitm_get(args)
    if t is None:
        return False
    t.settimeout(args.timeout)
    buf = b""
    seen = []
    try:
        while len(seen) < 2:
            b = t.recv(65536)
            if not b:
                break
            buf += b
            for ev in (b"event: one", b"event: two"):
                if ev in buf and ev not in seen:
                    seen.append(ev)
                    print(ev.decode().split()[1], flush=True)
    except (socket.timeout, TimeoutError):
        say("timed out; got", repr(buf[-200:]))
    return seen == [b"event: one", b"event: two"]


def read_chunked(f, h, want, n):
    """Read decoded body bytes until n of them (or the end)."""
    while n < want:
        line = f.readline()
        size = int(line.split(b";")[0], 16)
        if size == 0:
            f.readline()
            return n, True
        left = size
        while left:
            b = f.read(min(left, 1 << 16))
            if not b:
                raise EOFError("EOF inside a chunk")
            h.update(b)
            n += len(b)
            left -= len(b)
        f.readline()
    return n, False


def mode_slow(args):
    t = mitm_get(args)
    if t is None:
        return False
    t.settimeout(args.timeout + args.pause)
    f = t.makefile("rb", buffering=1 << 16)
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        b = f.readline()
        if not b:
            say("no response head")
            return False
        head += b
    if not head.startswith(b"HTTP/1.1 200"):
        say("answer:", repr(head[:200]))
        return False
    h = hashlib.sha256()
    n, end = read_chunked(f, h, args.first, 0)
    print("paused", n, flush=True)
    time.sleep(args.pause)
    print("resumed", flush=True)
    n, end = read_chunked(f, h, float("inf"), n)
    want = hashlib.sha256()
    left = args.total
    while left:
        k = min(left, len(PATTERN))
        want.update(PATTERN[:k])
        left -= k
    print("done", n, flush=True)
    if n != args.total or h.digest() != want.digest():
        say("got", n, "bytes, want", args.total, "(or the pattern differs)")
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["raw", "mitm", "tunnel", "hold", "sse",
                                     "slow"])
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--connect", default="api.anthropic.com:443")
    ap.add_argument("--token")
    ap.add_argument("--cafile")
    ap.add_argument("--sni")
    ap.add_argument("--alpn")
    ap.add_argument("--no-verify-name", action="store_true")
    ap.add_argument("--send", default="")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--half-close", action="store_true")
    ap.add_argument("--early", action="store_true")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--path", default="/v1/sse")
    ap.add_argument("--first", type=int, default=8 << 20)
    ap.add_argument("--pause", type=float, default=4)
    ap.add_argument("--total", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--within", type=float)
    ap.add_argument("--expect-status", type=int)
    ap.add_argument("--expect-header", action="append", default=[])
    ap.add_argument("--expect-body")
    ap.add_argument("--expect-closed", action="store_true")
    ap.add_argument("--expect-data")
    ap.add_argument("--expect-alpn")
    ap.add_argument("--expect-refused", action="store_true",
                    help="TLS fails, or the request gets no answer")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--header", help="v1:ADDR:PORT, v2:ADDR:PORT, "
                    "v2local or raw:BYTES")
    ap.add_argument("--listener-ca", help="TLS to the listener, this CA")
    ap.add_argument("--source", help="the local address to connect from")
    ap.add_argument("--expect-silent", action="store_true",
                    help="closed without a byte of answer")
    args = ap.parse_args()
    fn = globals()["mode_" + args.mode]
    sys.exit(0 if fn(args) else 1)


if __name__ == "__main__":
    main()
