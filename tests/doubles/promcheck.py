#!/usr/bin/env python3
"""promcheck.py FILE: check a Prometheus text exposition strictly and
print its samples as JSON ({"name{label=\"v\",...}": value}).  Exits 1
with the first problem: a malformed line, a sample before its TYPE, a
repeated TYPE or series, a counter that is negative or not *_total, a
histogram whose buckets are not cumulative, lack +Inf, or disagree with
_count."""
import json, math, re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(\{(%s(?:,%s)*)?\})? (\S+)( -?\d+)?$" % (NAME, LABEL, LABEL))


def fail(n, msg):
    print("promcheck: line %d: %s" % (n, msg), file=sys.stderr)
    sys.exit(1)


def family(name, types):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[: -len(suf)]) == "histogram":
            return name[: -len(suf)]
    return name


def main():
    types, helps, samples, hist = {}, set(), {}, {}
    for n, line in enumerate(open(sys.argv[1]).read().split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP "):
            m = re.match(r"^# HELP (%s) (.*)$" % NAME, line)
            if not m or m.group(1) in helps:
                fail(n, "bad or repeated HELP")
            helps.add(m.group(1))
            continue
        if line.startswith("# TYPE "):
            m = re.match(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME, line)
            if not m or m.group(1) in types:
                fail(n, "bad or repeated TYPE")
            types[m.group(1)] = m.group(2)
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(n, "malformed sample: %r" % line)
        name, labels = m.group(1), m.group(3) or ""
        value = line[len(name) + len(m.group(2) or ""):].split()[0]
        try:
            v = float(value)
        except ValueError:
            fail(n, "bad value %r" % value)
        fam = family(name, types)
        if fam not in types:
            fail(n, "sample of %s before its TYPE" % fam)
        key = name + ("{" + labels + "}" if labels else "")
        if key in samples:
            fail(n, "repeated series %s" % key)
        samples[key] = v
        t = types[fam]
        if t == "counter" and (not name.endswith("_total") or v < 0):
            fail(n, "counter %s must end in _total and not be negative" % name)
        if t == "histogram":
            lab = dict(re.findall(LABEL, labels))
            le = lab.pop("le", None)
            h = hist.setdefault((fam, tuple(sorted(lab.items()))), {"buckets": []})
            if name.endswith("_bucket"):
                if le is None:
                    fail(n, "bucket without le")
                h["buckets"].append((math.inf if le == "+Inf" else float(le), v))
            else:
                h[name[len(fam):]] = v
    for (fam, lab), h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != math.inf:
            fail(0, "%s%s: no +Inf bucket" % (fam, lab))
        if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            fail(0, "%s%s: buckets not ascending and cumulative" % (fam, lab))
        if h.get("_count") != b[-1][1] or "_sum" not in h:
            fail(0, "%s%s: _count or _sum wrong" % (fam, lab))
    json.dump(samples, sys.stdout, indent=0, sort_keys=True)
    return 0


sys.exit(main())
