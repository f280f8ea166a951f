#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark's report: C vfio-pci against the Rust vfio_pci_rs, from the guest's raw results.

    bench-report.py [--out DIR] [--host FILE] [--no-plot] [--check] RAW

RAW is what harness/guest/bench wrote (results/bench-raw.txt): per round, driver and op, one
ns/op value per batch, or a skip (the driver refused the operation) or a failure. For each op
and driver, a round's value is the median of its batches; the table shows the median of those
over the rounds, their min and max, and the ratio of the medians, rust/c (below 1: Rust is
faster). "paired" is the median over rounds of rust/c within a round (A and B of a round ran
back to back), a check on drift between rounds.

Prints the table, then exactly one line per op "ratio <op> <rust/c>" ("ratio <op> skipped" when
either driver has no number), and writes DIR/bench.csv, DIR/bench.json and DIR/bench-ratios.png
(DIR: the directory of RAW). The table, the CSV and the JSON need only the standard library;
the plot needs matplotlib (python3-matplotlib, installed by setup.sh).

--host FILE: facts about the host ("key value" lines; default: bench-host.txt beside RAW).
--check: also exit 1 unless every op has a number or a skip for each driver in every round
and nothing failed (the smoke run in `make test` uses it; it never looks at the times).
"""

import argparse
import csv
import json
import os
import statistics
import sys

DRIVERS = ("c", "rust")
LIMIT = 1.05


def parse(path):
    """The raw file: meta, and per (kind, op) per driver the rounds' batches, skips, fails."""
    meta = {"iterations": {}}
    ops = {}  # (kind, op) -> {driver -> {"rounds": {round: [ns]}, "skip": {}, "fail": {}}}
    order = []

    def entry(kind, op):
        key = (kind, op)
        if key not in ops:
            ops[key] = {d: {"rounds": {}, "iters": {}, "skip": {}, "fail": {}} for d in DRIVERS}
            order.append(key)
        return ops[key]

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            if not words:
                continue
            what = words[0]
            try:
                if what == "meta":
                    if words[1] == "iterations":
                        meta["iterations"][words[2]] = int(words[3])
                    else:
                        meta[words[1]] = " ".join(words[2:])
                elif what in ("sample", "detail"):
                    rnd, drv, op, ns, iters = words[1:6]
                    d = entry("op" if what == "sample" else "detail", op)[drv]
                    d["rounds"].setdefault(int(rnd), []).append(float(ns))
                    d["iters"][int(rnd)] = int(iters)
                elif what in ("skip", "fail"):
                    rnd, drv, op = words[1:4]
                    entry("op", op)[drv][what][int(rnd)] = " ".join(words[4:])
                else:
                    raise ValueError(f"unknown record {what!r}")
            except (ValueError, IndexError, KeyError) as e:
                sys.exit(f"{path}:{n}: cannot read {line.strip()!r}: {e}")
    # The main ops in the order the guest ran them, each followed by its parts.
    main = meta.get("ops", "").split()
    for kind, op in order:
        if kind == "op" and op not in main:
            main.append(op)
    ordered = []
    for op in main:
        ordered.append(("op", op))
        ordered += [k for k in order if k[0] == "detail" and k[1].startswith(op + ".")]
    ordered += [k for k in order if k not in ordered]
    for key in ordered:
        entry(*key)
    return meta, ops, ordered


def summarize(ops, ordered):
    """Per op: per driver the per-round values and their median, min, max; the ratios."""
    rows = []
    for kind, op in ordered:
        row = {"op": op, "kind": kind}
        for drv in DRIVERS:
            d = ops[(kind, op)][drv]
            per_round = {r: statistics.median(v) for r, v in sorted(d["rounds"].items())}
            vals = list(per_round.values())
            row[drv] = {
                "median": statistics.median(vals) if vals else None,
                "min": min(vals) if vals else None,
                "max": max(vals) if vals else None,
                "rounds": per_round,
                "batches": {r: v for r, v in sorted(d["rounds"].items())},
                "iterations": d["iters"],
                "skip": d["skip"],
                "fail": d["fail"],
            }
        c, r = row["c"], row["rust"]
        if c["median"] and r["median"] is not None:
            row["ratio"] = r["median"] / c["median"]
            paired = [r["rounds"][k] / c["rounds"][k] for k in c["rounds"]
                      if k in r["rounds"] and c["rounds"][k]]
            row["paired"] = statistics.median(paired) if paired else None
            row["round_ratios"] = paired
            row["status"] = "measured"
        else:
            row["ratio"] = row["paired"] = None
            row["round_ratios"] = []
            row["status"] = "failed" if c["fail"] or r["fail"] else "skipped"
        rows.append(row)
    return rows


def why_not(d):
    """Why a driver has no number for an op."""
    if d["fail"]:
        return "FAILED: " + sorted(set(d["fail"].values()))[0]
    if d["skip"]:
        return "skipped: " + sorted(set(d["skip"].values()))[0]
    return "no result"


def fmt_ns(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def table(meta, host, rows):
    out = []
    mode = meta.get("mode", "?")
    mods = dict(w.partition("=")[::2] for w in meta.get("drivers", "").split())
    out.append(f"vfio-rs bench ({mode}): C vfio-pci ({mods.get('c', '?')}) against Rust "
               f"({mods.get('rust', '?')}), {meta.get('rounds', '?')} rounds each, interleaved "
               f"({meta.get('order', '?')}, ...; module unload/load between), "
               f"{meta.get('batches', '?')} batches per op and round")
    machine = ", ".join(f"{k} {v}" for k, v in host.items())
    out.append(f"guest kernel {meta.get('kernel', '?')}, {meta.get('date', '?')}"
               + (f"; host: {machine}" if machine else ""))
    if mode == "smoke":
        out.append("SMOKE RUN: a few iterations in one round, the times mean nothing")
    out.append("ns/op: median over rounds of each round's value (the median of its batches); "
               "min-max over rounds; rust/c: ratio of the medians (< 1: Rust faster); "
               "paired: median of the rounds' own ratios")
    out.append("")
    head = (f"{'op':<26} {'C ns/op':>15} {'C min-max':>27}  {'Rust ns/op':>15} "
            f"{'Rust min-max':>27}  {'rust/c':>7} {'paired':>7}")

    def line(row):
        cells = [f"{row['op']:<26}"]
        for drv in DRIVERS:
            d = row[drv]
            if d["median"] is None:
                cells.append(f"{why_not(d):<71}" if drv == "c" else why_not(d))
                if drv == "c":
                    cells[-1] = cells[-1][:71]
                continue
            rng = f"{fmt_ns(d['min'])}-{fmt_ns(d['max'])}"
            cells.append(f"{fmt_ns(d['median']):>15} {rng:>27} ")
        if row["ratio"] is not None:
            flag = "  > 1.05" if row["ratio"] > LIMIT else ""
            cells.append(f"{row['ratio']:>7.3f} {row['paired']:>7.3f}{flag}")
        return " ".join(cells).rstrip()

    out.append(head)
    out += [line(r) for r in rows if r["kind"] == "op"]
    rounds = int(meta.get("rounds", "0") or 0)
    for row in rows:
        for drv in DRIVERS:
            d = row[drv]
            if row["kind"] == "op" and d["rounds"] and len(d["rounds"]) < rounds:
                out.append(f"  note: {row['op']} on {drv}: a number in {len(d['rounds'])} of "
                           f"{rounds} rounds only ({why_not(d)})")
    details = [r for r in rows if r["kind"] == "detail"]
    if details:
        out.append("")
        out.append("parts of the ops above (no ratio line of their own):")
        out.append(head)
        out += [line(r) for r in details]
    return out


def ratio_lines(rows):
    out = []
    for row in rows:
        if row["kind"] != "op":
            continue
        if row["ratio"] is None:
            out.append(f"ratio {row['op']} {row['status']}")
        else:
            out.append(f"ratio {row['op']} {row['ratio']:.3f}")
    return out


def write_csv(path, rows):
    cols = ["op", "kind", "status"]
    for drv in DRIVERS:
        cols += [f"{drv}_median_ns", f"{drv}_min_ns", f"{drv}_max_ns", f"{drv}_rounds",
                 f"{drv}_note"]
    cols += ["ratio", "paired_ratio"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for row in rows:
            cells = [row["op"], row["kind"], row["status"]]
            for drv in DRIVERS:
                d = row[drv]
                num = [f"{d[k]:.1f}" if d[k] is not None else "" for k in ("median", "min", "max")]
                note = "" if d["median"] is not None else why_not(d)
                cells += num + [len(d["rounds"]), note]
            cells += [f"{row['ratio']:.4f}" if row["ratio"] is not None else "",
                      f"{row['paired']:.4f}" if row["paired"] is not None else ""]
            w.writerow(cells)


def write_json(path, meta, host, rows):
    doc = {"meta": meta, "host": host, "limit": LIMIT, "ops": []}
    for row in rows:
        item = {k: row[k] for k in ("op", "kind", "status", "ratio", "paired", "round_ratios")}
        for drv in DRIVERS:
            d = dict(row[drv])
            for k in ("rounds", "batches", "iterations", "skip", "fail"):
                d[k] = {str(r): v for r, v in d[k].items()}
            item[drv] = d
        doc["ops"].append(item)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def plot(path, meta, host, rows):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    shown = list(rows)
    n = len(shown)
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.42 * n))
    ratios = [r["ratio"] for r in shown if r["ratio"] is not None]
    dots = [x for r in shown for x in r["round_ratios"]]
    right = max([1.25] + [x * 1.12 for x in ratios + dots])
    ys = list(range(n))[::-1]
    for y, row in zip(ys, shown):
        detail = row["kind"] == "detail"
        if row["ratio"] is None:
            who = [f"{d}: {why_not(row[d])}" for d in DRIVERS if row[d]["median"] is None]
            ax.text(0.02, y, "; ".join(who)[:110], va="center", fontsize=8, color="0.35",
                    style="italic")
            continue
        over = row["ratio"] > LIMIT
        color = ("#e8a0a0" if over else "#a8d5a8") if detail else ("#c0392b" if over else
                                                                   "#2e8b57")
        ax.barh(y, row["ratio"], height=0.62, color=color)
        ax.plot(row["round_ratios"], [y] * len(row["round_ratios"]), "o", ms=3.5,
                color="black", alpha=0.6, zorder=3)
        ax.text(row["ratio"] + right * 0.01, y + 0.18, f"{row['ratio']:.3f}", va="center",
                fontsize=8)
    ax.axvline(1.0, color="black", lw=1.2)
    ax.axvline(LIMIT, color="#c0392b", lw=1, ls="--")
    ax.text(LIMIT, -0.6, f" {LIMIT}", color="#c0392b", fontsize=8, va="bottom")
    from matplotlib.patches import Patch  # pylint: disable=import-outside-toplevel
    ax.legend(handles=[Patch(color="#2e8b57", label=f"op, rust/c <= {LIMIT}"),
                       Patch(color="#c0392b", label=f"op, rust/c > {LIMIT}"),
                       Patch(color="#a8d5a8", label="part of an op (indented)")],
              loc="lower right", fontsize=8, framealpha=0.9)
    ax.set_yticks(ys)
    ax.set_yticklabels([("    " if r["kind"] == "detail" else "") + r["op"] for r in shown],
                       fontsize=9)
    ax.set_ylim(-0.7, n - 0.1)
    ax.set_xlim(0, right)
    ax.set_xlabel("time per operation, Rust / C (median over rounds; < 1: Rust faster); "
                  "dots: each round's own ratio")
    mode = meta.get("mode", "?")
    title = (f"vfio-rs bench ({mode}): Rust vfio_pci_rs vs C vfio-pci, "
             f"{meta.get('rounds', '?')} interleaved rounds each")
    sub = f"guest kernel {meta.get('kernel', '?')}, {meta.get('date', '?')}, QEMU TCG"
    if host.get("cpu"):
        sub += f", host {host.get('nproc', '?')} x {host['cpu']}"
    if mode == "smoke":
        sub += "  -- SMOKE RUN: the times mean nothing"
    ax.set_title(title + "\n" + sub, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check(meta, ops, rows):
    """Every op has a number or a skip for each driver in every round; nothing failed."""
    problems = []
    rounds = int(meta.get("rounds", "0") or 0)
    if not rounds:
        problems.append("no 'meta rounds' line")
    for op in meta.get("ops", "").split():
        if ("op", op) not in ops:
            problems.append(f"{op}: no record at all")
    for row in rows:
        if row["kind"] != "op":
            continue
        for drv in DRIVERS:
            d = row[drv]
            for r in range(1, rounds + 1):
                if r not in d["rounds"] and r not in d["skip"]:
                    why = d["fail"].get(r, "neither a number nor a skip")
                    problems.append(f"{row['op']} {drv} round {r}: {why}")
    return problems


def read_host(path):
    host = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k:
                    host[k] = v.strip()
    return host


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("raw")
    ap.add_argument("--out", help="output directory (default: the raw file's)")
    ap.add_argument("--host", help="host facts file (default: bench-host.txt beside RAW)")
    ap.add_argument("--no-plot", action="store_true", help="no PNG")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every op has a number or a skip, per driver and round")
    args = ap.parse_args()
    out = args.out or os.path.dirname(os.path.abspath(args.raw))
    host = read_host(args.host or os.path.join(os.path.dirname(args.raw), "bench-host.txt"))

    meta, ops, ordered = parse(args.raw)
    rows = summarize(ops, ordered)
    print("\n".join(table(meta, host, rows)))
    print()
    print("\n".join(ratio_lines(rows)))
    over = [f"{r['op']} {r['ratio']:.3f}" for r in rows
            if r["kind"] == "op" and r["ratio"] is not None and r["ratio"] > LIMIT]
    if over and meta.get("mode") == "smoke":
        print(f"# above {LIMIT}: {', '.join(over)} (a smoke run: meaningless)")
    elif over:
        print(f"# above {LIMIT}: {', '.join(over)} (README, \"Benchmark\", explains them)")

    os.makedirs(out, exist_ok=True)
    write_csv(os.path.join(out, "bench.csv"), rows)
    write_json(os.path.join(out, "bench.json"), meta, host, rows)
    written = ["bench.csv", "bench.json"]
    if not args.no_plot:
        plot(os.path.join(out, "bench-ratios.png"), meta, host, rows)
        written.append("bench-ratios.png")
    print(f"# written in {out}: {', '.join(written)}")

    if args.check:
        problems = check(meta, ops, rows)
        for p in problems:
            print(f"# check: {p}")
        if problems:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
