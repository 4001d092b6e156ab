#!/usr/bin/env python3
"""promnames.py FILE...: the metric names that Prometheus rule files
(.yml: every expr) and Grafana dashboards (.json: every expr and every
label_values() variable) query, one per line, sorted.  Names that a
rule file records itself are left out.  A small PromQL reading: string
literals, label matchers, ranges and the label lists of by, without,
on, ignoring and group_left/right are dropped; what is left that is an
identifier, not a keyword and not called like a function, is a metric
name."""
import json, re, sys

import yaml

IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan"}


def names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'", '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", e)
    found = set()
    for m in re.finditer(r"(?<![\w:$.])(%s)(\s*\()?" % IDENT, e):
        if m.group(2) is None and m.group(1).lower() not in KEYWORDS:
            found.add(m.group(1))
    return found


def walk_json(node, exprs):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                exprs.append(v)
            elif k in ("query", "definition") and isinstance(v, str):
                m = re.match(r"\s*label_values\(\s*(%s)" % IDENT, v)
                if m:
                    exprs.append(m.group(1))
            else:
                walk_json(v, exprs)
    elif isinstance(node, list):
        for v in node:
            walk_json(v, exprs)


def main():
    used, recorded = set(), set()
    for path in sys.argv[1:]:
        exprs = []
        if path.endswith(".json"):
            walk_json(json.load(open(path)), exprs)
        else:
            for g in yaml.safe_load(open(path))["groups"]:
                for r in g["rules"]:
                    exprs.append(str(r["expr"]))
                    if "record" in r:
                        recorded.add(r["record"])
        if not exprs:
            print("promnames: %s: no expression" % path, file=sys.stderr)
            return 1
        for e in exprs:
            used |= names(e)
    for n in sorted(used - recorded):
        print(n)
    return 0


sys.exit(main())
