#!/usr/bin/env python3
"""A test upstream (corporate) proxy: an honest CONNECT proxy that also
forwards absolute-form http:// requests, and records, one JSON line per
request in --log, the request line, every Proxy-Authorization value it
got and what it answered.

    upstream.py --port N [--tls CERT KEY] [--auth VALUE] --log FILE

--tls        listen with TLS (the proxy itself is https://)
--auth       the exact Proxy-Authorization value required; anything
             else gets 407 with Proxy-Authenticate and the connection
             closes

CONNECT host:port dials host:port, answers 200 and relays both ways
until both sides have closed, passing each side's end of stream on as
a half-close (close_notify then FIN on the TLS side).  It never
decrypts what it relays.
"""
import argparse, json, select, socket, ssl, sys, threading
from urllib.parse import urlsplit

HEAD_MAX = 64 * 1024


class Plain:
    """The client side without TLS."""

    ended = False

    def __init__(self, sock):
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()

    def recv(self):
        """Bytes, b"" at end of stream."""
        return self.sock.recv(65536)

    def send(self, data):
        self.sock.sendall(data)

    def shut_wr(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()


class TLS:
    """The client side over TLS, driven through memory BIOs so that one
    thread can read and write and half-close it."""

    def __init__(self, sock, ctx):
        self.sock = sock
        self.ended = False  # close_notify (or EOF) seen
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("EOF in the handshake")
                self.inc.write(data)
        self.flush()

    def fileno(self):
        return self.sock.fileno()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def recv(self):
        """Application bytes, b"" at end of stream, None when a TLS
        record is not complete yet."""
        if self.ended:
            return b""
        raw = self.sock.recv(65536)
        if not raw:
            self.inc.write_eof()
        else:
            self.inc.write(raw)
        got = b""
        while True:
            try:
                d = self.obj.read(65536)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.ended = True
                break
            if not d:
                self.ended = True
                break
            got += d
        self.flush()
        if got:
            return got
        return b"" if self.ended or not raw else None

    def send(self, data):
        self.obj.write(data)
        self.flush()

    def shut_wr(self):
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self.flush()
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()


class Proxy:
    def __init__(self, args):
        self.log = args.log
        self.auth = args.auth
        self.lock = threading.Lock()
        self.ctx = None
        if args.tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*args.tls)

    def record(self, line, auths, answer):
        entry = {"line": line, "proxy_authorization": auths,
                 "answer": answer}
        with self.lock:
            with open(self.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def read_head(self, c):
        buf = b""
        while b"\r\n\r\n" not in buf:
            if len(buf) > HEAD_MAX:
                return None, b""
            d = c.recv()
            if d is None:
                continue
            if not d:
                return None, b""
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1").split("\r\n"), rest

    def answer(self, c, status, extra=""):
        reason = {200: "Connection established", 400: "Bad Request",
                  407: "Proxy Authentication Required",
                  502: "Bad Gateway"}[status]
        if status == 200:
            c.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            return
        body = reason.encode() + b"\n"
        c.send(("HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" %
                (status, reason, extra, len(body))).encode() + body)

    def serve(self, sock):
        c = None
        try:
            c = TLS(sock, self.ctx) if self.ctx else Plain(sock)
            self.handle(c)
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            (c or Plain(sock)).close()

    def handle(self, c):
        lines, rest = self.read_head(c)
        if not lines:
            return
        line = lines[0]
        headers = []
        for h in lines[1:]:
            name, _, value = h.partition(":")
            headers.append((name.strip(), value.strip()))
        auths = [v for n, v in headers
                 if n.lower() == "proxy-authorization"]
        parts = line.split(" ")
        if len(parts) != 3:
            self.record(line, auths, 400)
            return self.answer(c, 400)
        if self.auth is not None and auths != [self.auth]:
            self.record(line, auths, 407)
            return self.answer(c, 407, 'Proxy-Authenticate: Basic '
                               'realm="upstream"\r\n')
        method, target, version = parts
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
        else:
            u = urlsplit(target)
            if u.scheme != "http" or not u.hostname:
                self.record(line, auths, 400)
                return self.answer(c, 400)
            host, port = u.hostname, u.port or 80
            path = (u.path or "/") + ("?" + u.query if u.query else "")
        try:
            o = socket.create_connection((host, int(port)), timeout=10)
            o.settimeout(None)
        except (OSError, ValueError):
            self.record(line, auths, 502)
            return self.answer(c, 502)
        self.record(line, auths, 200)
        if method == "CONNECT":
            self.answer(c, 200)
        else:
            head = "%s %s %s\r\n" % (method, path, version)
            for n, v in headers:
                if not n.lower().startswith("proxy-"):
                    head += "%s: %s\r\n" % (n, v)
            o.sendall(head.encode("latin-1") + b"\r\n")
        if rest:
            o.sendall(rest)
        try:
            self.relay(c, Plain(o))
        finally:
            o.close()

    def relay(self, c, o):
        """Both ways until both have ended; an end travels on as a
        half-close."""
        open_ = {c: o, o: c}
        while open_:
            r, _, _ = select.select(list(open_), [], [], 60)
            if not r:
                return
            for src in r:
                d = src.recv()
                if d is None:
                    continue
                dst = open_[src]
                if d:
                    dst.send(d)
                    if not src.ended:
                        continue
                del open_[src]
                try:
                    dst.shut_wr()
                except OSError:
                    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth")
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    proxy = Proxy(args)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    open(args.log, "a").close()
    print("ready", flush=True)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=proxy.serve, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
