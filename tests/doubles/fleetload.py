#!/usr/bin/env python3
"""fleetload.py: steady load through a load balancer in front of several
aibproxyd instances, for t_fleet.sh's rolling restart.  Nothing is ever
retried: a request that does not succeed at the first try is a failure.

    fleetload.py --proxy HOST:PORT --source ADDR --token T --cafile CA
                 --origin HOST:PORT --stop FILE [--mitm N] [--tunnels N]
                 [--pause SECONDS]

--mitm threads: each connects from --source, sends CONNECT
api.anthropic.com:443 with the token, talks TLS inside (trusting
--cafile), then sends POSTs on that connection (keep-alive), each
answer read to its Content-Length and checked (200, the bridge's
{"ok": true, ...}), until an answer says "Connection: close" or 20
requests were sent; then a new connection.

--tunnels threads: each connects from --source, sends CONNECT to
--origin (origin.py --mode eof), sends a few KiB, half-closes, and
checks the origin's "got <n> <sha256>" and EOF.

Prints "ready" once every thread has succeeded once, "fail <kind>:
<why>" for each failure as it happens, and when --stop exists (each
thread ends after its request in progress) one line per kind:
    mitm ok N fail N connections N closed-by-proxy N
    tunnel ok N fail N
Exits 0 only if nothing failed.
"""
import argparse, base64, hashlib, os, socket, ssl, sys, threading, time

BODY = b'{"model":"claude","messages":[{"role":"user","content":"hi"}]}'
PER_CONNECTION = 20


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.started = set()

    def add(self, key, k=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k

    def get(self, key):
        with self.lock:
            return self.n.get(key, 0)


def say(*a):
    print(*a, flush=True)


def dial(args):
    host, port = args.proxy.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    s.bind((args.source, 0))
    s.connect((host, int(port)))
    return s


def read_head(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError("closed before the answer's head (%d bytes)" %
                           len(buf))
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def connect(args, target, token):
    s = dial(args)
    h = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)
    if token:
        cred = base64.b64encode(("coder:" + token).encode()).decode()
        h += "Proxy-Authorization: Basic %s\r\n" % cred
    s.sendall((h + "\r\n").encode())
    head, rest = read_head(s)
    if not head.startswith("HTTP/1.1 200"):
        s.close()
        raise ValueError("CONNECT answered %r" % head.split("\r\n")[0])
    if rest:
        s.close()
        raise ValueError("bytes after the CONNECT answer")
    return s


def post(t, rest):
    """One POST on the TLS socket; returns (close, rest)."""
    t.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n"
              b"\r\n" % len(BODY) + BODY)
    head, body = read_head(t, rest)
    lines = head.split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200 "):
        raise ValueError("answered %r" % lines[0])
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    n = int(fields.get("content-length", "-1"))
    if n < 0:
        raise ValueError("no Content-Length in %r" % head)
    while len(body) < n:
        b = t.recv(65536)
        if not b:
            raise EOFError("closed inside the body")
        body += b
    if b'"ok": true' not in body[:n]:
        raise ValueError("body %r" % body[:200])
    return fields.get("connection", "").lower() == "close", body[n:]


def mitm_thread(args, c, ctx, name):
    while not os.path.exists(args.stop):
        try:
            s = connect(args, "api.anthropic.com:443", args.token)
            t = ctx.wrap_socket(s, server_hostname="api.anthropic.com")
        except Exception as e:
            c.add("mitm fail")
            say("fail mitm: connection: %s: %s" % (type(e).__name__, e))
            time.sleep(args.pause)
            continue
        c.add("mitm connections")
        rest = b""
        try:
            for i in range(PER_CONNECTION):
                close, rest = post(t, rest)
                c.add("mitm ok")
                c.started.add(name)
                if close:
                    c.add("mitm closed-by-proxy")
                    break
                if os.path.exists(args.stop):
                    break
                time.sleep(args.pause)
        except Exception as e:
            c.add("mitm fail")
            say("fail mitm: request: %s: %s" % (type(e).__name__, e))
        finally:
            t.close()
        time.sleep(args.pause)


def tunnel_thread(args, c, name):
    k = 0
    while not os.path.exists(args.stop):
        k += 1
        data = (b"%s %d " % (name.encode(), k)) * 300
        try:
            s = connect(args, args.origin, None)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
            s.close()
            want = b"got %d %s\n" % (len(data),
                                     hashlib.sha256(data).hexdigest().encode())
            if got != want:
                raise ValueError("origin said %r" % got[:200])
            c.add("tunnel ok")
            c.started.add(name)
        except Exception as e:
            c.add("tunnel fail")
            say("fail tunnel: %s: %s" % (type(e).__name__, e))
        time.sleep(args.pause)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--proxy", "--source", "--token", "--cafile", "--origin",
              "--stop"):
        ap.add_argument(a, required=True)
    ap.add_argument("--mitm", type=int, default=3)
    ap.add_argument("--tunnels", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.02)
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    ctx = ssl.create_default_context(cafile=args.cafile)
    c = Counts()
    threads = []
    for i in range(args.mitm):
        threads.append(threading.Thread(target=mitm_thread,
                                        args=(args, c, ctx, "m%d" % i)))
    for i in range(args.tunnels):
        threads.append(threading.Thread(target=tunnel_thread,
                                        args=(args, c, "t%d" % i)))
    for t in threads:
        t.start()
    while len(c.started) < len(threads) and not os.path.exists(args.stop):
        time.sleep(0.02)
    if len(c.started) == len(threads):
        say("ready")
    for t in threads:
        t.join()
    say("mitm ok %d fail %d connections %d closed-by-proxy %d" % (
        c.get("mitm ok"), c.get("mitm fail"), c.get("mitm connections"),
        c.get("mitm closed-by-proxy")))
    say("tunnel ok %d fail %d" % (c.get("tunnel ok"), c.get("tunnel fail")))
    sys.exit(1 if c.get("mitm fail") or c.get("tunnel fail") else 0)


if __name__ == "__main__":
    main()
