"""Exit: a script that records and just ends delivers its last values; exit while the
sender is busy neither hangs nor crashes; the Rust threads never touch Python during
finalisation."""

import json

from conftest import run_python


def test_a_script_that_just_ends_delivers_its_last_values(receiver):
    run_python(f"""
        import collectd
        collectd.start_threads()
        conn = collectd.Connection("bye", "127.0.0.1", {receiver.port})   # 10 s interval
        conn.last.record("words", said=3)
        conn.level.set_exact(size=12)
        """)
    receiver.wait_sums({"last-said": 3, "last-words-said": 3, "level-size": 12})


def test_without_start_threads_exit_still_sends_what_was_recorded(receiver):
    run_python(f"""
        import collectd
        conn = collectd.Connection("nothreads", "127.0.0.1", {receiver.port})
        conn.last.record(said=1)
        """)
    receiver.wait_sums({"last-said": 1})


def test_exit_while_the_sender_is_busy_neither_hangs_nor_crashes(receiver):
    # 2,000 names sent every second, a thread recording until the very end, and a
    # daemon thread still recording while the interpreter finalises.
    proc = run_python(f"""
        import json, threading, time, collectd
        collectd.start_threads()
        conn = collectd.Connection("busyexit", "127.0.0.1", {receiver.port}, interval=1)
        names = {{"s%d" % i: 1 for i in range(2000)}}
        stop = False
        count = [0]
        def worker():
            while not stop:
                conn.w.record(**names)
                count[0] += 1
        def daemon():
            while True:
                conn.d.record(n=1)
        t = threading.Thread(target=worker)
        t.start()
        threading.Thread(target=daemon, daemon=True).start()
        time.sleep(1.5)
        stop = True
        t.join()
        print(json.dumps(count[0]))
        """, timeout=30)
    assert "Fatal Python error" not in proc.stderr and "panicked" not in proc.stderr, proc.stderr
    count = json.loads(proc.stdout)
    receiver.wait_sums({"w-s0": count, "w-s1999": count}, timeout=20)


def test_log_records_of_the_sender_reach_python_logging_only_from_python_threads(receiver):
    # The sender logs a refused datagram (nothing listens on the port) from its own
    # thread; the record reaches the application's handler at the next call from Python,
    # and exit (during which the sender logs again) is clean.
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    proc = run_python(f"""
        import logging, threading, time, collectd
        seen = []
        class Handler(logging.Handler):
            def emit(self, record):
                seen.append((threading.current_thread().name, record.getMessage()))
        logging.getLogger("collectd").addHandler(Handler())
        conn = collectd.Connection("refused", "127.0.0.1", {dead_port})
        conn.x.record(n=1)
        collectd.flush(conn)
        conn.x.record(n=1)
        collectd.flush(conn)
        assert seen, "the refusal was logged"
        assert all(name == "MainThread" for name, _ in seen), seen
        print(seen[0][1])
        """)
    assert "refused" in proc.stdout
    assert proc.stderr == ""
