"""The original's two examples, unchanged but for Python 3 syntax, against a real
collectd 5.12 (network listener on loopback, csv and rrdtool plugins), each run for a
few seconds at a 1-second interval and stopped with Ctrl-C (SIGINT)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLES, HERE, wait_for

HOST = socket.gethostname()

BASIC_FILES = {"some_category-another_stat", "some_category-some_counter", "coin_stats-heads-flips",
               "coin_stats-tails-flips", "coin_stats-flips"}
PRIMES_FILES = {"queue-size", "producer-too_small", "producer-too_big", "producer-just_right",
                "consumer-count", "consumer-composite-count", "consumer-prime-count", "consumer-time",
                "consumer-composite-time", "consumer-prime-time"}


def read_tally(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def run_example(server, tmp_path, name, until, seed=None, run_for=3.0):
    """Starts the example, waits until `until(tally)` and `run_for` seconds, then SIGINT."""
    tally_path = str(tmp_path / f"{name}.json")
    env = dict(os.environ, COLLECTD_PY_HOST="127.0.0.1", COLLECTD_PY_PORT=str(server.port),
               COLLECTD_PY_INTERVAL="1", PYTHONPATH=str(HERE))
    args = [sys.executable, str(HERE / "run_example.py"), str(EXAMPLES / f"{name}.py"), tally_path]
    if seed is not None:
        args.append(str(seed))
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (t := read_tally(tally_path)) and until(t), 20, f"{name}.py to record")
        time.sleep(run_for)  # pacing: a few 1-second intervals of the script running
        assert proc.poll() is None, f"{name}.py ended early: {proc.stderr.read()}"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KeyboardInterrupt" in stderr, stderr
    assert "Fatal Python error" not in stderr, stderr
    return read_tally(tally_path)


def check_files(server, tally, documented):
    sums = tally["sums"]
    recorded = set(sums) | set(tally["exact"])
    assert recorded <= documented, f"names the documentation does not list: {recorded - documented}"
    rrd_dir = server.dir / "rrd" / HOST / "any"

    def landed():
        for name, total in sums.items():
            got, rows = server.csv_sum(HOST, "any", name)
            if rows == 0 or abs(got - total) > 1e-6 * max(rows, 1) + 1e-9:
                return False
        return all((rrd_dir / f"gauge-{name}.rrd").is_file() for name in recorded)
    wait_for(landed, 15, "collectd's csv rows to sum to what was recorded and the rrd files to exist")
    for name, total in sums.items():
        got, rows = server.csv_sum(HOST, "any", name)
        assert got == pytest.approx(total, abs=1e-6 * rows), name
    for name, values in tally["exact"].items():
        csv_dir = server.dir / "csv" / HOST / "any"
        for path in csv_dir.glob(f"gauge-{name}-????-??-??"):
            for line in path.read_text().splitlines()[1:]:
                value = float(line.split(",")[1])
                assert value == 0 or any(abs(value - v) < 1e-6 for v in values), (name, value, values)
    return {p.name[len("gauge-"):-len(".rrd")] for p in rrd_dir.glob("gauge-*.rrd")}


def test_basic_example(collectd_server, tmp_path):
    # Seed 5: heads then tails, one second apart, so every documented file appears in a
    # short run.
    tally = run_example(collectd_server, tmp_path, "basic", seed=5,
                        until=lambda t: "coin_stats-heads-flips" in t["sums"] and "coin_stats-tails-flips" in t["sums"])
    files = check_files(collectd_server, tally, BASIC_FILES)
    assert files == BASIC_FILES
    s = tally["sums"]
    assert s["coin_stats-flips"] == s["coin_stats-heads-flips"] + s["coin_stats-tails-flips"]


def test_primes_example(collectd_server, tmp_path):
    tally = run_example(collectd_server, tmp_path, "primes",
                        until=lambda t: "queue-size" in t["exact"] and "consumer-count" in t["sums"])
    files = check_files(collectd_server, tally, PRIMES_FILES)
    assert {"queue-size", "consumer-count", "consumer-time"} <= files
    assert files <= PRIMES_FILES
