#!/usr/bin/env python3
"""A test origin behind a tunnel or a forwarded request.

    origin.py --port N --mode http --log FILE
        HTTP/1.1; records method, path and headers of each request as a
        JSON line in FILE and answers 200 "origin <path>".
    origin.py --port N --mode eof
        raw TCP; per connection reads to EOF, then answers
        "got <n> <sha256>\\n" and closes (a half-close must get through).

Both listen on 127.0.0.1, or on the address --host ADDRESS names (::1).

Prints "ready" once listening.
"""
import argparse, hashlib, json, socket, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # listen(2)'s backlog: socketserver's 5 drops the SYNs of a burst,
    # and the kernel's retries (1 s, 3 s, 7 s) then look like a slow
    # proxy.  Real servers ask for somaxconn.
    request_queue_size = 4096


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_any(self):
        n = int(self.headers.get("Content-Length", 0))
        if n:
            self.rfile.read(n)
        entry = {"method": self.command, "path": self.path,
                 "headers": [[k, v] for k, v in self.headers.items()]}
        with self.server.lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        body = ("origin %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_any


def eof_client(c):
    h = hashlib.sha256()
    n = 0
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.sendall(b"got %d %s\n" % (n, h.hexdigest().encode()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["http", "eof"], required=True)
    ap.add_argument("--log")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    if args.mode == "http":
        Server.address_family = family
        srv = Server((args.host, args.port), Handler)
        srv.lock = threading.Lock()
        srv.log = args.log
        open(args.log, "a").close()
        print("ready", flush=True)
        srv.serve_forever()
    ls = socket.socket(family)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    ls.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=eof_client, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
