"""Runs one of the original's example scripts unchanged, tallying what it records.

`python run_example.py SCRIPT TALLY_FILE [SEED]`: wraps `collectd.Counter.record` and
`set_exact` (the script's calls go through unchanged) to keep the sums the script
recorded, written to TALLY_FILE as JSON after each call and at exit. At exit the tally
is written, then the wrapper's lock is kept, so no call after it can record a value
the tally lacks; the package's own exit hook then sends the last interval.
"""

import atexit
import json
import os
import random
import runpy
import sys
import threading
from collections import defaultdict

import collectd

script, tally_path = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:
    random.seed(int(sys.argv[3]))

lock = threading.Lock()
sums = defaultdict(float)
exact = defaultdict(list)
original_record = collectd.Counter.record
original_set_exact = collectd.Counter.set_exact


def write():
    tmp = tally_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"sums": sums, "exact": exact}, f)
    os.replace(tmp, tally_path)


def record(self, *specific, **stats):
    with lock:
        for stat, value in stats.items():
            sums[f"{self.category}-{stat}"] += value
            for s in specific:
                sums[f"{self.category}-{s}-{stat}"] += value
        original_record(self, *specific, **stats)
        write()


def set_exact(self, **stats):
    with lock:
        for stat, value in stats.items():
            exact[f"{self.category}-{stat}"].append(value)
        original_set_exact(self, **stats)
        write()


collectd.Counter.record = record
collectd.Counter.set_exact = set_exact


def at_exit():
    lock.acquire()  # kept: nothing is recorded after the tally is final
    write()


atexit.register(at_exit)  # after collectd's: runs before it
runpy.run_path(script, run_name="__main__")
