#!/usr/bin/env python3
"""kaclient.py: one intercepted keep-alive connection, two requests, with
a pause between them.  Prints the status of each request on its own
line ("1 200", "2 421"), or "N closed" if the connection ended first.

    kaclient.py --proxy HOST:PORT --token T --cafile CA --host H
                --path P --wait FILE
The second request is sent once FILE exists (the test reloads the
daemon in between)."""
import argparse, base64, os, socket, ssl, sys, time


def request(tls, host, path):
    tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        b = tls.recv(65536)
        if not b:
            return None
        data += b
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        b = tls.recv(65536)
        if not b:
            break
        body += b
    return status


def main():
    ap = argparse.ArgumentParser()
    for a in ("--proxy", "--token", "--cafile", "--host", "--path", "--wait"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    h, p = a.proxy.rsplit(":", 1)
    s = socket.create_connection((h, int(p)), timeout=10)
    cred = base64.b64encode(("coder:" + a.token).encode()).decode()
    s.sendall(("CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n"
               "Proxy-Authorization: Basic %s\r\n\r\n" % (a.host, a.host, cred)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    if b" 200 " not in resp.split(b"\r\n")[0]:
        print("connect", resp.split(b"\r\n")[0].decode())
        return 1
    ctx = ssl.create_default_context(cafile=a.cafile)
    tls = ctx.wrap_socket(s, server_hostname=a.host)
    for n in (1, 2):
        if n == 2:
            deadline = time.time() + 20
            while not os.path.exists(a.wait) and time.time() < deadline:
                time.sleep(0.02)
        st = request(tls, a.host, a.path)
        print(n, st if st is not None else "closed", flush=True)
    return 0


sys.exit(main())
