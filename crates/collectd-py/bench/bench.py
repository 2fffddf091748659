"""record() per call: this package, the original module (PyPI collectd 1.0), and a
pure-Python statsd client's incr(); then 8 threads recording at once.

The original and `statsd` are fetched from the package registry with pip into a
temporary directory when this runs (nothing is committed). The original is Python 2;
it is ported with only the edits Python 3 forces on the code this benchmark runs (its
import of `Queue`, and `basestring`); its sending code is never started.

    python bench/bench.py [--seconds S]
"""

import argparse
import importlib.util
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import timeit
from pathlib import Path

import collectd


def fetch(tmp: Path):
    """The original module, ported, and statsd, importable from `tmp`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    "collectd==1.0", "-d", str(tmp)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "statsd==4.0.1", "-d", str(tmp)],
                   check=True)
    with tarfile.open(next(tmp.glob("collectd-1.0.tar.gz"))) as sdist:
        source = sdist.extractfile("collectd-1.0/collectd.py").read().decode()
    ported = source.replace("from Queue import Queue, Empty", "from queue import Queue, Empty")
    ported = re.sub(r"\bbasestring\b", "str", ported)
    (tmp / "collectd_original.py").write_text(ported)
    sys.path.insert(0, str(tmp))
    for wheel in tmp.glob("statsd-*.whl"):
        sys.path.insert(0, str(wheel))
    spec = importlib.util.spec_from_file_location("collectd_original", tmp / "collectd_original.py")
    original = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(original)
    import statsd
    return original, statsd


def per_call(stmt, namespace, seconds):
    """Best of 7 runs of about `seconds` each: CPU nanoseconds per call of `stmt`.

    CPU time of the process (time.process_time), not wall time: on a machine shared
    with other work the wall clock counts their time too."""
    timer = timeit.Timer(stmt, globals=namespace, timer=time.process_time)
    number, elapsed = timer.autorange()
    number = max(number, int(number * seconds / max(elapsed, 1e-6)))
    return min(timer.repeat(repeat=7, number=number)) / number * 1e9


def threaded(fn, threads, calls):
    """(wall-clock ns, CPU ns) per call with `threads` threads each calling `fn` `calls` times."""
    barrier = threading.Barrier(threads + 1)

    def work():
        barrier.wait()
        for _ in range(calls):
            fn()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.join()
    total = threads * calls
    return (time.perf_counter() - start) / total * 1e9, (time.process_time() - cpu) / total * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="rough time per measurement")
    args = parser.parse_args()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))  # never read: statsd's datagrams and nothing else land here
    port = sink.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="collectd-py-bench-") as tmp:
        original, statsd = fetch(Path(tmp))
        ns = {
            "conn": collectd.Connection("bench", "127.0.0.1", port),
            "orig": original.Connection("bench", "127.0.0.1", port),
            "client": statsd.StatsClient("127.0.0.1", port),
        }
        rows = [
            ("collectd (this package)", 'conn.some_category.record("heads", flips=1)'),
            ("collectd 1.0 (original, Python 3 port)", 'orig.some_category.record("heads", flips=1)'),
            ("statsd 4.0.1 incr (one UDP datagram a call)", 'client.incr("some_category.heads.flips")'),
        ]
        results = {}
        print(f"Python {sys.version.split()[0]}; record() with one specific and one stat; CPU time per call, best of 7")
        for label, stmt in rows:
            results[label] = per_call(stmt, ns, args.seconds)
            print(f"  {label:46s} {results[label]:8.0f} ns/call")
        ours, theirs = results[rows[0][0]], results[rows[1][0]]
        print(f"  ratio original / this package: {theirs / ours:.1f}x")
        calls = 200_000
        conn, orig = ns["conn"], ns["orig"]
        t_ours = threaded(lambda: conn.some_category.record("heads", flips=1), 8, calls)
        t_orig = threaded(lambda: orig.some_category.record("heads", flips=1), 8, calls // 4)
        t_one = threaded(lambda: conn.some_category.record("heads", flips=1), 1, calls)
        print("Threads recording at once: time per call of all threads together (wall clock, CPU)")
        for label, (wall, cpu) in [("collectd (this package), 1 thread", t_one),
                                   ("collectd (this package), 8 threads", t_ours),
                                   ("collectd 1.0 (original), 8 threads", t_orig)]:
            print(f"  {label:46s} {wall:8.0f} ns wall {cpu:8.0f} ns CPU")
        print(f"  ratio original / this package with 8 threads (CPU): {t_orig[1] / t_ours[1]:.1f}x")
    sink.close()


if __name__ == "__main__":
    main()
