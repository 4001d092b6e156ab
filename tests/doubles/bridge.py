#!/usr/bin/env python3
"""A test AI Bridge: answers what the integration tests need and records,
one JSON line per request in --log, what it received (method, path,
headers, body length and SHA-256, and which TCP connection it came on).

    bridge.py --port N [--tls CERT KEY] --log FILE [--ready FILE]
              [--users FILE]

/api/v2/users/me answers a token check (Coder-Session-Token) from the
--users file, read on every request so a test can revoke a token: a
JSON object mapping each token to a user name (200 with
{"username": ...}), or to "revoked" or "expired" (401).  A token not in
it gets 401 too.  With --slow S the answer waits S seconds first.

Routes (any path under /api/v2/aibridge/):
    .../sse        two SSE events; the second only once --release exists
    .../download?n=N   N bytes of a fixed pattern, chunked
    .../upload     reads the body, answers its length and SHA-256
    .../stream?n=N&chunk=C  N bytes in C-sized chunks as fast as possible
    .../tail?kind=K[&write=one]  a complete answer, then a second, fake
                   one ("EVIL") the request never asked for, in the same
                   TCP segment (TCP_CORK), as a separate TLS record, or
                   with write=one in the same write (and TLS record).
                   K: cl (Content-Length), chunked, trailer (chunked
                   with a trailer), interim (a 103 first), 204 (the fake
                   as its body)
    anything else  200 {"ok":true,"path":...}
"""
import argparse, hashlib, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

PATTERN = bytes(range(256)) * 256  # 64 KiB
# A whole answer no request asked for (.../tail): 68 bytes.
EVIL = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 4\r\n\r\nEVIL")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def record(self, length, digest):
        entry = {
            "method": self.command, "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": length, "body_sha256": digest,
            "conn": "%s:%d" % self.client_address[:2],
        }
        with self.server.lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    b = self.rfile.read(min(left, 1 << 16))
                    h.update(b); n += len(b); left -= len(b)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", 0))
            while left:
                b = self.rfile.read(min(left, 1 << 16))
                if not b:
                    break
                h.update(b); n += len(b); left -= len(b)
        return n, h.hexdigest()

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    def users_me(self):
        if self.server.slow:
            time.sleep(self.server.slow)
        token = self.headers.get("Coder-Session-Token", "")
        try:
            with open(self.server.users) as f:
                table = json.load(f)
        except (OSError, ValueError):
            table = {}
        who = table.get(token)
        if who is None or who in ("revoked", "expired"):
            body = json.dumps({"message": "unauthorized"}).encode()
            self.send_response(401)
        else:
            body = json.dumps({"id": "u-1", "username": who,
                               "email": who + "@example.com"}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_any(self):
        n, digest = self.read_body()
        self.record(n, digest)
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        if u.path.endswith("/api/v2/users/me") and self.server.users:
            return self.users_me()
        if u.path.endswith("/sse"):
            return self.sse()
        if u.path.endswith("/download") or u.path.endswith("/stream"):
            return self.download(int(q.get("n", ["0"])[0]),
                                 int(q.get("chunk", ["65536"])[0]))
        if u.path.endswith("/tail"):
            return self.tail(q.get("kind", ["cl"])[0],
                             q.get("write", [""])[0] == "one")
        if u.path.endswith("/upload"):
            body = json.dumps({"len": n, "sha256": digest}).encode()
        else:
            body = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.send_chunk(b"event: one\ndata: first\n\n")
        self.wfile.flush()
        release = self.server.release
        deadline = time.time() + 20
        while release and not os.path.exists(release) and time.time() < deadline:
            time.sleep(0.01)
        self.send_chunk(b"event: two\ndata: second\n\n")
        self.send_chunk(b"")
        self.wfile.flush()

    def download(self, total, chunk):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        while sent < total:
            k = min(chunk, total - sent, len(PATTERN))
            self.send_chunk(PATTERN[:k])
            sent += k
        self.send_chunk(b"")
        self.wfile.flush()

    def tail(self, kind, one):
        body = b'{"tail": "%s"}' % kind.encode()
        cl = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body)) + body
        chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n"
                   % (len(body), body))
        answer = {
            "cl": cl,
            "chunked": chunked + b"\r\n",
            "trailer": chunked + b"X-Checksum: 1\r\n\r\n",
            "interim": b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + cl,
            "204": b"HTTP/1.1 204 No Content\r\n\r\n",
        }[kind]
        if one:
            self.wfile.write(answer + EVIL)
            return
        # Two writes, two TLS records, one TCP segment (tcp(7)).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        self.wfile.write(answer)
        self.wfile.write(EVIL)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # listen(2)'s backlog: socketserver's 5 drops the SYNs of a burst
    # of bridge connections (a worker dials one per request in flight),
    # and the kernel's retries (1 s, 3 s, 7 s) then look like a slow
    # proxy.  Real bridges ask for somaxconn.
    request_queue_size = 4096


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--log", required=True)
    ap.add_argument("--release")
    ap.add_argument("--users")
    ap.add_argument("--slow", type=float, default=0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.lock = threading.Lock()
    srv.log = args.log
    srv.release = args.release
    srv.users = args.users
    srv.slow = args.slow
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(args.log, "a").close()
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
