#!/usr/bin/env python3
"""A test upstream (corporate) proxy: an honest CONNECT proxy that also
forwards absolute-form http:// requests, and records, one JSON line per
request in --log, the request line, every Proxy-Authorization value it
got and what it answered.

    upstream.py --port N [--tls CERT KEY] [--auth VALUE] [--coalesce MS]
                [--split-records] --log FILE

--tls        listen with TLS (the proxy itself is https://)
--auth       the exact Proxy-Authorization value required; anything
             else gets 407 with Proxy-Authenticate and the connection
             closes
--coalesce   gather what the destination sends for MS milliseconds and
             pass it on in one write (one TLS record), as a buffering
             proxy may: records of the tunnelled TLS then share one
             record of ours
--split-records
             the opposite: when the destination speaks TLS, pass each
             of its TLS records on in a write (a TLS record) of its own

CONNECT host:port dials host:port, answers 200 and relays both ways
until both sides have closed, passing each side's end of stream on as
a half-close (close_notify then FIN on the TLS side).  It never
decrypts what it relays.
"""
import argparse, json, select, socket, ssl, sys, threading, time
from urllib.parse import urlsplit

HEAD_MAX = 64 * 1024


class Plain:
    """The client side without TLS."""

    ended = False

    def __init__(self, sock):
        self.sock = sock

    def buffered(self):
        return False

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
        self.buf = b""      # decrypted, not yet handed out
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
        # The peer's first bytes may have come with its Finished.
        self.drain()

    def fileno(self):
        return self.sock.fileno()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def drain(self):
        """Decrypt everything that has arrived."""
        while not self.ended:
            try:
                d = self.obj.read(65536)
            except ssl.SSLWantReadError:
                return
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                d = b""
            if not d:
                self.ended = True
                return
            self.buf += d

    def buffered(self):
        """Whether recv() answers without waiting for the socket."""
        return bool(self.buf) or self.ended

    def recv(self):
        """Application bytes, b"" at end of stream, None when a TLS
        record is not complete yet."""
        if not self.buffered():
            raw = self.sock.recv(65536)
            if raw:
                self.inc.write(raw)
            else:
                self.inc.write_eof()
            self.drain()
            self.flush()
            if not raw:
                self.ended = True
            if not self.buffered():
                return None
        d, self.buf = self.buf, b""
        return d

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


class Splitter:
    """Cuts a TLS byte stream at its record boundaries (the 5-byte
    record header says how long each is); anything else passes as it
    comes."""

    def __init__(self):
        self.buf = b""
        self.tls = None

    def feed(self, data):
        self.buf += data
        if self.tls is None:
            self.tls = self.buf[:1] in (b"\x14", b"\x15", b"\x16", b"\x17")
        if not self.tls:
            out, self.buf = [self.buf], b""
            return out
        out = []
        while len(self.buf) >= 5:
            n = 5 + int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < n:
                break
            out.append(self.buf[:n])
            self.buf = self.buf[n:]
        return out

    def rest(self):
        out, self.buf = self.buf, b""
        return [out] if out else []


class Proxy:
    def __init__(self, args):
        self.log = args.log
        self.auth = args.auth
        self.coalesce = args.coalesce / 1000.0
        self.split = args.split_records
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
            self.relay(c, Plain(o), self.coalesce,
                       Splitter() if self.split else None)
        finally:
            o.close()

    @staticmethod
    def gather(src, d, window):
        """More of what src sends within window seconds, after d."""
        end = time.monotonic() + window
        while not src.ended:
            left = end - time.monotonic()
            if left <= 0 or not select.select([src], [], [], left)[0]:
                break
            more = src.recv()
            if not more:
                src.ended = True
                break
            d += more
        return d

    def relay(self, c, o, window=0, split=None):
        """Both ways until both have ended; an end travels on as a
        half-close."""
        open_ = {c: o, o: c}
        while open_:
            r = [s for s in open_ if s.buffered()]
            if not r:
                r, _, _ = select.select(list(open_), [], [], 60)
            if not r:
                return
            for src in r:
                d = src.recv()
                if d is None:
                    continue
                dst = open_[src]
                if d and src is o and window > 0:
                    d = self.gather(o, d, window)
                if src is o and split is not None:
                    chunks = split.feed(d) if d else []
                    if not d or src.ended:
                        chunks += split.rest()
                else:
                    chunks = [d] if d else []
                for chunk in chunks:
                    dst.send(chunk)
                if d and not src.ended:
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
    ap.add_argument("--coalesce", type=int, default=0, metavar="MS")
    ap.add_argument("--split-records", action="store_true")
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
