#!/usr/bin/env python3
"""What disclosure control costs: share of figures published per level, and the effect on the
index, between two demo databases (before and after a change of the rules).

Usage: python3 scripts/disclosure_cost.py BEFORE.duckdb AFTER.duckdb BEFORE_URL AFTER_URL
(the URLs of two servers serving those databases, for the index ranking). The ranking needs a
token of each server (`wijkradar token create --db … --user riec-analist --scope read`) in
WIJKRADAR_TOKEN_BEFORE and WIJKRADAR_TOKEN_AFTER. Needs the PyPI package duckdb. Prints
Markdown tables for docs/disclosure.md.
"""
import json
import os
import sys
import urllib.request

import duckdb


def coverage(db):
    con = duckdb.connect(db, read_only=True)
    v = con.execute("SELECT max(version) FROM dataset_version").fetchone()[0]
    rows = con.execute(
        """SELECT level, sum(areas), sum(published), sum(rates) FROM coverage
           WHERE version = ? GROUP BY level""",
        [v],
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


TOKENS = {}


def ranking(url, gemeente, level):
    req = urllib.request.Request(f"{url}/v1/ranking/{gemeente}?level={level}")
    if TOKENS.get(url):
        req.add_header("Authorization", f"Bearer {TOKENS[url]}")
    with urllib.request.urlopen(req) as r:
        rows = json.load(r)["ranking"]
    return {x["code"]: x["index"] for x in rows}


def spearman(a, b):
    keys = sorted(set(a) & set(b))
    if len(keys) < 3:
        return float("nan")

    def ranks(d):
        order = sorted(keys, key=lambda k: d[k])
        return {k: i for i, k in enumerate(order)}

    ra, rb = ranks(a), ranks(b)
    n = len(keys)
    d2 = sum((ra[k] - rb[k]) ** 2 for k in keys)
    return 1 - 6 * d2 / (n * (n * n - 1))


def main():
    before, after, url_b, url_a = sys.argv[1:5]
    TOKENS[url_b] = os.environ.get("WIJKRADAR_TOKEN_BEFORE")
    TOKENS[url_a] = os.environ.get("WIJKRADAR_TOKEN_AFTER")
    cb, ca = coverage(before), coverage(after)
    order = ["gemeenten", "wijken", "buurten", "pc4", "pc6", "h3-7", "h3-8", "h3-9", "h3-10"]
    print("| niveau | getoond voor | getoond na | rates voor | rates na |")
    print("|---|---|---|---|---|")
    for lvl in order:
        if lvl not in cb and lvl not in ca:
            continue
        b = cb.get(lvl, (0, 0, 0))
        a = ca.get(lvl, (0, 0, 0))
        pct = lambda x, n: f"{100 * x / n:.1f} %" if n else "—"
        print(f"| {lvl} | {pct(b[1], b[0])} | {pct(a[1], a[0])} | {pct(b[2], b[0])} | {pct(a[2], a[0])} |")
    print()
    for level in ["wijken", "buurten"]:
        rb = ranking(url_b, "GM0983", level)
        ra = ranking(url_a, "GM0983", level)
        print(f"{level}: Spearman-rangcorrelatie van de index voor/na {spearman(rb, ra):.3f} ({len(set(rb) & set(ra))} gebieden)")
    wb = sorted(ranking(url_b, "GM0983", "wijken").items(), key=lambda x: -x[1])
    wa = sorted(ranking(url_a, "GM0983", "wijken").items(), key=lambda x: -x[1])
    pos = lambda w: [c for c, _ in w].index("WK098325") + 1
    print(f"Klingerberg (WK098325) in de rangorde van Venlo's wijken: {pos(wb)} voor, {pos(wa)} na")


if __name__ == "__main__":
    main()
