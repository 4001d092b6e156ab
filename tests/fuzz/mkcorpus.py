#!/usr/bin/env python3
"""Write the seed corpora in tests/fuzz/corpus/<harness>/ from the unit
test tables, so that every harness starts from the cases we already know
matter (good inputs, each refusal, each edge) rather than from nothing.

The tables are read from the C preprocessor's output, not from the
source text: the cases are built with macros (R(), RL, HOST, REQ, ...),
and only the preprocessor expands them exactly as the compiler does.
Each harness's own input format (a selector byte, a framing header) is
added here.  Run from anywhere, as `make fuzz-corpus`; the directories
are rewritten from scratch, so the result depends only on the tables.

With --add, nothing is removed or rewritten: each seed whose bytes are
not in its directory yet is added under the next free number of its
table.  A table that grew then adds its new cases without dropping the
seeds that the cap would leave out now (nor what a fuzzer found and
someone kept).
"""

import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
UNIT = os.path.join(ROOT, "tests", "unit")
PKGS = ["libtls", "libcrypto", "yaml-0.1", "libbsd-overlay", "check"]

# "A few dozen small files" per harness: enough to reach every branch
# the tables reach, small enough to read and to replay in CI.
MAX_FILES = 60
MAX_BYTES = 4096

HDR = 20                # sizeof(struct imsg_hdr): five uint32_t


# --- reading the tables -------------------------------------------------

TOKEN = re.compile(r'''
    (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<chr>'(?:[^'\\\n]|\\.)*')
  | (?P<num>(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>[{}()\[\],;=])
  | (?P<other>[^\s])
''', re.VERBOSE)


def preprocess(path):
    """The translation unit as the compiler sees it, without line marks."""
    cflags = subprocess.run(["pkg-config", "--cflags"] + PKGS, check=True,
                            capture_output=True, text=True).stdout.split()
    cmd = [os.environ.get("CC", "cc"), "-E", "-P", "-std=c11",
           "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "common"),
           "-I" + UNIT] + cflags + [path]
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True, errors="surrogateescape").stdout


def tokens(text):
    return [(m.lastgroup, m.group()) for m in TOKEN.finditer(text)]


def c_string(lit):
    """The bytes of one C string literal, escapes decoded."""
    body = lit[1:-1].encode("latin-1", "surrogateescape")
    out = bytearray()
    simple = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("v"): 11,
              ord("f"): 12, ord("a"): 7, ord("b"): 8, ord("\\"): 92,
              ord("'"): 39, ord('"'): 34, ord("?"): 63}
    i = 0
    while i < len(body):
        c = body[i]
        if c != ord("\\"):
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == ord("x"):
            j = i + 2
            while j < len(body) and chr(body[j]) in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 2:j], 16) & 0xff)
            i = j
        elif chr(e) in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and chr(body[j]) in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8) & 0xff)
            i = j
        else:
            raise ValueError("unknown escape in " + lit)
    return bytes(out)


def group(toks, i):
    """Parse one initializer item at toks[i]: a list for a braced group,
    else the tokens up to the next top-level ',' or '}'."""
    if toks[i][1] == "{":
        items, i = [], i + 1
        while toks[i][1] != "}":
            item, i = group(toks, i)
            items.append(item)
            if toks[i][1] == ",":
                i += 1
        return items, i + 1
    start, depth = i, 0
    while depth > 0 or toks[i][1] not in (",", "}", ";"):
        if toks[i][1] in ("(", "["):
            depth += 1
        elif toks[i][1] in (")", "]"):
            depth -= 1
        i += 1
    return Expr(toks[start:i]), i


class Expr:
    """One field: string literals (concatenated) or an expression."""

    def __init__(self, toks):
        self.toks = toks

    def is_string(self):
        return bool(self.toks) and all(k == "str" for k, _ in self.toks)

    def bytes(self):
        return b"".join(c_string(v) for _, v in self.toks)

    def text(self):
        return " ".join(v for _, v in self.toks)

    def int(self):
        """Integer constant expressions as the tables write them."""
        s = self.text().replace("sizeof ( struct imsg_hdr )", str(HDR))
        s = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", s)
        s = re.sub(r"\( *(size_t|ssize_t|uint32_t|int) *\)", "", s)
        if not re.fullmatch(r"[\s0-9a-fA-FxX()+\-*/|&<>~]*", s):
            raise ValueError("not an integer constant: " + s)
        return int(eval(s.replace("/", "//"), {"__builtins__": {}}))

    def ident(self):
        return self.toks[0][1] if len(self.toks) == 1 else None


def table(text, name):
    """The entries of `name[...] = { ... }` (or of a string array)."""
    toks = tokens(text)
    for i in range(len(toks) - 1):
        if toks[i] != ("id", name) or toks[i + 1][1] != "[":
            continue
        j = i + 1
        while toks[j][1] != "=":
            j += 1
        value, _ = group(toks, j + 1)
        return value
    raise KeyError(name + " not found")


def unit(name):
    return preprocess(os.path.join(UNIT, "test_%s.c" % name))


def defines(name):
    """String macros of a unit test source, as written (REQ_LISTEN...)."""
    out = {}
    with open(os.path.join(UNIT, "test_%s.c" % name), encoding="latin-1") as f:
        for m in re.finditer(r'^#define\s+(\w+)\s+((?:"(?:[^"\\]|\\.)*"\s*)+)$',
                             f.read(), re.M):
            out[m.group(1)] = Expr(tokens(m.group(2))).bytes()
    return out


def strings(entries, field):
    """Field `field` of every entry that is a string (NULL is skipped)."""
    for e in entries:
        f = e[field] if isinstance(e, list) else e
        if isinstance(f, Expr) and f.is_string():
            yield f.bytes()


# --- the seeds of each harness ------------------------------------------

def http_seeds():
    t = unit("http")
    req, resp, body = [], [], []
    for e in table(t, "req_good"):
        raw, blen = e[0].bytes(), e[2].int()
        req.append(("req_good", raw))
        if e[6].ident() == "HTTP_BODY_LENGTH" and blen > 0:
            n = e[7].int()
            body.append(("req_good", bytes([1, 0, n >> 8, n & 0xff]) +
                         raw[len(raw) - blen:]))
    req += [("req_bad", s) for s in strings(table(t, "req_bad"), 0)]
    for e in table(t, "pipe_cases"):
        raw, blen = e[0].bytes(), e[1].int()
        req.append(("pipe", raw))
        if blen > 0:
            framing = 2 if b"chunked" in raw else 1
            body.append(("pipe", bytes([framing, 1, blen >> 8, blen & 0xff])
                         + raw[len(raw) - blen:]))
    for name, h, c in (("resp_good", 3, 4), ("resp_bad", 2, 3)):
        for e in table(t, name):
            flags = e[h].int() | e[c].int() << 1
            resp.append((name, bytes([flags]) + e[0].bytes()))
    for i, e in enumerate(table(t, "chunk_cases")):
        body.append(("chunk", bytes([2, i % 8, 0, 0]) + e[0].bytes()))
    # The other framings need only a few: their rules are short.
    for framing in (0, 3):
        for i, e in enumerate(table(t, "chunk_cases")[:3]):
            body.append(("chunk", bytes([framing, i, 0, 0]) + e[0].bytes()))
    return req, resp, body


def rewrite_seeds():
    t = unit("rewrite")
    provs = {"P_ANTHROPIC": 0, "P_OPENAI": 1, "P_OPENROUTER": 2,
             "P_COPILOT": 3}
    ports = {443: 0, 80: 1, 8443: 2}
    seeds, heads = [], []
    for e in table(t, "request_cases"):
        head = e[2].bytes()
        heads.append(("request_cases", head))
        seeds.append(("request_cases",
                      bytes([provs[e[1].ident()]]) + head))
    for e in table(t, "target_cases"):
        target = e[3].bytes()
        if not target or re.search(rb"[\x00-\x20\x7f-\xff#]", target):
            continue        # the parser refuses it before the rewrite
        sel = (provs[e[0].ident()] | (4 if e[1].bytes() else 0) |
               ports.get(e[2].int(), 0) << 3)
        seeds.append(("target_cases", bytes([sel]) + b"GET " + target +
                      b" HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n"))
    return seeds, heads


def auth_seeds():
    return [("token_cases", s) for s in strings(table(unit("auth"),
                                                      "token_cases"), 0)]


def hostname_seeds():
    t = unit("hostname")
    return [(n, s) for n in ("canon_cases", "ip_cases", "split_cases")
            for s in strings(table(t, n), 0)]


def proxyproto_seeds():
    return [("pp_cases", s) for s in strings(table(unit("proxyproto"),
                                                   "pp_cases"), 0)]


def frame(typ, length, flags, peerid, payload=b""):
    return struct.pack("=5I", typ, length, flags, peerid, 0) + payload


def pattern(n, seed):
    # The unit tests' payload pattern, so the seeds look like theirs.
    return bytes((i * 31 + seed + (i >> 8)) & 0xff for i in range(n))


def imsg_seeds():
    t = unit("imsg")
    seeds = []
    for i, e in enumerate(table(t, "rt_cases")):
        typ, peer, l1, l2 = (e[0].int(), e[1].int(), e[2].int(),
                             e[3].int())
        if HDR + l1 + l2 > MAX_BYTES - 2:
            continue
        size = 1 if HDR + l1 + l2 <= 1024 else 2
        seeds.append(("rt_cases", bytes([size, i % 8]) +
                      frame(typ, HDR + l1 + l2, 0, peer,
                            pattern(l1 + l2, 1))))
    for i, e in enumerate(table(t, "hdr_cases")):
        length, flags, fdpass, sendlen = (e[0].int(), e[1].int(),
                                          e[2].int(), e[3].int())
        raw = frame(42, length, flags, 0).ljust(sendlen, b"\0")
        seeds.append(("hdr_cases", bytes([1 | fdpass << 2, 7]) + raw))
        if flags & 1:
            # The same with a descriptor on the first write.
            seeds.append(("hdr_cases", bytes([1 | fdpass << 2 | 8, 7]) +
                          raw))
    for e in table(t, "split_lens"):
        n = e.int()
        two = frame(11, HDR + n, 0, 12, pattern(n, 3)) + frame(13, HDR, 0, 14)
        seeds.append(("split_lens", bytes([1, 0]) + two))
    for e in table(t, "cut_lens"):
        full = frame(5, HDR + 20, 0, 0, b"p" * 20)
        seeds.append(("cut_lens", bytes([1, 3]) + full[:e.int()]))
    return seeds


def config_seeds():
    t = unit("config")
    d = defines("config")
    req = d["REQ_LISTEN"] + d["REQ_CA"] + d["REQ_BRIDGE"] + d["REQ_PROVIDERS"]
    seeds = [("full_text", table(t, "full_text").bytes())]
    seeds += [("bad", s) for s in strings(table(t, "bad"), 1)]
    for url in strings(table(t, "bridge_good"), 0):
        seeds.append(("bridge_good", d["REQ_LISTEN"] + d["REQ_CA"] +
                      b'bridge:\n  url: "' + url + b'"\n' +
                      d["REQ_PROVIDERS"]))
    for url in strings(table(t, "upstream_good"), 0):
        seeds.append(("upstream_good", req + b'upstream:\n  url: "' + url +
                      b'"\n'))
    for s in strings(table(t, "durations"), 0):
        seeds.append(("durations", req + b"timeouts:\n  header: " + s +
                      b"\n"))
    with open(os.path.join(ROOT, "etc", "aibproxyd.yaml"), "rb") as f:
        sample = f.read().replace(b"/etc/aibproxyd/", b"@D@/")
    # Its comments are for people: without them it is a small seed.
    sample = re.sub(rb"(?m)^\s*#.*\n", b"", sample)
    seeds.append(("sample", sample))
    return seeds


# --- writing ------------------------------------------------------------

def pick(seeds):
    """Unique, small, at most MAX_FILES, taken round-robin over the
    tables so that each contributes (good cases and refusals alike)."""
    by_table, seen = {}, set()
    for name, data in seeds:
        if len(data) > MAX_BYTES or data in seen:
            continue
        seen.add(data)
        by_table.setdefault(name, []).append(data)
    out, counters = [], {n: 0 for n in by_table}
    while len(out) < MAX_FILES and any(by_table.values()):
        for name in list(by_table):
            if by_table[name] and len(out) < MAX_FILES:
                # Spread over the table, not only its first rows.
                rows = by_table[name]
                k = (counters[name] * 7) % len(rows)
                out.append(("%s-%02d" % (name, counters[name]), rows.pop(k)))
                counters[name] += 1
    return out


def add(path, chosen):
    """The seeds of chosen whose bytes are new to path, renumbered."""
    have, last = set(), {}
    for fname in os.listdir(path):
        with open(os.path.join(path, fname), "rb") as f:
            have.add(f.read())
        name, _, n = fname.rpartition("-")
        if n.isdigit():
            last[name] = max(last.get(name, -1), int(n))
    out = []
    for fname, data in chosen:
        if data in have:
            continue
        have.add(data)
        name = fname.rpartition("-")[0]
        last[name] = last.get(name, -1) + 1
        out.append(("%s-%02d" % (name, last[name]), data))
    return out


def write(harness, seeds, adding=False):
    path = os.path.join(CORPUS, harness)
    chosen = pick(seeds)
    if adding and os.path.isdir(path):
        chosen = add(path, chosen)
    else:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    for fname, data in chosen:
        with open(os.path.join(path, fname), "wb") as f:
            f.write(data)
    print("%-14s %3d seeds%s" % (harness, len(chosen),
                                 " added" if adding else ""))


def main():
    if sys.argv[1:] not in ([], ["--add"]):
        print("usage: mkcorpus.py [--add]", file=sys.stderr)
        return 2
    a = sys.argv[1:] == ["--add"]
    req, resp, body = http_seeds()
    rewrite, heads = rewrite_seeds()
    write("http_request", req + heads, a)
    write("http_response", resp, a)
    write("http_body", body, a)
    write("rewrite", rewrite, a)
    write("auth", auth_seeds(), a)
    write("hostname", hostname_seeds(), a)
    write("imsg", imsg_seeds(), a)
    write("config", config_seeds(), a)
    write("proxyproto", proxyproto_seeds(), a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
