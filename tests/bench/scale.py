"""The benchmarks of thousands of connections at once (rows 8 to 11):
idle intercepted connections, keep-alive intercepted requests and SSE
streams from crowd.py, idle tunnels from several peers.py.  A mixin of
bench.Bench; aibproxyd next to Squid, each with as many workers as the
descriptor limit needs (said in each row's title).
"""
import json
import math
import os
import re
import select
import subprocess
import sys
import time

import squid as squidmod

HERE = os.path.dirname(os.path.abspath(__file__))
CROWD = os.path.join(HERE, "crowd.py")
PEERS = os.path.join(HERE, "peers.py")
TOKEN = "abcdefghij-0123456789012345678901"
PROVIDER = "api.anthropic.com"
BRIDGE_PATH = "/api/v2/aibridge/anthropic/v1/messages"
RATE = float(os.environ.get("BENCH_RATE", "1000"))	# req/s, row 9
SSE_MS = 10000		# between two events of one stream, row 10: 1000 a
			# second from 10,000, what one Python hub keeps in time
WAIT = 600		# seconds, at most, for thousands to open
# What Squid's busiest worker may get over an even share of the
# connections, when the descriptor limit sets how many workers there
# are: its workers share one listening socket.  (aibproxyd's have one
# each, which the kernel fills evenly: bench.py SIGMAS.)
SPREAD = 2.5
# Seconds a row 8 side waits before reading memory: aibproxyd's workers
# give their free heap back after 1 s of quiet (heapdecay.c).
IDLE_QUIET = 2.0
# Row 8's warm-up: more connections than crowd.py keeps in flight while
# it opens them (--inflight, 64), so that the bridge connections
# aibproxyd pools (up to 64 a worker, aibproxyd/bridge.c) reach before
# the count they reach with the crowd, and the growth measured is the
# connections' own.
WARM_CONNS = 128


def readline(p, timeout, what):
    """One line from a child, or an error naming what did not come."""
    r, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline() if r else ""
    if not line:
        raise RuntimeError("%s: nothing in %d s" % (what, timeout))
    return line


class Crowd:
    """A crowd.py client holding n connections to one peer."""

    def __init__(self, bench, n, via, port, sse=False, src=None):
        w = bench.w
        self.w = w
        argv = [sys.executable, CROWD, "client", "--cafile",
                w.path("pki", "trust.pem"), "-n", str(n), "--connect",
                "127.0.0.1:%d" % port]
        if via == "direct":
            argv += ["--host", "localhost", "--path", BRIDGE_PATH]
        else:
            argv += ["--host", PROVIDER, "--path", "/v1/messages",
                     "--token", TOKEN]
        if sse:
            argv.append("--sse")
        if src:
            argv += ["--src", src]
        self.err = w.path("crowd-%s-%d.err" % (via, port))
        with open(self.err, "w") as err:
            self.p = w.procs.start(argv, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err,
                                   text=True)
        t0 = time.monotonic()
        f = readline(self.p, WAIT, "crowd.py opening %d" % n).split()
        self.wall = time.monotonic() - t0
        self.open, self.failed = int(f[1]), int(f[3])
        if self.open < n:
            why = w.tail(self.err, 3)
            self.close()
            raise RuntimeError("%s: %d of %d connections opened, %d "
                               "failed: %s" % (via, self.open, n,
                                               self.failed, why))

    def run(self, secs, rate=0.0):
        self.p.stdin.write("run %g %g\n" % (secs, rate))
        self.p.stdin.flush()
        return json.loads(readline(self.p, secs + WAIT, "crowd.py run"))

    def close(self):
        if self.p.stdin:
            self.p.stdin.close()
            self.p.stdin = None
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            pass
        self.w.procs.stop(self.p)


class Scale:
    # Peers ----------------------------------------------------------------

    def peer_start(self, via, bridge, conns, fds, workers=1):
        """aibproxyd (at least so many workers) or Squid (at least
        BENCH_SQUID_WORKERS) for conns connections, holding fds
        descriptors each in Squid (aibproxyd budgets its own); its port
        and how many workers it has."""
        if via == "proxy":
            self.w.start_daemon(workers, bridge, conns)
            return self.w.proxy_port, self.w.workers_n
        room = self.w.nofile - squidmod.RESERVED
        need = conns * fds
        n = max(int(os.environ.get("BENCH_SQUID_WORKERS", "1")),
                math.ceil((need * SPREAD if need > room else need) / room))
        self.w.squid.start(bridge, n, self.w.nofile)
        return self.w.squid.port, n

    def peer_stop(self, via):
        if via == "proxy":
            self.w.stop_daemon()
        else:
            self.w.squid.stop()

    def peer_pids(self, via):
        return self.w.workers() if via == "proxy" else \
            self.w.squid.worker_pids()

    def vias(self):
        return ["proxy"] + (["squid"] if self.w.squid_why is None else [])

    def mem(self, pids):
        """Summed VmRSS (KiB) and descriptors of processes."""
        kib = sum(self.rss(p)[0] for p in pids)
        fds = sum(len(os.listdir("/proc/%d/fd" % p)) for p in pids)
        return kib, fds

    # 8 --------------------------------------------------------------------

    def idle_mitm(self, via, n):
        """VmRSS per idle intercepted connection, each having had one
        request answered; (KiB each, workers, seconds to open)."""
        port, workers = self.peer_start(via, self.w.port["bridge"], n, 1)
        try:
            pids = self.peer_pids(via)
            # The leaf, the bridge pool, the allocator's arenas.
            c = Crowd(self, WARM_CONNS, via, port)
            c.close()
            # Idle: each side read once its workers were quiet for
            # IDLE_QUIET s, when aibproxyd's give their free heap back.
            time.sleep(IDLE_QUIET)
            m0, f0 = self.mem(pids)
            c = Crowd(self, n, via, port, src="127.0.8.1")
            time.sleep(IDLE_QUIET)
            m1, f1 = self.mem(pids)
            c.close()
        finally:
            self.peer_stop(via)
        print("   %-8s %d KiB before, %d KiB with %d connections (workers: "
              "%d), opened in %.1f s; %d descriptors more" % (
                  via, m0, m1, n, workers, c.wall, f1 - f0))
        return (m1 - m0) / n

    def bench_idle_mitm(self, sizes=(1000, 10000)):
        print("\n== 8. memory: idle intercepted connections (CONNECT, TLS, "
              "one POST answered, then idle %.0f s); worker VmRSS growth / N"
              % IDLE_QUIET)
        res = []
        for n in sizes:
            per = {v: self.idle_mitm(v, n) for v in self.vias()}
            p, q = per["proxy"], per.get("squid")
            ok = p <= 16.0
            print("   %6d   aibproxyd %.2f KiB each%s" % (
                n, p, ", Squid %.2f KiB" % q if q is not None else ""))
            print(self.result_line("%.2f KiB" % p, "<= 16 KiB", ok,
                                   "result"))
            res.append((n, p, q, ok))
        n, p, q, ok = res[-1]
        return self.Result(
            "8. idle intercepted connection", "-",
            " / ".join("%.1f KiB" % r[1] for r in res), "-", "<= 16 KiB",
            all(r[3] for r in res),
            "%s connections" % " / ".join(str(r[0]) for r in res),
            squid=" / ".join("%.1f KiB" % r[2] for r in res)
            if q is not None else "-", vs_squid=self.times(p, q or 0))

    # 9 --------------------------------------------------------------------

    def crowd_run(self, crowd, via, rate):
        """A timed run of crowd's connections at rate requests a second
        in all; the answer (crowd.py's JSON) with the CPU it took."""
        def run():
            groups = self.groups()
            groups["crowd"] = [crowd.p.pid]
            a0, _ = self.w.nginx_status()
            with self.CpuMeter(groups) as cpu:
                r = crowd.run(self.seconds, rate / crowd.open)
            a1, _ = self.w.nginx_status()
            r["cpu"], r["accepted"] = cpu, a1 - a0 - 1
            return Box(r)
        r = self.quiet(run)
        group = {"direct": "nginx"}.get(via, via)
        r.us = r.cpu.cpu.get(group, (0, 0))[0] / max(1, r.ok) * 1e6
        return r

    def bench_crowd_requests(self, n=10000, few=32):
        print("\n== 9. %d keep-alive intercepted connections next to %d, "
              "%.0f POSTs a second in all (crowd.py), %d s" % (
                  n, few, RATE, self.seconds))
        got = {}
        for via in ["direct"] + self.vias():
            if via == "direct":
                port, workers = self.w.port["direct"], 0
            else:
                port, workers = self.peer_start(via, self.w.port["bridge"],
                                                n, 1, 2)
            try:
                for size in (few, n):
                    c = Crowd(self, size, via, port, src="127.0.9.1")
                    try:
                        r = self.crowd_run(c, via, RATE)
                    finally:
                        c.close()
                    got[via, size] = r
                    print("   %-6s %5d conns  %6d ok, %d errors, p50 %.2f ms"
                          ", p99 %.2f ms; %s CPU %.0f us per request%s" % (
                              via, size, r.ok, r.errors, r.p50 / 1000,
                              r.p99 / 1000, "nginx" if via == "direct" else
                              via, r.us, "" if not workers else
                              " (workers: %d)" % workers))
                    if via != "direct":
                        print("            %d new bridge connections" %
                              r.accepted)
                    print("            " + r.cpu.text(
                        per=max(1, r.ok), unit="request", scale=1e6,
                        sunit="us"))
            finally:
                if via != "direct":
                    self.peer_stop(via)
        p0, p1 = got["proxy", few], got["proxy", n]
        ok = p1.us <= 1.10 * p0.us
        print(self.result_line("%+.0f %%" % (100 * (p1.us / p0.us - 1)),
                               "<= +10 %", ok, "CPU") +
              "  (aibproxyd, per request, %d against %d connections)" % (
                  n, few))
        if getattr(self, "row3_us", None):
            print("            row 3 (hey -c 32, flat out): %.0f us per "
                  "request" % self.row3_us)
        q = got.get(("squid", n))
        return self.Result(
            "9. %d keep-alive intercepted" % n,
            "p99 %.1f ms" % (got["direct", n].p99 / 1000),
            "%.0f us, p99 %.1f ms" % (p1.us, p1.p99 / 1000),
            "%+.0f %% CPU" % (100 * (p1.us / p0.us - 1)),
            "CPU <= +10 % of 32", ok,
            squid="%.0f us, p99 %.1f ms" % (q.us, q.p99 / 1000) if q
            else "-", vs_squid=self.times(p1.us, q.us if q else 0))

    # 10 -------------------------------------------------------------------

    def bench_crowd_sse(self, n=10000):
        hub_port = self.w.free_port()
        pki = self.w.path("pki")
        hub = self.w.procs.start(
            [sys.executable, CROWD, "sse-hub", "--port", str(hub_port),
             "--cert", pki + "/origin.crt", "--key", pki + "/origin.key",
             "--interval-ms", str(SSE_MS)], stdout=subprocess.DEVNULL)
        print("\n== 10. %d SSE streams at once, an event every %d ms each "
              "(crowd.py), send to arrival over %d s" % (n, SSE_MS,
                                                         self.seconds))
        got = {}
        try:
            if not self.w.wait_port(hub_port, hub):
                raise RuntimeError("the SSE hub did not start")
            for via in ["direct"] + self.vias():
                port, workers = hub_port, 0
                if via != "direct":
                    port, workers = self.peer_start(via, hub_port, n, 2, 2)
                try:
                    c = Crowd(self, n, via, port, sse=True, src="127.0.10.1")
                    try:
                        got[via] = r = self.crowd_run(c, via, 0)
                    finally:
                        c.close()
                finally:
                    if via != "direct":
                        self.peer_stop(via)
                print("   %-8s p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%d "
                      "events%s, opened in %.1f s)" % (
                          via, r.p50 / 1000, r.p99 / 1000, r.max / 1000,
                          r.ok, "" if not workers else ", workers: %d" %
                          workers, c.wall))
                print("            " + r.cpu.text(
                    per=max(1, r.ok), unit="event", scale=1e6, sunit="us"))
        finally:
            self.w.procs.stop(hub)
        d, p, q = got["direct"], got["proxy"], got.get("squid")
        added = (p.p99 - d.p99) / 1000
        ok = added < 2.0
        print(self.result_line("%+.3f ms" % added, "< 2 ms", ok, "added") +
              "  (p99 proxy - p99 direct)")
        if q:
            print(self.vs_squid_line("Squid added %+.3f ms" % (
                (q.p99 - d.p99) / 1000)))
        return self.Result(
            "10. %d SSE streams, p99" % n, "%.2f ms" % (d.p99 / 1000),
            "%.2f ms" % (p.p99 / 1000), "%+.2f ms" % added, "< 2 ms added",
            ok, squid="%.2f ms" % (q.p99 / 1000) if q else "-",
            vs_squid=self.times(p.p99 - d.p99,
                                (q.p99 - d.p99) if q else 0))

    # 11 -------------------------------------------------------------------

    def many_tunnels(self, via, n, port, holds):
        """n tunnels from len(holds) peers.py at once, each from its own
        source address to its own holding origin; the seconds until all
        are open, and the processes (close with close_many)."""
        per = math.ceil(n / len(holds))
        ps = []
        t0 = time.monotonic()
        for i, hold in enumerate(holds):
            k = min(per, n - i * per)
            ps.append(self.w.procs.start(
                [sys.executable, PEERS, "tunnels", "--proxy", str(port),
                 "--target", "127.0.0.1:%d" % hold, "-n", str(k), "--src",
                 "127.0.11.%d" % (i + 1)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True))
        try:
            waiting = list(ps)
            while waiting:
                r, _, _ = select.select([p.stdout for p in waiting], [], [],
                                        WAIT)
                for p in [p for p in waiting if p.stdout in r]:
                    line = p.stdout.readline().split()
                    if not line or line[0] != "ready":
                        raise RuntimeError("%s: a client failed%s" % (
                            via, self.why(via)))
                    waiting.remove(p)
                if not r:
                    raise RuntimeError("tunnels: nothing in %d s" % WAIT)
        except Exception:
            self.close_many(ps)
            raise
        return time.monotonic() - t0, ps

    def why(self, via):
        """The proxy's first complaints, if it logged any."""
        if via != "proxy":
            return ""
        with open(self.w.daemon_log) as f:
            bad = [l for l in f if re.search(
                r"refus|error|fail|limit", l, re.I)]
        return ":\n" + "".join("    " + l for l in bad[:5])

    def close_many(self, ps):
        for p in ps:
            p.stdin.close()
        for p in ps:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                pass
            self.w.procs.stop(p)

    def idle_tunnels(self, via, n, holds):
        port, workers = self.peer_start(via, self.w.port["bridge"], n, 2)
        try:
            pids = self.peer_pids(via)
            _, ps = self.many_tunnels(via, 20, port, holds[:1])
            self.close_many(ps)
            time.sleep(0.3)
            m0, f0 = self.mem(pids)
            secs, ps = self.many_tunnels(via, n, port, holds)
            time.sleep(0.5)
            m1, f1 = self.mem(pids)
            self.close_many(ps)
        finally:
            self.peer_stop(via)
        print("   %-8s VmRSS %d KiB before, %d KiB with %d tunnels (workers: "
              "%d); %d descriptors more; opened in %.2f s" % (
                  via, m0, m1, n, workers, f1 - f0, secs))
        return (m1 - m0) / n, secs

    def bench_idle_tunnels(self, n=None):
        n = n or int(os.environ.get("BENCH_TUNNELS", "50000"))
        # aibproxyd budgets FD_PER_CONN descriptors a connection and
        # each worker admits its share; the kernel spreads connections
        # evenly over the workers' sockets, so more workers hold more,
        # up to WORKERS_MAX (bench.py fit_workers).
        asked, cap = n, self.WORKERS_MAX * self.w.room()[1]
        n = min(n, cap)
        # Each holding origin and each client process keeps its share
        # under the descriptor limit, each client its own source address
        # (a source address has some 28000 ports for one destination).
        k = max(math.ceil(n / min(16000, self.w.nofile - 1000)), 4)
        holds = self.w.holds[:k]
        hp = [self.w.procs.start([sys.executable, PEERS, "hold", "--port",
                                  str(h)], stdout=subprocess.DEVNULL)
              for h in holds]
        print("\n== 11. %d idle tunnels (CONNECT to origins that never "
              "answer), %d clients and origins; worker VmRSS growth / N" %
              (n, k))
        if n < asked:
            print("   %d asked, %d held: %d descriptors per process "
                  "(aibproxyd budgets %d a\n   connection, over %d "
                  "workers at most)" % (asked, n, self.w.nofile,
                                        self.FD_PER_CONN, self.WORKERS_MAX))
        got = {}
        try:
            for h, p in zip(holds, hp):
                if not self.w.wait_port(h, p):
                    raise RuntimeError("a holding origin did not start")
            for via in self.vias():
                got[via] = self.idle_tunnels(via, n, holds)
        finally:
            for p in hp:
                self.w.procs.stop(p)
        (p, ps), q = got["proxy"], got.get("squid")
        ok = p <= 2.0
        print("   each     aibproxyd %.2f KiB%s" % (
            p, ", Squid %.2f KiB" % q[0] if q else ""))
        print(self.result_line("%.2f KiB" % p, "<= 2 KiB", ok, "result"))
        return self.Result(
            "11. %d idle tunnels" % n, "-", "%.2f KiB, %.1f s" % (p, ps),
            "-", "<= 2 KiB", ok, "memory each, seconds to open them all",
            squid="%.2f KiB, %.1f s" % q if q else "-",
            vs_squid=self.times(p, q[0] if q else 0))


class Box:
    """crowd.py's JSON answer as attributes."""

    def __init__(self, d):
        self.__dict__.update(d)
