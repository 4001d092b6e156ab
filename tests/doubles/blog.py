#!/usr/bin/env python3
"""Questions about a JSON-lines request log (bridge.py, origin.py).

    blog.py LOG count                 number of requests
    blog.py LOG get I FIELD           a field of request I (-1: the last)
    blog.py LOG header I NAME         every value of header NAME, one a
                                      line; exit 1 if there is none
    blog.py LOG header-all NAME [FROM]  header NAME of every request from
                                      FROM on, one request a line
    blog.py LOG conns [FROM]          distinct connections from request
                                      FROM (default 0) on
    blog.py LOG field-all FIELD [FROM]  that field of every request
"""
import json, sys


def main():
    log, what = sys.argv[1], sys.argv[2]
    rows = [json.loads(l) for l in open(log) if l.strip()]
    if what == "count":
        print(len(rows))
    elif what == "get":
        print(rows[int(sys.argv[3])][sys.argv[4]])
    elif what == "header":
        name = sys.argv[4].lower()
        vals = [v for k, v in rows[int(sys.argv[3])]["headers"]
                if k.lower() == name]
        for v in vals:
            print(v)
        sys.exit(0 if vals else 1)
    elif what == "header-all":
        name = sys.argv[3].lower()
        start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        for r in rows[start:]:
            print(",".join(v for k, v in r["headers"] if k.lower() == name))
    elif what == "conns":
        start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        print(len({r["conn"] for r in rows[start:]}))
    elif what == "field-all":
        start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        for r in rows[start:]:
            print(r[sys.argv[3]])
    else:
        sys.exit("unknown question " + what)


if __name__ == "__main__":
    main()
