#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the KUnit KTAP output in a kernel console log into TAP lines, one per test case.

Prints "ok - kunit: <suite>: <case>" or "not ok - ..." for every leaf case (a parameterised
case counts once per parameter; skipped cases are ok with "# SKIP"). Suite and parent
summaries are not counted again. Exits non-zero if no case was found or an --expect'ed suite
did not run.
"""

import argparse
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(?P<indent>\s*)(?P<res>not ok|ok) \d+(?: -)? ?(?P<name>[^#]*?)\s*(?:#\s*(?P<dir>.*))?$")
SUBTEST = re.compile(r"^(?P<indent>\s*)# Subtest: (?P<name>\S+)")


def parse(lines):
    """Yields (ok, skipped, path, case) for every leaf case."""
    stack = []  # open subtests: [indent, name, number of results seen inside]
    for line in lines:
        line = TIMESTAMP.sub("", line.rstrip("\r\n"))
        m = SUBTEST.match(line)
        if m:
            stack.append([len(m["indent"]), m["name"], 0])
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent = len(m["indent"])
        closed = None
        while stack and stack[-1][0] > indent:
            closed = stack.pop()
        if stack and stack[-1][0] == indent:
            stack[-1][2] += 1
            if closed is not None and closed[2] > 0:
                continue  # summary of a parameterised case already counted per parameter
            skipped = (m["dir"] or "").upper().startswith("SKIP")
            yield m["res"] == "ok", skipped, [s[1] for s in stack], m["name"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--expect", action="append", default=[], help="a suite that must have run")
    args = ap.parse_args()

    with open(args.log, errors="replace") as f:
        cases = list(parse(f))

    suites = set()
    for ok, skipped, path, case in cases:
        suites.add(path[0])
        note = " # SKIP" if skipped else ""
        print(f"{'ok' if ok else 'not ok'} - kunit: {': '.join(path)}: {case}{note}")
    rc = 0
    if not cases:
        print("not ok - kunit: no KTAP test results in the console log")
        rc = 1
    for suite in args.expect:
        if suite not in suites:
            print(f"not ok - kunit: suite {suite} did not run")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
