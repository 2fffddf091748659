"""Fixtures: a UDP receiver on loopback, a fresh interpreter for process-wide cases,
and a real collectd 5.12 on a free loopback port."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import wire

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"

SKIP_ENV = "COLLECTD_RS_SKIP_INTEROP"
TYPES_DB = "/usr/share/collectd/types.db"


def wait_for(condition, timeout, what, interval=0.02):
    """Polls `condition` until it returns something true; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Receiver:
    """A UDP socket on 127.0.0.1 that keeps every value list it receives."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.value_lists = []
        self.datagrams = 0

    def poll(self):
        while True:
            try:
                data, source = self.sock.recvfrom(65535)
            except BlockingIOError:
                return self.value_lists
            self.datagrams += 1
            self.value_lists.extend(wire.parse(data, source))

    def sums(self):
        return wire.sums(self.poll())

    def wait_sums(self, expected, timeout=15):
        """Waits until every name in `expected` sums to its value; returns all sums."""
        def reached():
            got = self.sums()
            return got if all(abs(got.get(k, 0.0) - v) < 1e-9 for k, v in expected.items()) else None
        deadline = time.monotonic() + timeout
        while True:
            got = reached()
            if got is not None:
                return got
            if time.monotonic() > deadline:
                pytest.fail(f"expected sums {expected}, received {self.sums()}")
            time.sleep(0.02)

    def close(self):
        self.sock.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def run_python(code, timeout=60, env=None, check=True):
    """Runs `code` in a fresh interpreter (the package's threads and hooks are per
    process); returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(HERE) + os.pathsep + full_env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the script hung (> {timeout} s); stdout={e.stdout!r} stderr={e.stderr!r}")
    if check and proc.returncode != 0:
        pytest.fail(f"the script exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def find_collectd():
    """collectd's binary (and its types.db), as the Rust tests' gate finds it."""
    if not os.path.isfile(TYPES_DB):
        return None
    if os.access("/usr/sbin/collectd", os.X_OK):
        return "/usr/sbin/collectd"
    return shutil.which("collectd")


def require_collectd():
    """The gate of crates/testkit/src/gate.rs: run, skip (only with
    COLLECTD_RS_SKIP_INTEROP=1 and not on CI), or fail naming the package."""
    binary = find_collectd()
    if binary:
        return binary
    ci = os.environ.get("CI", "").lower() == "true"
    if os.environ.get(SKIP_ENV) == "1" and not ci:
        pytest.skip("collectd not installed (Debian package `collectd-core`); skipped as "
                    f"{SKIP_ENV}=1 allows")
    pytest.fail("collectd binary not found: install the Debian package `collectd-core` (make deps), "
                f"or set {SKIP_ENV}=1 to skip interop tests on this machine")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collectd:
    """collectd -f -C <dir>/collectd.conf: network listener on 127.0.0.1, csv and rrdtool."""

    READY = "Initialization complete, entering read-loop."

    def __init__(self, binary):
        self.dir = Path(tempfile.mkdtemp(prefix="collectd-py-test-"))
        self.port = free_udp_port()
        self.log = self.dir / "collectd.log"
        conf = textwrap.dedent(f"""\
            Hostname "testkit"
            FQDNLookup false
            BaseDir "{self.dir}"
            PIDFile "{self.dir}/collectd.pid"
            TypesDB "{TYPES_DB}"
            WriteThreads 1
            LoadPlugin logfile
            <Plugin logfile>
              LogLevel info
              File "{self.log}"
              Timestamp true
              PrintSeverity true
            </Plugin>
            LoadPlugin network
            LoadPlugin csv
            LoadPlugin rrdtool
            <Plugin network>
              <Listen "127.0.0.1" "{self.port}">
                SecurityLevel None
              </Listen>
            </Plugin>
            <Plugin csv>
              DataDir "{self.dir}/csv"
              StoreRates false
            </Plugin>
            <Plugin rrdtool>
              DataDir "{self.dir}/rrd"
            </Plugin>
            """)
        (self.dir / "collectd.conf").write_text(conf)
        env = dict(os.environ, TZ="UTC", LC_ALL="C")
        env.pop("NOTIFY_SOCKET", None)
        self.stderr = open(self.dir / "collectd.stderr", "wb")
        self.proc = subprocess.Popen([binary, "-f", "-C", str(self.dir / "collectd.conf")], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr, env=env)
        deadline = time.monotonic() + 15
        while self.READY not in self.log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"collectd did not start (exit {self.proc.returncode}); log:\n{self.log_text()}")
            time.sleep(0.02)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def csv_sum(self, host, plugin_dir, name):
        """The sum of the values in every csv file of `gauge-NAME` (one file per date)."""
        total, rows = 0.0, 0
        directory = self.dir / "csv" / host / plugin_dir
        for path in sorted(directory.glob(f"gauge-{name}-????-??-??")):
            for line in path.read_text().splitlines():
                if line.startswith("epoch") or "," not in line:
                    continue
                total += float(line.split(",")[1])
                rows += 1
        return total, rows

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


@pytest.fixture
def collectd_server():
    binary = require_collectd()
    server = Collectd(binary)
    yield server
    server.stop()
    if os.environ.get("TESTKIT_KEEP_DIR") == "1":
        print(f"kept {server.dir}")
    else:
        shutil.rmtree(server.dir, ignore_errors=True)
