#!/usr/bin/env python3
"""kaclient.py: intercepted keep-alive connections through the proxy.

    kaclient.py --proxy HOST:PORT --token T --cafile CA --host H
                --path P --wait FILE
One connection, two GETs with a pause between them.  Prints the status
of each request on its own line ("1 200", "2 421"), or "N closed" if
the connection ended first.  The second request is sent once FILE
exists (the test reloads the daemon in between).

    kaclient.py --proxy HOST:PORT --token T --cafile CA --host H
                --path P --hold N --close K
N connections with one POST answered on each, then the first K closed;
prints "held N-K" and holds the rest until killed, or "refused" and
exits 1 if a request was not answered 200."""
import argparse, base64, os, socket, ssl, sys, time

BODY = b'{"model": "m", "max_tokens": 1}'


def tunnel(a, timeout):
    """A TLS connection to a.host through the proxy's CONNECT, or the
    proxy's status line when it refused."""
    h, p = a.proxy.rsplit(":", 1)
    s = socket.create_connection((h, int(p)), timeout=timeout)
    cred = base64.b64encode(("coder:" + a.token).encode()).decode()
    s.sendall(("CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n"
               "Proxy-Authorization: Basic %s\r\n\r\n" % (a.host, a.host, cred)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        b = s.recv(4096)
        if not b:
            return "closed"
        resp += b
    if b" 200 " not in resp.split(b"\r\n")[0]:
        s.close()
        return resp.split(b"\r\n")[0].decode()
    ctx = ssl.create_default_context(cafile=a.cafile)
    return ctx.wrap_socket(s, server_hostname=a.host)


def request(tls, host, path, body=None):
    """The status of one request (a POST when body is given), its
    answer read whole; None if the connection ended first."""
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (
        "GET" if body is None else "POST", path, host)
    if body is not None:
        head += ("Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n" % len(body))
    tls.sendall((head + "\r\n").encode() + (body or b""))
    data = b""
    while b"\r\n\r\n" not in data:
        b = tls.recv(65536)
        if not b:
            return None
        data += b
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        b = tls.recv(65536)
        if not b:
            return None
        rest += b
    return status


def two_requests(a):
    tls = tunnel(a, 10)
    if isinstance(tls, str):
        print("connect", tls)
        return 1
    for n in (1, 2):
        if n == 2:
            deadline = time.time() + 20
            while not os.path.exists(a.wait) and time.time() < deadline:
                time.sleep(0.02)
        st = request(tls, a.host, a.path)
        print(n, st if st is not None else "closed", flush=True)
    return 0


def hold(a):
    held = []
    for _ in range(a.hold):
        tls = tunnel(a, 20)
        if isinstance(tls, str) or request(tls, a.host, a.path,
                                           BODY) != 200:
            print("refused", flush=True)
            return 1
        held.append(tls)
    for tls in held[:a.close]:
        tls.close()
    print("held", len(held) - a.close, flush=True)
    time.sleep(600)
    return 0


def main():
    ap = argparse.ArgumentParser()
    for o in ("--proxy", "--token", "--cafile", "--host", "--path"):
        ap.add_argument(o, required=True)
    ap.add_argument("--wait")
    ap.add_argument("--hold", type=int)
    ap.add_argument("--close", type=int, default=0)
    a = ap.parse_args()
    if (a.wait is None) == (a.hold is None):
        ap.error("give --wait or --hold")
    return hold(a) if a.hold is not None else two_requests(a)


sys.exit(main())
