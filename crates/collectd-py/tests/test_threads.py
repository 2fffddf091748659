"""Many Python threads recording at once lose nothing.

(A free-threaded CPython 3.13t is not available from the package registries this
project uses, so this runs on the GIL build only.)
"""

import threading

import collectd
from conftest import run_python

THREADS = 8
CALLS = 20_000


def test_threads_recording_at_once_lose_nothing(receiver):
    conn = collectd.Connection("threads", "127.0.0.1", receiver.port)
    barrier = threading.Barrier(THREADS)

    def work(index):
        counter = conn.work
        barrier.wait()
        for _ in range(CALLS):
            counter.record("t%d" % index, n=1, half=0.5)
            conn.shared.record(n=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    collectd.flush(conn)
    expected = {"work-n": THREADS * CALLS, "work-half": THREADS * CALLS * 0.5, "shared-n": THREADS * CALLS}
    expected.update({f"work-t{i}-n": CALLS for i in range(THREADS)})
    receiver.wait_sums(expected)


def test_threads_recording_while_the_sender_runs(receiver):
    # The background threads send every second while 8 threads record: the sums over
    # all intervals (the last one sent at exit) are what was recorded.
    proc = run_python(f"""
        import threading, time, collectd
        collectd.start_threads()
        conn = collectd.Connection("threads-live", "127.0.0.1", {receiver.port}, interval=1)
        def work():
            end = time.monotonic() + 2.5
            n = 0
            while time.monotonic() < end:
                conn.live.record("x", n=1)
                n += 1
            counts.append(n)
        counts = []
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(sum(counts))
        """)
    total = int(proc.stdout)
    receiver.wait_sums({"live-n": total, "live-x-n": total})
    lists = receiver.poll()
    assert len({vl.time for vl in lists}) >= 2, "more than one interval was sent"
