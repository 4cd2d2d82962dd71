#!/usr/bin/env python3
"""Run every unit-test binary, add up their closing lines, print one total.

Each binary ends with "<suite>: N passed, N failed". A binary that crashes or
prints no such line counts as a failure of its whole suite.

--runner "CMD ARGS" runs each binary under CMD (a cross build's binaries
under qemu-aarch64: make ARCH=aarch64 unit).
"""
import re
import shlex
import subprocess
import sys

LINE = re.compile(r"^(\S+): (\d+) passed, (\d+) failed$", re.M)


def main(bins):
    runner = []
    if bins[:1] == ["--runner"]:
        runner = shlex.split(bins[1])
        bins = bins[2:]
    passed = failed = 0
    for b in bins:
        p = subprocess.run(runner + [b], capture_output=True, text=True, timeout=300)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        m = LINE.findall(p.stdout)
        if not m or p.returncode != 0:
            if not m:
                print(f"{b}: no result line (exit {p.returncode})")
            failed += max(1, sum(int(x[2]) for x in m))
            passed += sum(int(x[1]) for x in m)
            continue
        passed += sum(int(x[1]) for x in m)
    if not bins:
        print("no unit tests found")
        return 1
    print(f"unit: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
