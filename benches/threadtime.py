#!/usr/bin/env python3
"""CPU time per thread of a command: the figure that stays meaningful when the machine is busy.

Usage: benches/threadtime.py CMD ARGS... (stdout of CMD goes to /dev/null)

Polls /proc/PID/task/*/stat every 2 ms and prints, per thread name, the user and system CPU
seconds it had used when last seen (a thread that exits between two polls loses at most 2 ms).
The longest-running thread bounds the wall time on an idle machine with enough cores, so it is
the critical path that read-ahead and the writer thread are meant to shorten.
"""
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def sample(pid, seen):
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]) / TICK, int(fields[12]) / TICK
        seen[tid] = (name, utime, stime)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seen = {}
    start = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
    while proc.poll() is None:
        sample(proc.pid, seen)
        time.sleep(0.002)
    wall = time.monotonic() - start
    print(f"wall {wall:.2f} s, exit {proc.returncode}")
    for tid, (name, u, s) in sorted(seen.items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
        print(f"  {name:<16} {u + s:6.2f} s  (user {u:.2f}, sys {s:.2f})  tid {tid}")


main()
