#!/usr/bin/env python3
"""aibproxyd benchmarks: every number through the proxy is printed next to
the same measurement made directly, in the same run, and their ratio.

    bench.py --stage DIR [--only 1,3] [--seconds 10]

Run by run.sh (make bench), as root.  Everything listens on 127.0.0.1 and
lives in one temporary directory (kept if KEEP is set); every process
started here is stopped, and the directory removed, before it returns.
BENCH_PERF=1 adds a perf profile of the proxy workers to the hey runs.
Row 7 runs --floor, the least CONNECT relay (floor.c), as a yardstick.
"""
import argparse
import fcntl
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import squid as squidmod
from scale import Scale

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PEERS = os.path.join(HERE, "peers.py")
CROWD = os.path.join(HERE, "crowd.py")
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
GIB = 1 << 30
TOKEN = "abcdefghij-0123456789012345678901"
PROVIDER = "api.anthropic.com"
BRIDGE_PATH = "/api/v2/aibridge/anthropic/v1/messages"
BODY = ('{"model":"claude-bench","max_tokens":16,'
        '"messages":[{"role":"user","content":"hello"}]}')
F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
TRIES = 2	# attempts at a timed run while other load disturbs it
NOISE = 0.10	# of one core: more than this used by others disturbs
# The descriptors aibproxyd budgets per client connection and per worker
# (FD_PER_CONN, FD_BASE + FD_POOLS + a listener in parent_config.c): it
# refuses a limits.connections that does not fit in RLIMIT_NOFILE.
FD_PER_CONN = 6
FD_FIXED = 240
WORKERS_MAX = 64	# AIB_WORKERS_MAX, config.h
# Each worker accepts from a listening socket of its own (SO_REUSEPORT),
# and the kernel hashes connections over them: of N over W workers each
# gets N/W within a few times sqrt(N/W) (binomial), so a worker's share
# keeps SIGMAS of those free, and 64 for the bench's own connections.
SIGMAS = 6
PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
             "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_ENV}
    env.update(extra)
    return env


# CPU accounting -----------------------------------------------------------

def proc_ticks(pid):
    """User and system clock ticks of one process, (0, 0) once gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]), int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0, 0


def group_ticks(pids):
    t = [proc_ticks(p) for p in pids]
    return sum(u for u, _ in t), sum(s for _, s in t)


def machine_ticks():
    """Busy, softirq and total ticks of all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, v[6], sum(v[:8])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


class CpuMeter:
    """CPU seconds used over an interval by named groups of processes,
    by the client (the children reaped meanwhile), by softirq (network
    processing, charged to no process) and by the whole machine."""

    def __init__(self, groups):
        self.groups = groups	# name -> list of pids

    def snap(self):
        g = {n: group_ticks(pids) for n, pids in self.groups.items()}
        g = {n: (u / HZ, s / HZ) for n, (u, s) in g.items()}
        g["client"] = children_cpu()
        return g, machine_ticks()

    def __enter__(self):
        self.t0 = time.monotonic()
        self.g0, self.m0 = self.snap()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        g1, m1 = self.snap()
        # name -> (total seconds, share spent in the kernel)
        self.cpu = {}
        for n in g1:
            u = g1[n][0] - self.g0[n][0]
            s = g1[n][1] - self.g0[n][1]
            self.cpu[n] = (u + s, s / (u + s) if u + s > 0 else 0.0)
        span = max(1, m1[2] - self.m0[2])
        self.busy = (m1[0] - self.m0[0]) / span
        self.softirq = (m1[1] - self.m0[1]) / span * NCPU * self.wall
        return False

    def rest(self):
        """What ran besides us: kernel threads, or someone else's load,
        which makes the comparison unfair."""
        used = self.busy * NCPU * self.wall
        return max(0.0, used - sum(c for c, _ in self.cpu.values()) -
                   self.softirq)

    def other(self):
        """The same as a share of one core."""
        return self.rest() / self.wall

    def text(self, per=1, unit="run", scale=1.0, sunit="s"):
        """CPU per unit of work (per: how many units), each part's share
        of one core over the wall clock, and how busy the machine was."""
        def part(name, secs, sys_share=None):
            t = "%s %.0f %s (%.0f %%" % (name, secs / per * scale, sunit,
                                        100 * secs / self.wall)
            if sys_share is not None:
                t += ", %.0f %% sys" % (100 * sys_share)
            return t + ")"
        parts = [part(n, c, k if n in ("proxy", "squid", "floor") else None)
                 for n, (c, k) in self.cpu.items() if c > 0]
        parts.append(part("softirq", self.softirq))
        parts.append(part("rest", self.rest()))
        used = self.busy * NCPU * self.wall
        return ("cpu per %s: " % unit + ", ".join(parts) +
                "\n            = machine %.0f %s, busy %.0f %% of %d cores" % (
                    used / per * scale, sunit, 100 * self.busy, NCPU))


# Processes ----------------------------------------------------------------

class Procs:
    """Every long-lived process started, each in its own process group so
    its children go with it."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("env", clean_env())
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15.0):
        if p not in self.procs:
            return
        self.procs.remove(p)
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                f.close()

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def child_pids(ppid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid:
            pids.append(int(d))
    return sorted(pids)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = child_pids(todo.pop())
        out += kids
        todo += kids
    return sorted(out)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


# The world: certificates, nginx, the daemon -------------------------------

class World:
    free_port = staticmethod(free_port)
    wait_port = staticmethod(wait_port)
    descendants = staticmethod(descendants)
    cmdline = staticmethod(cmdline)

    def __init__(self, stage, tmp, procs, nofile, floor_bin=None):
        self.stage = stage
        self.floor_bin = floor_bin	# tests/bench/floor.c, built
        self.floor = None
        self.t = tmp
        self.procs = procs
        self.nofile = nofile	# descriptors each process may have
        self.nginx = None
        self.daemon = None
        self.daemon_log = None
        self.workers_n = 0
        self.port = {n: free_port() for n in
                     ("http", "https", "bridge", "direct", "status", "hold",
                      "sse")}
        # More origins that only hold connections, for more tunnels than
        # one process may have descriptors (bench_idle_tunnels).
        self.holds = [self.port["hold"]] + [free_port() for _ in range(7)]
        self.squid = squidmod.Squid(self, PROVIDER)
        self.squid_why = squidmod.available()

    def path(self, *p):
        return os.path.join(self.t, *p)

    def openssl(self, *args):
        subprocess.run(("openssl",) + args, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def make_ca(self, name, cn):
        key, crt = self.path("pki", name + ".key"), self.path("pki",
                                                              name + ".crt")
        self.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                     "-out", key)
        os.chmod(key, 0o400)
        self.openssl("req", "-new", "-x509", "-days", "7", "-key", key,
                     "-out", crt, "-subj", "/CN=" + cn,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def make_pki(self):
        """The MITM CA, and an origin CA with the one leaf nginx and the
        SSE bridge serve (P-256 like the proxy's leaves, so handshakes
        cost the same on both sides)."""
        os.makedirs(self.path("pki"))
        self.make_ca("mitm-ca", "aibproxyd bench MITM CA")
        self.make_ca("origin-ca", "aibproxyd bench origin CA")
        if self.squid_why is None:
            self.squid.prepare()
        key, csr, crt = (self.path("pki", "origin." + e)
                         for e in ("key", "csr", "crt"))
        ext = self.path("pki", "origin.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                     "-out", key)
        os.chmod(key, 0o444)	# nginx reads it as root, the bridge too
        self.openssl("req", "-new", "-key", key, "-out", csr,
                     "-subj", "/CN=localhost")
        self.openssl("x509", "-req", "-in", csr, "-CA",
                     self.path("pki", "origin-ca.crt"), "-CAkey",
                     self.path("pki", "origin-ca.key"), "-CAcreateserial",
                     "-days", "7", "-extfile", ext, "-out", crt)
        # Clients trust them all: the origin directly, the proxies'
        # leaves.
        with open(self.path("pki", "trust.pem"), "w") as out:
            for n in ("origin-ca.crt", "mitm-ca.crt", "squid-ca.crt"):
                if not os.path.exists(self.path("pki", n)):
                    continue
                with open(self.path("pki", n)) as f:
                    out.write(f.read())

    def make_files(self):
        www = self.path("www")
        os.makedirs(www)
        with open(os.path.join(www, "1g"), "wb") as f:
            f.truncate(GIB)
        with open(os.path.join(www, "small"), "wb") as f:
            f.write(b"x" * 128)
        # Into the page cache now, not during the first timed run.
        with open(os.path.join(www, "1g"), "rb") as f:
            while f.readinto(bytearray(8 << 20)):
                pass

    def nginx_conf(self):
        n = self.path("nginx")
        p = self.port
        pki = self.path("pki")
        # aibproxyd rewrites the path to the bridge's; Squid does not.
        bridge = " ".join("location %s { default_type application/json; "
                          "return 200 '{\"ok\":true}'; }" % l for l in
                          ("/api/v2/aibridge/", "/v1/"))
        return """
worker_processes %(ncpu)d;
pid %(n)s/nginx.pid;
error_log %(n)s/error.log warn;
worker_rlimit_nofile %(nofile)d;
events { worker_connections %(nofile)d; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 300s;
	keepalive_requests 10000000;
	client_body_temp_path %(n)s/body;
	proxy_temp_path %(n)s/proxy;
	fastcgi_temp_path %(n)s/fastcgi;
	uwsgi_temp_path %(n)s/uwsgi;
	scgi_temp_path %(n)s/scgi;
	log_format conn '$connection $connection_requests $request_method '
	    '$status';
	ssl_certificate %(pki)s/origin.crt;
	ssl_certificate_key %(pki)s/origin.key;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_cache off;
	ssl_session_tickets off;
	types { application/octet-stream 1g; text/plain small; }

	# The origin of the tunnel benchmarks.
	server { listen 127.0.0.1:%(http)d; root %(www)s; }
	server { listen 127.0.0.1:%(https)d ssl; root %(www)s; }
	# The bridge the proxy uses, and its twin that clients use directly.
	server {
		listen 127.0.0.1:%(bridge)d ssl;
		access_log %(n)s/bridge.log conn buffer=256k flush=100ms;
		%(loc)s
	}
	server { listen 127.0.0.1:%(direct)d ssl; %(loc)s }
	server {
		listen 127.0.0.1:%(status)d;
		location / { stub_status; }
	}
}
""" % dict(ncpu=NCPU, n=n, pki=pki, www=self.path("www"), loc=bridge,
           nofile=self.nofile, **p)

    def start_nginx(self):
        conf = self.path("nginx.conf")
        os.makedirs(self.path("nginx"))
        with open(conf, "w") as f:
            f.write(self.nginx_conf())
        self.nginx = self.procs.start(
            ["nginx", "-c", conf, "-e", self.path("nginx", "error.log"),
             "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        for name in ("http", "https", "bridge", "direct", "status"):
            if not wait_port(self.port[name], self.nginx):
                raise RuntimeError("nginx did not start: %s" %
                                   self.tail(self.path("nginx", "error.log")))

    def nginx_workers(self):
        return child_pids(self.nginx.pid)

    def nginx_status(self):
        """(accepted connections, requests) over nginx's lifetime."""
        with socket.create_connection(("127.0.0.1",
                                       self.port["status"])) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                more = s.recv(4096)
                if not more:
                    break
                data += more
        m = re.search(rb"\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n", data)
        return int(m.group(1)), int(m.group(3))

    def config(self, workers, bridge_port, conns):
        return """workers: %d
listen:
  - address: 127.0.0.1:%d
ca:
  cert: %s
  key: %s
bridge:
  url: https://localhost:%d
  ca: %s
providers:
  - { name: anthropic, host: %s }
tunnel:
  ports: [443, %s]
  allowed_private_cidrs: [127.0.0.1/32]
limits: { connections: %d }
""" % (workers, self.proxy_port, self.path("pki", "mitm-ca.crt"),
            self.path("pki", "mitm-ca.key"), bridge_port,
            self.path("pki", "origin-ca.crt"), PROVIDER,
            ", ".join(str(x) for x in [self.port["http"], self.port["https"]]
                      + self.holds), conns)

    def room(self):
        """The connections one worker fits in the descriptor limit
        (FD_PER_CONN), and how many of them an even share may fill."""
        room = max(1, (self.nofile - FD_FIXED) // FD_PER_CONN)
        return room, max(1, int(room - SIGMAS * math.sqrt(room) - 64))

    def fit_workers(self, workers, conns):
        """At least so many workers, as many more as conns need to fit
        in the descriptor limit; and the limits.connections that fits
        them.  Each worker admits only its share, and gets about an
        even share of conns (SIGMAS)."""
        room, even = self.room()
        workers = max(workers, math.ceil(conns / even))
        return workers, workers * room

    def start_daemon(self, workers, bridge_port, conns=0):
        """aibproxyd with at least so many workers; more when conns
        client connections need them (fit_workers)."""
        self.stop_daemon()
        workers, limit = self.fit_workers(workers, conns)
        self.workers_n = workers
        self.proxy_port = free_port()
        conf = self.path("aibproxyd.yaml")
        with open(conf, "w") as f:
            f.write(self.config(workers, bridge_port, min(limit, 1000000)))
        self.daemon_log = self.path("daemon-%d.log" % self.proxy_port)
        log = open(self.daemon_log, "w")
        self.daemon = self.procs.start(
            [os.path.join(self.stage, "sbin", "aibproxyd"), "-d", "-f",
             conf], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with open(self.daemon_log) as f:
                if "parent: started" in f.read():
                    break
            if self.daemon.poll() is not None:
                break
            time.sleep(0.05)
        if not wait_port(self.proxy_port, self.daemon, 5):
            raise RuntimeError("aibproxyd did not start: %s" %
                               self.tail(self.daemon_log))
        # Its workers exist once it listens; wait until all are there.
        end = time.monotonic() + 5
        while len(self.workers()) < workers and time.monotonic() < end:
            time.sleep(0.05)

    def stop_daemon(self):
        if self.daemon is not None:
            self.procs.stop(self.daemon)
            self.daemon = None

    def workers(self):
        return [p for p in child_pids(self.daemon.pid)
                if cmdline(p).startswith("aibproxyd: proxy")]

    def floor_missing(self):
        """Why the floor relay cannot run, or None."""
        if not self.floor_bin:
            return "no --floor (run.sh gives O/tests/bench/floor when O is set)"
        if not os.access(self.floor_bin, os.X_OK):
            return "%s is not built (make bench builds it)" % self.floor_bin
        return None

    def start_floor(self, procs):
        """Row 7's yardstick (tests/bench/floor.c) with procs processes;
        it listens on every one before it forks, so the port answering
        means all are there."""
        self.stop_floor()
        self.floor_port = free_port()
        self.floor = self.procs.start([self.floor_bin, str(self.floor_port),
                                       str(procs)])
        if not wait_port(self.floor_port, self.floor):
            raise RuntimeError("the floor relay did not start")

    def stop_floor(self):
        """SIGTERM: its parent stops its workers, and Procs.stop kills
        what is left of its process group."""
        if self.floor is not None:
            self.procs.stop(self.floor)
            self.floor = None

    def floor_pids(self):
        if self.floor is None:
            return []
        return [self.floor.pid] + child_pids(self.floor.pid)

    @staticmethod
    def tail(path, n=15):
        try:
            with open(path) as f:
                return "\n" + "".join("    " + l for l in
                                      f.readlines()[-n:])
        except OSError:
            return "(no log)"


# Results ------------------------------------------------------------------

class Result:
    """One summary row.  vs_squid is aibproxyd's figure over Squid's:
    above 1 is better for rates, below 1 for costs (memory, latency).
    budget, for the rate rows that have one (3, 4 and 7): a Budget."""

    def __init__(self, name, direct, proxy, ratio, target, ok, note="",
                 squid="-", vs_squid="-", budget=None, cpu_floor=None):
        self.row = [name, direct, proxy, squid, ratio, vs_squid, target,
                    "ok" if ok else "MISSED"]
        self.note = note
        self.other = 0.0
        self.budget = budget
        self.cpu_floor = cpu_floor	# a row's CPU target against its floor


def proxy_budget(h, group, target_rps):
    """The CPU per request (us) that the proxy (the CpuMeter group) could
    spend in run h and still reach target_rps, with what else h measured
    held as it was; and the two figures held, (budget, others' us per
    request, busy cores).

    The assumption: the machine stays as busy as in h (busy_cores, its
    "busy NN % of 2 cores") and every other process (client, origin,
    softirq, the rest) spends the same CPU per request, so that the rate
    is busy_cores over the machine's CPU per request.  With the proxy at
    x instead of its measured cost:
        target_rps = busy_cores / (machine - proxy + x)
        x = busy_cores / target_rps - (machine - proxy)
    Below zero: not even a proxy that cost nothing would reach it.  The
    budget is the difference of two figures of the size of the
    machine's CPU per request, so it moves with them from run to run."""
    if target_rps <= 0:
        raise ValueError("no rate to reach")
    m = h.cpu
    busy = m.busy * NCPU
    machine = busy * m.wall / max(1, h.ok)
    others = machine - m.cpu.get(group, (0, 0))[0] / max(1, h.ok)
    return (busy / target_rps - others) * 1e6, others * 1e6, busy


class Budget:
    """A rate row's budget next to its floor: the proxy CPU per unit
    (us) that would meet the row's target in this run (proxy_budget),
    and what a minimal program doing (part of) the proxy's job costs in
    the same run (who).  Out of reach means: while everything else
    costs what it did in this run."""

    def __init__(self, us, floor, who, unit):
        self.us, self.floor, self.who, self.unit = us, floor, who, unit

    def reachable(self):
        return self.us >= self.floor

    def verdict(self):
        if self.us <= 0:
            return ("out of reach on this machine, the others' costs "
                    "staying as measured: a "
                    "proxy would have to cost nothing at all (%.0f us), "
                    "and %s spends %.0f us" % (self.us, self.who,
                                               self.floor))
        if not self.reachable():
            return ("out of reach on this machine, the others' costs "
                    "staying as measured: a "
                    "proxy would have to cost %.0f us, less than the %.0f "
                    "us that %s spends" % (self.us, self.floor, self.who))
        return ("not below the floor: a proxy costing %.0f us would reach "
                "the target, %.0f us more than %s spends" % (
                    self.us, self.us - self.floor, self.who))

    def summary(self):
        return "budget %.0f us of proxy CPU per %s, floor %.0f us (%s): %s" % (
            self.us, self.unit, self.floor, self.who,
            "below the floor, out of reach here" if not self.reachable()
            else "within reach")


def times(a, b):
    """a over b as "N.NN x", or "-" without b."""
    return "%.2f x" % (a / b) if b else "-"


def result_line(value, target, ok, label="ratio"):
    return "   %-8s %-9s target %-12s %s" % (label, value, target,
                                            "ok" if ok else "MISSED")


def vs_squid_line(text):
    return "   vs Squid %s" % text


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


# hey ----------------------------------------------------------------------

class Hey:
    """One hey run, parsed."""

    def __init__(self, out, secs):
        self.out = out
        codes = dict((int(c), int(n)) for c, n in
                     re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
        self.ok = codes.get(200, 0)
        self.other = sum(n for c, n in codes.items() if c != 200)
        m = re.search(r"Error distribution:\n((?:\s+\[\d+\].*\n?)*)", out)
        self.errlines = m.group(1).strip().splitlines() if m else []
        self.errors = sum(int(re.match(r"\s*\[(\d+)\]", l).group(1))
                          for l in self.errlines)
        m = re.search(r"Total:\s+([\d.]+) secs", out)
        self.secs = float(m.group(1)) if m else secs
        self.rps = self.ok / self.secs if self.secs else 0.0
        lat = dict(re.findall(r"(\d+)%+ in ([\d.]+) secs", out))
        self.p50 = float(lat.get("50", 0)) * 1000
        self.p99 = float(lat.get("99", 0)) * 1000

    def text(self):
        s = "%9.0f req/s  (%d ok, p50 %.2f ms, p99 %.2f ms" % (
            self.rps, self.ok, self.p50, self.p99)
        if self.other or self.errors:
            s += ", %d non-200, %d errors" % (self.other, self.errors)
        return s + ")"


class Download:
    def __init__(self, speed, cpu):
        self.speed = speed	# GiB/s
        self.cpu = cpu


class Streams:
    def __init__(self):
        self.direct = []	# latencies in microseconds
        self.proxy = []
        self.squid = []
        self.cpu = None


class Bench(Scale):
    # For Scale, which cannot import this file.
    Result = Result
    CpuMeter = CpuMeter
    FD_FIXED, FD_PER_CONN = FD_FIXED, FD_PER_CONN
    WORKERS_MAX = WORKERS_MAX
    result_line = staticmethod(result_line)
    times = staticmethod(times)
    vs_squid_line = staticmethod(vs_squid_line)
    def __init__(self, world, seconds, perf):
        self.w = world
        self.seconds = seconds
        self.perf = perf
        self.seen = []	# other load of each timed run kept

    def quiet(self, run):
        """A timed run, tried again (up to TRIES times) while something
        else took more than NOISE of a core during it; the quietest try
        is kept, its other load recorded for the summary."""
        best = None
        for i in range(TRIES):
            r = run()
            r.tries = i + 1
            if best is None or r.cpu.other() < best.cpu.other():
                best = r
            if r.cpu.other() <= NOISE:
                break
        self.seen.append(best.cpu.other())
        return best

    def hey(self, url, extra=(), proxy=None, keepalive=True, n=None,
            profile=False):
        """hey -z SECONDS (timed, see quiet()), or -n N (a warm-up)."""
        if n is None:
            return self.quiet(lambda: self.hey_once(url, extra, proxy,
                                                    keepalive, n, profile))
        return self.hey_once(url, extra, proxy, keepalive, n, False)

    def hey_once(self, url, extra, proxy, keepalive, n, profile):
        argv = ["hey", "-c", "32"]
        argv += ["-n", str(n)] if n else ["-z", "%ds" % self.seconds]
        if not keepalive:
            argv.append("-disable-keepalive")
        if proxy:
            argv += ["-x", proxy]
        argv += list(extra) + [url]
        env = clean_env(SSL_CERT_FILE=self.w.path("pki", "trust.pem"))
        prof = self.perf_start() if profile and self.perf else None
        with CpuMeter(self.groups()) as cpu:
            r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        h = Hey(r.stdout, self.seconds)
        h.cpu = cpu
        if prof:
            h.profile = self.perf_stop(prof)
        if h.ok == 0:
            raise RuntimeError("hey got no 200 answers:\n" + r.stdout[-1500:])
        return h

    def perf_start(self):
        data = self.w.path("perf.data")
        pids = ",".join(str(p) for p in self.w.workers())
        p = self.w.procs.start(["perf", "record", "-q", "-F", "499",
                                "--call-graph", "dwarf,16384", "-p", pids,
                                "-o", data], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        return p, data

    def perf_stop(self, prof):
        """The functions the workers spent their time in, callees
        included (the daemon has no frame pointers: DWARF unwinding)."""
        p, data = prof
        self.w.procs.stop(p, signal.SIGINT)
        r = subprocess.run(["perf", "report", "-i", data, "--stdio",
                            "--children", "--sort", "sym", "-g", "none",
                            "--percent-limit", "4"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if os.path.exists(data):
            os.unlink(data)
        skip = ("0x0000", "_start", " main", "__libc_start", "ev_run",
                "proxy_main", "ev_invoke_pending", "entry_SYSCALL",
                "do_syscall_64")
        lines = [l.strip() for l in r.stdout.splitlines()
                 if l.strip() and not l.startswith("#") and
                 not any(k in l for k in skip)]
        return "\n".join("      " + l for l in lines[:20])

    def groups(self):
        return {"nginx": self.w.nginx_workers(),
                "proxy": self.w.workers() if self.w.daemon else [],
                "squid": self.w.squid.all_pids(),
                "floor": self.w.floor_pids()}

    def print_hey(self, label, h):
        print("   %-8s %s%s" % (label, h.text(), "" if h.tries == 1 else
                               ", quietest of %d tries" % h.tries))
        print("            " + h.cpu.text(per=h.ok, unit="request",
                                            scale=1e6, sunit="us"))
        if getattr(h, "profile", None):
            print("            perf, proxy workers (children, self):\n" +
                  h.profile)
        for l in h.errlines[:3]:
            print("            error: " + l.strip())

    # 1 --------------------------------------------------------------------

    def proxies(self, creds=False):
        """(label, proxy URL) of aibproxyd and, when it runs, Squid."""
        out = [("proxy", "http://%s127.0.0.1:%d" % (
            "coder:%s@" % TOKEN if creds else "", self.w.proxy_port))]
        if self.w.squid.proc is not None:
            out.append(("squid", "http://127.0.0.1:%d" % self.w.squid.port))
        return out

    def curl(self, url, proxy=None):
        """GiB/s of one 1 GiB download (see quiet())."""
        return self.quiet(lambda: self.curl_once(url, proxy))

    def curl_once(self, url, proxy):
        argv = ["curl", "-s", "-o", "/dev/null", "--cacert",
                self.w.path("pki", "origin-ca.crt"), "-w",
                "%{http_code} %{size_download} %{time_total}"]
        argv += ["-p", "-x", proxy] if proxy else ["--noproxy", "*"]
        with CpuMeter(self.groups()) as cpu:
            r = subprocess.run(argv + [url], env=clean_env(),
                               stdout=subprocess.PIPE, text=True)
        code, size, secs = r.stdout.split()
        if code != "200" or int(size) != GIB:
            raise RuntimeError("curl %s: status %s, %s bytes" %
                               (url, code, size))
        return Download(GIB / float(secs) / GIB, cpu)

    def bench_throughput(self, scheme, runs=9):
        port = self.w.port[scheme]
        url = "%s://127.0.0.1:%d/1g" % (scheme, port)
        peers = [("direct", None)] + self.proxies()
        got = {label: [] for label, _ in peers}
        for _ in range(runs):	# interleaved, so drift hits all alike
            for label, proxy in peers:
                got[label].append(self.curl(url, proxy))
        # The median run, with the CPU it used.
        med = {label: sorted(rs, key=lambda r: r.speed)[runs // 2]
               for label, rs in got.items()}
        dm, pm, sm = med["direct"], med["proxy"], med.get("squid")
        ratio = pm.speed / dm.speed
        ok = ratio >= 0.90
        tag, inner = ("1a", "plain HTTP") if scheme == "http" else \
            ("1b", "TLS")
        print("\n== %s. tunnel throughput: 1 GiB with curl, %s inside "
              "CONNECT, nginx sendfile, median of %d" % (tag, inner, runs))
        for label, _ in peers:
            m = med[label]
            print("   %-8s %6.2f GiB/s  (runs: %s)" % (
                label, m.speed, " ".join("%.2f" % r.speed
                                         for r in got[label])))
            print("            " + m.cpu.text(unit="GiB", scale=1000,
                                              sunit="ms"))
        print(result_line("%.1f %%" % (100 * ratio), ">= 90 %", ok))
        vs = times(pm.speed, sm.speed if sm else 0)
        if sm:
            print(vs_squid_line(vs + " Squid's throughput"))
        return Result("%s. tunnel throughput, %s" % (tag, inner),
                      "%.2f GiB/s" % dm.speed, "%.2f GiB/s" % pm.speed,
                      "%.1f %%" % (100 * ratio), ">= 90 %", ok,
                      squid="%.2f GiB/s" % sm.speed if sm else "-",
                      vs_squid=vs)

    # 2, 3, 4 and 7: hey -------------------------------------------------

    def hey_peers(self, direct, url, extra=(), keepalive=True, creds=False,
                  floor=False):
        """Warm-ups, then the timed runs: direct, aibproxyd, Squid, and
        the floor relay when asked; with each, what the bridge saw of it
        (nginx's counters; a status request is one connection and one
        request)."""
        peers = [("direct", direct, None)] + [
            (label, url, proxy) for label, proxy in self.proxies(creds)]
        if floor:
            peers.append(("floor", url, "http://127.0.0.1:%d" %
                          self.w.floor_port))
        for label, u, proxy in peers:
            self.hey(u, extra, proxy=proxy, n=500, keepalive=keepalive)
        out = {}
        for label, u, proxy in peers:
            def run(u=u, proxy=proxy, label=label):
                a0, r0 = self.w.nginx_status()
                h = self.hey_once(u, extra, proxy, keepalive, None,
                                  label == "proxy")
                a1, r1 = self.w.nginx_status()
                h.bridge = (a1 - a0 - 1, r1 - r0 - 1)
                return h
            out[label] = self.quiet(run)
        for label, _, _ in peers:
            self.print_hey(label, out[label])
        return out["direct"], out["proxy"], out.get("squid"), out.get("floor")

    def per_req(self, h, group):
        """Microseconds of a group's CPU per answered request."""
        return h.cpu.cpu.get(group, (0, 0))[0] / max(1, h.ok) * 1e6

    def budget(self, p, target, goal, floor, who, what, unit):
        """A rate row's budget and floor lines (rows 3, 4 and 7), the
        figures of proxy_budget() on aibproxyd's run p; target: the rate
        to reach (goal says which), floor: the least program's CPU per
        unit (us), or None when it did not run (what says why)."""
        us, others, busy = proxy_budget(p, "proxy", target)
        rate = "conn/s" if unit != "request" else "req/s"
        print("   budget   %.0f us of proxy CPU per %s would reach %s "
              "(%.0f %s),\n            with the others' %.0f us per %s and "
              "%.2f busy cores as measured" % (us, unit, goal, target, rate,
                                               others, unit, busy))
        if floor is None:
            print("   floor    not measured: %s" % what)
            return None
        print("   floor    %.0f us per %s: %s" % (floor, unit, what))
        b = Budget(us, floor, who, unit)
        print("            " + b.verdict())
        return b

    def cpu_floor(self, limit, floor, who, unit):
        """A row's CPU target (us per unit) against its floor: a line, and
        the same for the summary; None when the floor was not measured."""
        if floor is None:
            return None
        out = ("the CPU target, %.0f us per %s, is %s the %.0f us that %s "
               "spends" % (limit, unit, "below" if limit < floor else
                           "not below", floor, who))
        print("   cpu      " + out)
        return out

    def squid_vs(self, p, q):
        """aibproxyd against Squid: rate and CPU per request."""
        if q is None:
            return "-"
        vs = times(p.rps, q.rps)
        print(vs_squid_line("%s Squid's rate; proxy CPU %.0f us per request "
                            "against Squid's %.0f us" % (
                                vs, self.per_req(p, "proxy"),
                                self.per_req(q, "squid"))))
        return vs

    def bench_tunnel_requests(self):
        url = "https://127.0.0.1:%d/small" % self.w.port["https"]
        print("\n== 2. requests through a tunnel: hey -c 32 -z %ds, "
              "keep-alive, GET 128 B over TLS" % self.seconds)
        d, p, q, _ = self.hey_peers(url, url)
        ratio = p.rps / d.rps
        ok = ratio >= 0.90
        print(result_line("%.1f %%" % (100 * ratio), ">= 90 %", ok))
        vs = self.squid_vs(p, q)
        return Result("2. requests through a tunnel", "%.0f req/s" % d.rps,
                      "%.0f req/s" % p.rps, "%.1f %%" % (100 * ratio),
                      ">= 90 %", ok, squid="%.0f req/s" % q.rps if q
                      else "-", vs_squid=vs)

    def mitm_args(self):
        url = "https://%s/v1/messages" % PROVIDER
        direct = "https://localhost:%d%s" % (self.w.port["direct"],
                                             BRIDGE_PATH)
        extra = ["-m", "POST", "-T", "application/json", "-d", BODY]
        return url, direct, extra

    def bench_mitm(self):
        url, direct, extra = self.mitm_args()
        print("\n== 3. intercepted POSTs: hey -c 32 -z %ds, keep-alive, "
              "small JSON, nginx TLS bridge" % self.seconds)
        d, p, q, _ = self.hey_peers(direct, url, extra, creds=True)
        lconns, lreqs = self.bridge_log()
        for label, h in (("proxy", p), ("squid", q)):
            if h is None:
                continue
            conns, reqs = h.bridge
            print("   bridge   %s: %d new connections for %d requests in the "
                  "timed run = %.5f per request" % (
                      label, conns, reqs, conns / max(1, reqs)))
        print("            (aibproxyd's, by the bridge's access log, warm-up "
              "and every try included: %d connections, %d requests)" % (
                  lconns, lreqs))
        ratio = p.rps / d.rps
        us = self.per_req(p, "proxy")
        ok = ratio >= 0.80 and us <= 15
        target = ">= 80 %, <= 15 us"
        print(result_line("%.1f %%" % (100 * ratio), target, ok) +
              "  (proxy CPU %.0f us per request)" % us)
        vs = self.squid_vs(p, q)
        nginx_us = self.per_req(d, "nginx")
        b = self.budget(p, 0.80 * d.rps, "80 % of direct", nginx_us, "nginx",
                        "nginx's CPU per request in the direct run, serving "
                        "the request itself:\n            one TLS session's "
                        "record work and HTTP (the proxy needs two sessions)",
                        "request")
        cpu = self.cpu_floor(15, nginx_us, "nginx", "request")
        self.row3_us = us
        return Result("3. intercepted POSTs, keep-alive",
                      "%.0f req/s" % d.rps, "%.0f req/s" % p.rps,
                      "%.1f %%, %.0f us" % (100 * ratio, us), target, ok,
                      "bridge connections per request %.5f" % (
                          p.bridge[0] / max(1, p.bridge[1])),
                      squid="%.0f req/s" % q.rps if q else "-", vs_squid=vs,
                      budget=b, cpu_floor=cpu)

    def bridge_log(self):
        """(connections, requests) the bridge saw so far, warm-ups too."""
        time.sleep(0.3)		# the log's flush interval
        conns, reqs = set(), 0
        with open(self.w.path("nginx", "bridge.log")) as f:
            for line in f:
                conns.add(line.split()[0])
                reqs += 1
        return len(conns), reqs

    def bench_new_conns(self):
        url, direct, extra = self.mitm_args()
        print("\n== 4. new intercepted connections: hey -c 32 -z %ds "
              "-disable-keepalive (CONNECT + TLS + one POST) vs new TLS "
              "connections to nginx" % self.seconds)
        d, p, q, _ = self.hey_peers(direct, url, extra, keepalive=False,
                                    creds=True)
        ratio = p.rps / d.rps
        ok = ratio >= 0.95
        print(result_line("%.1f %%" % (100 * ratio), ">= 95 %", ok))
        vs = self.squid_vs(p, q)
        b = self.budget(p, 0.95 * d.rps, "95 % of direct",
                        self.per_req(d, "nginx"), "nginx",
                        "nginx's CPU per new connection in the direct run, "
                        "the TLS handshake the proxy\n            makes in "
                        "its place (and one POST)", "connection")
        return Result("4. new intercepted connections", "%.0f conn/s" % d.rps,
                      "%.0f conn/s" % p.rps, "%.1f %%" % (100 * ratio),
                      ">= 95 %", ok, squid="%.0f conn/s" % q.rps if q
                      else "-", vs_squid=vs, budget=b)

    def bench_new_tunnels(self):
        url = "https://127.0.0.1:%d/small" % self.w.port["https"]
        print("\n== 7. new tunnels: hey -c 32 -z %ds -disable-keepalive, "
              "CONNECT + TLS to nginx + one GET 128 B per tunnel, vs new TLS "
              "connections to nginx" % self.seconds)
        why = self.w.floor_missing()
        try:
            if why is None:
                try:
                    self.w.start_floor(self.w.workers_n)
                except RuntimeError as e:	# the row goes on without it
                    why = str(e)
            d, p, q, f = self.hey_peers(url, url, keepalive=False,
                                        floor=why is None)
        finally:
            self.w.stop_floor()
        ratio = p.rps / d.rps
        us = self.per_req(p, "proxy")
        target = ">= 1.25 x Squid, <= 120 us"
        ok = us <= 120 and (q is None or p.rps >= 1.25 * q.rps)
        print(result_line("%.1f %%" % (100 * ratio), target, ok) +
              "  (of direct; proxy CPU %.0f us per new tunnel)" % us)
        vs = self.squid_vs(p, q)
        note = ""
        if f is not None:
            fus = self.per_req(f, "floor")
            print("   vs floor %s the floor relay's rate; proxy CPU %.0f us "
                  "per new tunnel against its %.0f us" % (
                      times(p.rps, f.rps), us, fus))
            note = "floor relay %.0f conn/s, %.0f us per new tunnel" % (
                f.rps, fus)
            what = ("the floor relay's CPU per new tunnel above "
                    "(tests/bench/floor.c: accept, CONNECT,\n            "
                    "connect, splice both ways, close; the kernel's part "
                    "of a tunnel)")
        else:
            fus, what = None, why
        b = None
        if q is not None and q.rps > 0:
            b = self.budget(p, 1.25 * q.rps, "1.25 x Squid", fus,
                            "the floor relay", what, "new tunnel")
        else:
            print("   budget   no Squid in this run: no rate target to "
                  "solve for")
        cpu = self.cpu_floor(120, fus, "the floor relay", "new tunnel")
        return Result("7. new tunnels", "%.0f conn/s" % d.rps,
                      "%.0f conn/s" % p.rps,
                      "%.1f %%, %.0f us" % (100 * ratio, us), target, ok,
                      note, squid="%.0f conn/s, %.0f us" % (
                          q.rps, self.per_req(q, "squid")) if q else "-",
                      vs_squid=vs, budget=b, cpu_floor=cpu)

    # 5 --------------------------------------------------------------------

    def rss(self, pid):
        return status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon")

    def open_tunnels(self, n, port):
        target = "127.0.0.1:%d" % self.w.port["hold"]
        p = self.w.procs.start(
            [sys.executable, PEERS, "tunnels", "--proxy",
             str(port), "--target", target, "-n", str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline().split()
        if not line or line[0] != "ready" or int(line[1]) != n:
            self.w.procs.stop(p)
            raise RuntimeError("could not open %d tunnels: %s" % (
                n, self.w.tail(self.w.daemon_log)))
        return p, float(line[2])

    def close_tunnels(self, p):
        p.stdin.close()
        p.wait(30)
        self.w.procs.stop(p)

    @staticmethod
    def pipe_sizes(pid):
        """How many of a process's pipes have each capacity (bytes)."""
        sizes, seen = {}, set()
        d = "/proc/%d/fd" % pid
        for fd in os.listdir(d):
            try:
                link = os.readlink(os.path.join(d, fd))
                if not link.startswith("pipe:") or link in seen:
                    continue
                seen.add(link)
                f = os.open(os.path.join(d, fd), os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                size = fcntl.fcntl(f, F_GETPIPE_SZ)
                sizes[size] = sizes.get(size, 0) + 1
            finally:
                os.close(f)
        return sizes

    @staticmethod
    def wait_fds(pid, want, timeout=5.0):
        """The worker's descriptor count once it is back to want."""
        end = time.monotonic() + timeout
        while True:
            n = len(os.listdir("/proc/%d/fd" % pid))
            if n <= want or time.monotonic() > end:
                return n
            time.sleep(0.05)

    def memory_of(self, via, n):
        """Row 5 for aibproxyd (workers: 1) or Squid: a printable
        account, and KiB per tunnel."""
        port, workers = self.peer_start(via, self.w.port["bridge"], n, 2)
        try:
            (worker,) = self.peer_pids(via)[:1]
            url = "http://127.0.0.1:%d/1g" % self.w.port["http"]
            proxy = "http://127.0.0.1:%d" % port
            alone = self.curl(url, proxy).speed
            # Warm up: the first tunnels grow what is never given back.
            p, _ = self.open_tunnels(20, port)
            self.close_tunnels(p)
            time.sleep(0.3)
            rss0, anon0 = self.rss(worker)
            fd0 = len(os.listdir("/proc/%d/fd" % worker))
            p, secs = self.open_tunnels(n, port)
            time.sleep(0.3)
            rss1, anon1 = self.rss(worker)
            fd1 = len(os.listdir("/proc/%d/fd" % worker))
            pipes = self.pipe_sizes(worker)
            crowd = self.curl(url, proxy).speed
            self.close_tunnels(p)
            fd2 = self.wait_fds(worker, fd0)
            rss2, _ = self.rss(worker)
        finally:
            self.peer_stop(via)
        per = (rss1 - rss0) / n
        print("   %s, workers: %d, %d tunnels opened in %.2f s" % (
            {"proxy": "aibproxyd"}.get(via, via), workers, n, secs))
        print("   worker        VmRSS %d KiB before, %d KiB with %d tunnels, "
              "%d KiB once closed" % (rss0, rss1, n, rss2))
        print("                 descriptors %d before, %d with the tunnels, "
              "%d once closed" % (fd0, fd1, fd2))
        print("   per tunnel    VmRSS %.2f KiB (RssAnon %.2f KiB), %.1f "
              "descriptors" % (per, (anon1 - anon0) / n, (fd1 - fd0) / n))
        if pipes:
            print("   splice pipes  %s" % ", ".join(
                "%d of %d KiB" % (k, v >> 10) for v, k in
                sorted(pipes.items(), reverse=True)))
        print("   1 GiB through one more tunnel, plain HTTP: %.2f GiB/s "
              "with the %d open, %.2f GiB/s with none" % (crowd, n, alone))
        return per

    def bench_memory(self, n=1000):
        hold = self.w.procs.start([sys.executable, PEERS, "hold", "--port",
                                   str(self.w.port["hold"])],
                                  stdout=subprocess.DEVNULL)
        print("\n== 5. memory: %d idle tunnels through one worker" % n)
        try:
            if not wait_port(self.w.port["hold"], hold):
                raise RuntimeError("the holding origin did not start")
            got = {v: self.memory_of(v, n) for v in self.vias()}
        finally:
            self.w.procs.stop(hold)
        per, q = got["proxy"], got.get("squid")
        ok = per <= 8.0
        print(result_line("%.2f KiB" % per, "<= 8 KiB", ok, "result"))
        return Result("5. memory per idle tunnel", "-", "%.2f KiB" % per,
                      "-", "<= 8 KiB", ok, squid="%.2f KiB" % q if q is not
                      None else "-", vs_squid=times(per, q or 0))

    # 6 --------------------------------------------------------------------

    def sse_stream(self, port):
        """One stream: through the proxy at port, or direct (None)."""
        argv = [sys.executable, PEERS, "sse-client", "--cafile",
                self.w.path("pki", "trust.pem"), "--path"]
        if port:
            argv += ["/v1/messages", "--host", PROVIDER, "--connect",
                     "127.0.0.1:%d" % port, "--token", TOKEN]
        else:
            argv += [BRIDGE_PATH, "--host", "localhost", "--connect",
                     "127.0.0.1:%d" % self.w.port["sse"]]
        r = subprocess.run(argv, env=clean_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("sse-client: " + (r.stderr or r.stdout)[-800:])
        lat = json.loads(r.stdout)["lat_us"]
        if len(lat) != 200:
            raise RuntimeError("sse-client got %d of 200 events" % len(lat))
        return lat

    def sse_once(self, bridge, rounds):
        """Streams direct and through the proxy, taking turns."""
        r = Streams()
        sq = self.w.squid.port if self.w.squid.proc else None
        with CpuMeter({"proxy": self.w.workers(),
                       "squid": self.w.squid.all_pids(),
                       "bridge": [bridge.pid]}) as r.cpu:
            for _ in range(rounds):
                r.direct += self.sse_stream(None)
                r.proxy += self.sse_stream(self.w.proxy_port)
                if sq:
                    r.squid += self.sse_stream(sq)
        return r

    def bench_sse(self, rounds=5):
        pki = self.w.path("pki")
        bridge = self.w.procs.start(
            [sys.executable, PEERS, "sse-bridge", "--port",
             str(self.w.port["sse"]), "--cert", pki + "/origin.crt",
             "--key", pki + "/origin.key", "-n", "200", "--interval-ms",
             "5"], stdout=subprocess.DEVNULL)
        try:
            if not wait_port(self.w.port["sse"], bridge):
                raise RuntimeError("the SSE bridge did not start")
            self.w.start_daemon(2, self.w.port["sse"])
            self.sse_stream(self.w.proxy_port)	# the leaf, a pooled one
            if self.w.squid_why is None:
                self.w.squid.start(self.w.port["sse"], squid_workers(),
                                   self.w.nofile)
                self.sse_stream(self.w.squid.port)
            r = self.quiet(lambda: self.sse_once(bridge, rounds))
        finally:
            self.w.stop_daemon()
            self.w.squid.stop()
            self.w.procs.stop(bridge)
        d, p, s = r.direct, r.proxy, r.squid
        d99, p99 = pct(d, 99), pct(p, 99)
        added = (p99 - d99) / 1000.0
        ok = added < 1.0
        print("\n== 6. streaming latency: SSE, %d streams x 200 events 5 ms "
              "apart, send to arrival%s" % (rounds, "" if r.tries == 1 else
                                            ", quietest of %d tries" %
                                            r.tries))
        for label, xs in (("direct", d), ("proxy", p), ("squid", s)):
            if xs:
                print("   %-8s p50 %.3f ms  p99 %.3f ms  max %.3f ms" % (
                    label, pct(xs, 50) / 1000, pct(xs, 99) / 1000,
                    max(xs) / 1000))
        print("            " + r.cpu.text(per=rounds, unit="pair of streams",
                                              scale=1000, sunit="ms"))
        print(result_line("%+.3f ms" % added, "< 1 ms", ok, "added") +
              "  (p99 proxy - p99 direct)")
        s99 = pct(s, 99)
        if s:
            print(vs_squid_line("Squid added %+.3f ms" % (
                (s99 - d99) / 1000)))
        return Result("6. SSE latency p99", "%.3f ms" % (d99 / 1000),
                      "%.3f ms" % (p99 / 1000), "%+.3f ms" % added,
                      "< 1 ms added", ok, squid="%.3f ms" % (s99 / 1000)
                      if s else "-", vs_squid=times(p99 - d99, s99 - d99
                                                    if s else 0))


def summary(results):
    head = ("benchmark", "direct", "aibproxyd", "squid", "vs direct",
            "vs Squid", "target", "result", "other load")
    rows = [head] + [r.row + ["%.0f %%" % (100 * r.other)] for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print("\n== summary")
    for i, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    for r in results:
        key = r.row[0].split(".")[0]
        for line in (r.note, r.budget.summary() if r.budget else None,
                     r.cpu_floor):
            if line:
                print("%s: %s" % (key, line))
    print("vs Squid: aibproxyd's figure over Squid's, above 1 better for "
          "rates, below 1 for\nmemory, CPU and latency.")
    if any(r.budget is not None for r in results):
        print("budget: the proxy CPU that would meet the row's rate target "
              "had all else stayed as\nin its proxy run; floor: what a "
              "minimal program doing (part of) the proxy's job\nspent in "
              "the same run (nginx serving the request itself, or the "
              "floor relay);\nout of reach when the budget is below it.")
    print("other load: the most CPU (%% of one core) that processes not ours "
          "took during one of\nthe benchmark's timed runs (\"rest\" above), "
          "after up to %d tries per run; more\nthan %.0f %% makes that "
          "benchmark's ratio unreliable." % (TRIES, 100 * NOISE))


def version(argv, pattern):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    except OSError:
        return "?"
    m = re.search(pattern, r.stdout)
    return m.group(1) if m else "?"


def raise_nofile():
    """The descriptors every process started here may have: as many as
    the hard limit allows, raised to fs.nr_open when we may (it takes
    CAP_SYS_RESOURCE); nothing global changes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        with open("/proc/sys/fs/nr_open") as f:
            want = int(f.read())
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        return want, ""
    except (OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard, (" (the hard limit: raising it was refused, which "
                      "caps the rows of\n          thousands of "
                      "connections; they say so)")


def header(stage, w):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print("aibproxyd benchmarks: %d cores (%s), Linux %s, all on 127.0.0.1"
          % (NCPU, cpu, os.uname().release))
    if os.path.abspath(stage).startswith(REPO + os.sep):
        stage = os.path.relpath(stage, REPO)
    print("  proxy   %s/sbin/aibproxyd -d, workers: 2 unless said, log "
          "level info" % stage)
    if w.squid_why is None:
        print("  peer    squid %s, workers %d unless said, ssl-bump at step 1 "
              "(client-first) of %s\n"
              "          to nginx as an origin-server peer, other CONNECTs "
              "spliced at step 1;\n"
              "          its own P-256 CA, no auth, no cache, no access log"
              % (squidmod.version(), squid_workers(), PROVIDER))
    else:
        print("  peer    no Squid column: %s" % w.squid_why)
    print("  origin  nginx %s, %d workers, P-256 certificates like the "
          "proxy's leaves" % (version(["nginx", "-v"], r"nginx/(\S+)"),
                               NCPU))
    print("  clients hey -c 32, curl %s, python %s; crowd.py for thousands" % (
        version(["curl", "--version"], r"curl (\S+)"),
        sys.version.split()[0]))
    print("  limits  %d descriptors per process%s" % (w.nofile, w.nofile_why))


def squid_workers():
    """Squid's workers (squid.conf workers) where a row says nothing."""
    return int(os.environ.get("BENCH_SQUID_WORKERS", "1"))


# Which rows --only names: a number runs all its parts (1: 1a and 1b).
PLAN = ("1a", "1b", "2", "3", "4", "7", "5", "6", "8", "9", "10", "11")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--only", default=",".join(PLAN))
    ap.add_argument("--floor", help="row 7's floor relay (tests/bench/floor.c)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    only |= {k for k in PLAN if k.rstrip("ab") in only}
    unknown = only - set(PLAN) - {"1"}
    if unknown:
        ap.error("--only: no benchmark %s (there are %s)" % (
            ",".join(sorted(unknown)), ",".join(PLAN)))

    # Leave through the finally below, whatever stops us.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *a: sys.exit(129))
    tmp = tempfile.mkdtemp(prefix="aib-bench.")
    os.chmod(tmp, 0o755)
    procs = Procs()
    nofile, why = raise_nofile()
    w = World(args.stage, tmp, procs, nofile, args.floor)
    w.nofile_why = why
    perf = os.environ.get("BENCH_PERF") == "1"
    if perf and shutil.which("perf") is None:
        print("BENCH_PERF=1 but there is no perf: not profiling")
        perf = False
    b = Bench(w, args.seconds, perf)
    results, errors = [], 0
    try:
        header(args.stage, w)
        with CpuMeter({}) as idle:
            time.sleep(1)
        print("before starting, other processes kept the machine %.0f %% "
              "busy" % (100 * idle.busy))
        w.make_pki()
        w.make_files()
        w.start_nginx()
        plan = {"1a": lambda: b.bench_throughput("http"),
                "1b": lambda: b.bench_throughput("https"),
                "2": b.bench_tunnel_requests, "3": b.bench_mitm,
                "4": b.bench_new_conns, "7": b.bench_new_tunnels,
                "5": b.bench_memory, "6": b.bench_sse,
                "8": b.bench_idle_mitm, "9": b.bench_crowd_requests,
                "10": b.bench_crowd_sse, "11": b.bench_idle_tunnels}
        for key in PLAN:
            if key not in only:
                continue
            fn = plan[key]
            try:
                # The rows on the shared daemon and Squid: workers 2 and
                # the bench's default.
                if key in ("1a", "1b", "2", "3", "4", "7"):
                    if w.daemon is None:
                        w.start_daemon(2, w.port["bridge"])
                    if w.squid.proc is None and w.squid_why is None:
                        w.squid.start(w.port["bridge"], squid_workers(),
                                      w.nofile)
                else:
                    w.stop_daemon()
                    w.squid.stop()
                b.seen = []
                r = fn()
                r.other = max(b.seen, default=0.0)
                results.append(r)
            except Exception as e:
                errors += 1
                print("\n== %s. ERROR: %s" % (key, e))
                if os.environ.get("BENCH_DEBUG"):
                    traceback.print_exc()
                w.stop_daemon()
                w.squid.stop()
        summary(results)
    finally:
        procs.stop_all()
        if os.environ.get("KEEP"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
