"""fork(): a child sends its own values, from its own socket, with its own threads,
starting from zero; the parent's values before the fork are sent once, by the parent."""

import json

from conftest import run_python

PRELUDE = """
import json, os, sys, time, threading, collectd
PORT = {port}
def wait_sent(conn, packets=1, timeout=10):
    # Waits for this process's own sender threads to send (no flush here).
    end = time.monotonic() + timeout
    while collectd.sender_stats(conn).packets_sent < packets:
        if time.monotonic() > end:
            sys.exit("the child's threads sent nothing")
        time.sleep(0.01)
"""


def script(receiver, body):
    return PRELUDE.format(port=receiver.port) + body


def sources_of(receiver, name):
    return {vl.source for vl in receiver.poll() if vl.type_instance == name and vl.values[0] != 0}


def test_os_fork_child_sends_its_own_values(receiver):
    proc = run_python(script(receiver, """
conn = collectd.Connection("forky", "127.0.0.1", PORT, interval=1)
collectd.start_threads()
conn.c.record(parent_before=5)
pid = os.fork()
if pid == 0:
    assert collectd.sender_stats(conn).packets_sent == 0, "the child's statistics start from zero"
    conn.c.record(child=7)
    wait_sent(conn)            # its own threads send, every second
    os._exit(0)
_, status = os.waitpid(pid, 0)
conn.c.record(parent_after=11)
print(json.dumps({"status": status}))
"""))
    assert json.loads(proc.stdout)["status"] == 0
    got = receiver.wait_sums({"c-parent_before": 5, "c-child": 7, "c-parent_after": 11})
    assert got["c-parent_before"] == 5, "the parent's pre-fork value is sent once"
    child_sources = sources_of(receiver, "c-child")
    parent_sources = sources_of(receiver, "c-parent_before") | sources_of(receiver, "c-parent_after")
    assert child_sources and parent_sources and not child_sources & parent_sources, \
        "the child sends from a socket of its own"


def test_multiprocessing_fork_children_deliver_at_their_exit(receiver):
    proc = run_python(script(receiver, """
import multiprocessing
conn = collectd.Connection("mp", "127.0.0.1", PORT)   # 10 s interval: only exit sends
collectd.start_threads()
conn.mp.record(parent=3)
def work(i):
    conn.mp.record("w%d" % i, n=i + 1)   # delivered when the child process ends
if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(i,)) for i in range(3)]
    for p in procs: p.start()
    for p in procs: p.join()
    print(json.dumps([p.exitcode for p in procs]))
    with ctx.Pool(2) as pool:
        pool.map(work, [10, 20])
"""))
    assert json.loads(proc.stdout.splitlines()[0]) == [0, 0, 0]
    got = receiver.wait_sums({"mp-parent": 3, "mp-n": 1 + 2 + 3, "mp-w0-n": 1, "mp-w1-n": 2, "mp-w2-n": 3})
    assert got["mp-parent"] == 3
    # Pool workers are killed (terminate) at the end of the with block, so only the
    # values of finished tasks are promised where the worker exited normally.


def test_gunicorn_style_prefork_workers(receiver):
    # A master that started the threads and recorded, then 4 forked workers that each
    # record and exit normally (sys.exit, as gunicorn's workers do).
    proc = run_python(script(receiver, """
conn = collectd.Connection("master", "127.0.0.1", PORT, interval=1)
collectd.start_threads()
conn.app.record(master_boot=1)
workers = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        for _ in range(1000):
            conn.app.record("worker%d" % i, requests=1)
        sys.exit(0)
    workers.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in workers]
print(json.dumps(statuses))
"""))
    assert json.loads(proc.stdout) == [0, 0, 0, 0]
    expected = {"app-master_boot": 1, "app-requests": 4000}
    expected.update({f"app-worker{i}-requests": 1000 for i in range(4)})
    got = receiver.wait_sums(expected)
    assert got["app-master_boot"] == 1
    assert len(sources_of(receiver, "app-requests")) == 4, "each worker sends from its own socket"


def test_fork_while_the_sender_is_busy_neither_deadlocks_nor_duplicates(receiver):
    # A second connection with 20,000 names keeps the sender busy for milliseconds at
    # each send (its datagrams go to a socket nobody reads); a recording thread and a
    # flushing thread keep the library's locks busy too, while the main thread forks
    # 30 times. A fork that caught the sender inside its lock without the fork hooks
    # leaves the child hung on that lock.
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        proc = run_python(script(receiver, """
noise = collectd.Connection("noise", "127.0.0.1", %d, interval=1)
noise.n.record(**{"s%%d" %% i: 1 for i in range(20000)})
conn = collectd.Connection("busy", "127.0.0.1", PORT, interval=1)
collectd.start_threads()
stop = False
recorded = [0]
def recorder():
    while not stop:
        conn.busy.record(**{"s%%d" %% i: 1 for i in range(50)})
        recorded[0] += 1
        time.sleep(0.0005)
def flusher():
    while not stop:
        collectd.flush(conn)
        time.sleep(0.002)
threads = [threading.Thread(target=recorder), threading.Thread(target=flusher)]
for t in threads: t.start()
children = []
for _ in range(30):
    pid = os.fork()
    if pid == 0:
        conn.child.record(n=1)
        sys.exit(0)
    children.append(pid)
    time.sleep(0.005)
deadline = time.monotonic() + 30
for pid in children:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert status == 0, status
            break
        if time.monotonic() > deadline:
            print(json.dumps({"hung": pid}))
            sys.stdout.flush()
            for child in children:
                os.kill(child, 9)
            os._exit(1)
        time.sleep(0.005)
stop = True
for t in threads: t.join()
print(json.dumps({"recorded": recorded[0], "children": len(children)}))
""" % sink.getsockname()[1]), timeout=90)
    result = json.loads(proc.stdout)
    recorded, children = result["recorded"], result["children"]
    assert children == 30
    got = receiver.wait_sums({"busy-s0": recorded, "busy-s49": recorded, "child-n": children}, timeout=30)
    assert got["busy-s0"] == recorded, "no pre-fork value sent twice"
