"""Squid as the benchmarks' peer: its own instance, configured here, doing
the same jobs as aibproxyd on the same origin (stdlib only).

One http_port decides by the CONNECT alone, as aibproxyd does: the api
host is bumped at step 1 (client-first, with a P-256 CA of its own, so
the leaves it mints cost what aibproxyd's do) and sent to nginx's bridge
as an origin-server peer; every other CONNECT is spliced at step 1,
without peeking.  No authentication (aibproxyd checks a token), no cache,
no access log.
"""
import os
import shutil
import subprocess
import time

SQUID = "squid"
CERTGEN = "/usr/lib/squid/security_file_certgen"
# What Squid keeps for itself below max_filedescriptors (squid.conf(5),
# max_filedescriptors; RESERVED_FD in its sources is 64) and a margin.
RESERVED = 200


def available():
    """None when Squid can run here, else why not."""
    if os.environ.get("BENCH_SQUID") == "0":
        return "BENCH_SQUID=0"
    if shutil.which(SQUID) is None:
        return "squid is not installed (make bench installs squid-openssl)"
    if not os.access(CERTGEN, os.X_OK):
        return "%s is missing: install squid-openssl" % CERTGEN
    return None


def version():
    try:
        r = subprocess.run([SQUID, "-v"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    except OSError:
        return "?"
    first = r.stdout.split("\n", 1)[0]
    return first.rsplit(" ", 1)[-1] if first else "?"


class Squid:
    def __init__(self, world, api_host):
        self.w = world
        self.api = api_host
        self.proc = None
        self.port = None
        self.workers = 1
        self.dir = world.path("squid")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def prepare(self):
        """The CA (readable by user proxy, who reads it after the
        drop), the certificate database, a hosts file of its own."""
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o777)
        self.w.make_ca("squid-ca", "aibproxyd bench Squid CA")
        os.chmod(self.w.path("pki", "squid-ca.key"), 0o444)
        with open(self.path("hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n")
        subprocess.run([CERTGEN, "-c", "-s", self.path("ssl_db"), "-M",
                        "16MB"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.chown(self.path("ssl_db"), "proxy", "proxy")
        for root, dirs, files in os.walk(self.path("ssl_db")):
            for n in dirs + files:
                shutil.chown(os.path.join(root, n), "proxy", "proxy")

    def config(self, bridge_port, workers, nofile):
        pki = self.w.path("pki")
        return """workers %(workers)d
max_filedescriptors %(nofile)d
http_port 127.0.0.1:%(port)d ssl-bump generate-host-certificates=on \
dynamic_cert_mem_cache_size=16MB tls-cert=%(pki)s/squid-ca.crt \
tls-key=%(pki)s/squid-ca.key
sslcrtd_program %(certgen)s -s %(d)s/ssl_db -M 16MB
sslcrtd_children 4 startup=1 idle=1
acl api dstdomain %(api)s
ssl_bump bump api
ssl_bump splice all
cache_peer 127.0.0.1 parent %(bridge)d 0 no-query no-digest originserver \
tls tls-cafile=%(pki)s/origin-ca.crt tls-domain=localhost name=bridge
cache_peer_access bridge allow api
cache_peer_access bridge deny all
never_direct allow api
tls_outgoing_options cafile=%(pki)s/origin-ca.crt
http_access allow all
access_log none
cache_log %(d)s/cache.log
pid_filename %(d)s/squid-%(port)d.pid
cache deny all
cache_mem 0 MB
coredump_dir %(d)s
cache_effective_user proxy
shutdown_lifetime 1 seconds
pinger_enable off
hosts_file %(d)s/hosts
read_ahead_gap 64 KB
client_lifetime 1 day
read_timeout 1 day
request_timeout 1 day
pconn_timeout 5 minutes
client_idle_pconn_timeout 1 day
""" % dict(workers=workers, nofile=nofile, port=self.port, pki=pki,
           certgen=CERTGEN, d=self.dir, api=self.api, bridge=bridge_port)

    def start(self, bridge_port, workers=1, nofile=None):
        """Squid in the foreground (its master and workers, SMP when
        workers > 1), listening, with its workers counted."""
        self.stop()
        self.port = self.w.free_port()
        self.workers = workers
        conf = self.path("squid-%d.conf" % self.port)
        with open(conf, "w") as f:
            f.write(self.config(bridge_port, workers, nofile or 16384))
        out = open(self.path("squid-%d.out" % self.port), "w")
        self.proc = self.w.procs.start(
            [SQUID, "-f", conf, "--foreground"], stdout=out,
            stderr=subprocess.STDOUT)
        out.close()
        if not self.w.wait_port(self.port, self.proc, 20):
            raise RuntimeError("squid did not start: %s%s" % (
                self.w.tail(self.path("squid-%d.out" % self.port)),
                self.w.tail(self.path("cache.log"))))
        end = time.monotonic() + 10
        while len(self.worker_pids()) < workers and time.monotonic() < end:
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            self.w.procs.stop(self.proc)
            self.proc = None

    def worker_pids(self):
        """The kids that serve connections, "(squid-N)"."""
        if self.proc is None:
            return []
        return [p for p in self.w.descendants(self.proc.pid)
                if self.w.cmdline(p).startswith("(squid-")]

    def all_pids(self):
        """Master, workers and helpers (the certificate generator): the
        CPU it takes to do the job."""
        if self.proc is None:
            return []
        return [self.proc.pid] + self.w.descendants(self.proc.pid)
