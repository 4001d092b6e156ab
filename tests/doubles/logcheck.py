#!/usr/bin/env python3
"""logcheck.py MAN LOG: check that every line of a daemon log written
with log.format json is one JSON object with exactly the fields the man
page MAN (aibproxyd.8, "JSON lines") lists, each of the type it says:
the first list on every line, the second as well on audit events.
Prints the objects as one JSON list; exits 1 with the first problem
("logcheck: line N: ...").

    logcheck.py MAN LOG --count EXPR    print how many objects e make
                                        EXPR (a Python expression) true
"""
import json, re, sys

TYPES = {"string": str, "number": int}
# Fields only on some lines ("Pq true if cut"): {name: the one value}.
OPTIONAL = {}


def documented(man):
    """The two field lists of the JSON lines section: {name: types}."""
    text = open(man).read()
    sect = text.split(".Ss JSON lines\n", 1)[1].split("\n.Ss ", 1)[0]
    lists = []
    for block in sect.split(".Bl ")[1:]:
        fields = {}
        for name, kind in re.findall(r"^\.It Li (\w+) Pq (.+)$", block, re.M):
            if kind == "true if cut":
                OPTIONAL[name] = True
                continue
            types = tuple(TYPES[k] for k in kind.split(" or ") if k in TYPES)
            fields[name] = types + ((None,) if kind.endswith(" or null") else ())
        lists.append(fields)
    if len(lists) != 2 or not all(lists):
        sys.exit("logcheck: %s: no two field lists under JSON lines" % man)
    return lists


COMMON, AUDIT = documented(sys.argv[1])
EVENTS = ("message", "request", "tunnel", "forward")
LEVELS = ("critical", "error", "warning", "notice", "info", "debug")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PROCESS = re.compile(r"^(parent|signer|resolver|proxy \d+)$")


def fail(n, msg, line):
    print("logcheck: line %d: %s: %r" % (n, msg, line[:300]), file=sys.stderr)
    sys.exit(1)


def typed(v, types):
    # bool is an int to Python; JSON's true is no number here.
    return any(v is None if t is None else
               isinstance(v, t) and not isinstance(v, bool) for t in types)


def check(n, line):
    try:
        e = json.loads(line)
    except ValueError as x:
        fail(n, "not JSON (%s)" % x, line)
    if not isinstance(e, dict):
        fail(n, "not an object", line)
    for k, t in COMMON.items():
        if k not in e or not typed(e[k], t):
            fail(n, "%s missing or of the wrong type" % k, line)
    if not TIME.match(e["time"]):
        fail(n, "time is not RFC 3339 UTC with milliseconds", line)
    if e["level"] not in LEVELS or e["event"] not in EVENTS:
        fail(n, "unknown level or event", line)
    if not PROCESS.match(e["process"]):
        fail(n, "unknown process", line)
    for k, v in OPTIONAL.items():
        if k in e and e[k] is not v:
            fail(n, "%s is not %s" % (k, json.dumps(v)), line)
    extra = set(e) - set(COMMON) - set(OPTIONAL)
    if e["event"] == "message":
        if extra:
            fail(n, "a message with more fields: %s" % sorted(extra), line)
        return e
    if extra != set(AUDIT):
        fail(n, "audit fields differ: %s" % sorted(extra ^ set(AUDIT)), line)
    for k, t in AUDIT.items():
        if not typed(e[k], t):
            fail(n, "%s has the wrong type" % k, line)
    return e


def main():
    events = []
    raw = open(sys.argv[2], "rb").read()
    if raw and not raw.endswith(b"\n"):
        fail(raw.count(b"\n") + 1, "no newline at the end", raw[-300:])
    for n, b in enumerate(raw.split(b"\n")[:-1], 1):
        try:
            line = b.decode("utf-8")
        except UnicodeDecodeError:
            fail(n, "not UTF-8", repr(b))
        events.append(check(n, line))
    if len(sys.argv) == 5 and sys.argv[3] == "--count":
        print(sum(1 for e in events if eval(sys.argv[4], {}, {"e": e})))
    else:
        json.dump(events, sys.stdout)


main()
