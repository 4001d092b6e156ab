#!/usr/bin/env python3
"""Hostile peers for the session-core tests (t_hostile.sh).

    hostile.py flood --proxy H:P --count N
        opens N TCP connections that never send a byte, prints
        "ready <opened>" and holds them until SIGTERM.
    hostile.py later --proxy H:P --token T --cafile CA --go FILE
        CONNECT api.anthropic.com:443, TLS with the proxy's leaf, prints
        "ready", waits for FILE to exist, then sends one POST and prints
        the status line of the answer ("status N"), or "closed".
    hostile.py slow --proxy H:P --every S [--tls --token T --cafile CA]
        sends a request head one line every S seconds and prints
        "status N after T" (seconds from the first byte) when the proxy
        answers, or "closed after T".
    hostile.py cut --proxy H:P --token T --cafile CA --out FILE
        one intercepted GET; writes every byte of the answer to FILE
        until the proxy closes (prints "closed") or 5 s pass ("open").
    hostile.py bridge --port N --bmode bighead|badchunk
        a bridge that answers every request with a response head of
        70 KiB (bighead) or a valid chunk then a malformed one and
        silence (badchunk); prints "ready".
"""
import argparse, base64, select, signal, socket, ssl, sys, threading, time


def say(*a):
    print(*a, flush=True)


def proxy_conn(proxy, timeout=10):
    host, port = proxy.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            return None, buf
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def intercept(args):
    s = proxy_conn(args.proxy)
    cred = base64.b64encode(("coder:" + args.token).encode()).decode()
    s.sendall(("CONNECT api.anthropic.com:443 HTTP/1.1\r\n"
               "Host: api.anthropic.com:443\r\n"
               "Proxy-Authorization: Basic %s\r\n\r\n" % cred).encode())
    head, _ = read_head(s)
    if head is None or not head.startswith(b"HTTP/1.1 200"):
        say("CONNECT failed:", head)
        sys.exit(1)
    ctx = ssl.create_default_context(cafile=args.cafile)
    return ctx.wrap_socket(s, server_hostname="api.anthropic.com")


def mode_flood(args):
    held = []
    for _ in range(args.count):
        try:
            held.append(proxy_conn(args.proxy, timeout=2))
        except OSError:
            break
    say("ready", len(held))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(3600)


def mode_later(args):
    t = intercept(args)
    say("ready")
    while not __import__("os").path.exists(args.go):
        time.sleep(0.02)
    body = b'{"model":"x"}'
    t.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
              b"Authorization: Bearer sk-test\r\nContent-Type: application/"
              b"json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    try:
        head, _ = read_head(t)
    except (OSError, ssl.SSLError):
        head = None
    if head is None:
        say("closed")
    else:
        say("status", head.split(b" ", 2)[1].decode())


def mode_slow(args):
    # One thread only: an SSL socket must not be read and written from
    # two threads at once (OpenSSL's state would be shared unlocked).
    s = intercept(args) if args.tls else proxy_conn(args.proxy, 60)
    lines = [b"GET /healthz HTTP/1.1\r\n"] + \
        [b"X-Slow-%d: y\r\n" % i for i in range(100)]
    t0 = time.monotonic()
    answered = False
    for line in lines:
        try:
            s.sendall(line)
        except (OSError, ssl.SSLError):
            break
        pending = getattr(s, "pending", lambda: 0)()
        if pending or select.select([s], [], [], args.every)[0]:
            answered = True
            break
    if not answered:
        select.select([s], [], [], 30)
    s.settimeout(30)
    try:
        head, _ = read_head(s)
    except (OSError, ssl.SSLError):
        head = None
    took = time.monotonic() - t0
    if head:
        say("status %s after %.1f" % (head.split(b" ", 2)[1].decode(), took))
    else:
        say("closed after %.1f" % took)


def mode_cut(args):
    t = intercept(args)
    t.settimeout(5)
    t.sendall(b"GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n"
              b"Authorization: Bearer sk-test\r\n\r\n")
    got, state = b"", "open"
    try:
        while True:
            b = t.recv(65536)
            if not b:
                state = "closed"
                break
            got += b
    except socket.timeout:
        pass
    except (OSError, ssl.SSLError):
        state = "closed"
    with open(args.out, "wb") as f:
        f.write(got)
    say(state)


class BadBridge(threading.Thread):
    def __init__(self, conn, mode):
        super().__init__(daemon=True)
        self.c, self.mode = conn, mode

    def run(self):
        c = self.c
        buf = b""
        while b"\r\n\r\n" not in buf:
            b = c.recv(65536)
            if not b:
                return
            buf += b
        if self.mode == "bighead":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 +
                      b"\r\nContent-Length: 2\r\n\r\nok")
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n5\r\nhello\r\nzz-not-hex\r\n")
        time.sleep(30)
        c.close()


def mode_bridge(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    say("ready")
    while True:
        c, _ = ls.accept()
        BadBridge(c, args.bmode).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["flood", "later", "slow", "cut",
                                     "bridge"])
    ap.add_argument("--proxy")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--token")
    ap.add_argument("--cafile")
    ap.add_argument("--go")
    ap.add_argument("--every", type=float, default=3)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--port", type=int)
    ap.add_argument("--out")
    ap.add_argument("--bmode", choices=["bighead", "badchunk"],
                    default="bighead")
    args = ap.parse_args()
    {"flood": mode_flood, "later": mode_later, "slow": mode_slow,
     "cut": mode_cut, "bridge": mode_bridge}[args.mode](args)


if __name__ == "__main__":
    main()
