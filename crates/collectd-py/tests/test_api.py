"""The original module's API, case by case (shared/spec/seed-behaviour.md), in this process.

Each test has its own receiver port, so its own connection; nothing here starts the
background threads (that is process-wide: see test_threads.py, test_fork.py,
test_exit.py): `collectd.flush(conn)` sends one connection's snapshot.
"""

import copy
import decimal
import fractions
import logging
import pickle
import socket

import pytest

import collectd
from conftest import run_python


def connect(receiver, **kwargs):
    return collectd.Connection("testhost", "127.0.0.1", receiver.port, **kwargs)


def snapshot(receiver, conn, expected_count=None):
    """Flushes `conn` and returns the sums of what arrived from that flush."""
    before = len(receiver.poll())
    collectd.flush(conn)
    sent = collectd.sender_stats(conn).value_lists_sent
    receiver_lists = []

    def arrived():
        receiver_lists[:] = receiver.poll()[before:]
        return len(receiver_lists) >= (expected_count if expected_count is not None else 1) or sent == 0
    import conftest
    conftest.wait_for(arrived, 10, "the flushed value lists")
    from wire import sums
    return sums(receiver_lists)


def test_identical_arguments_give_the_same_connection(receiver):
    a = connect(receiver)
    assert a is collectd.Connection("testhost", "127.0.0.1", receiver.port, "")
    assert a is collectd.Connection(hostname="testhost", collectd_host="127.0.0.1", collectd_port=receiver.port)
    assert a is not collectd.Connection("otherhost", "127.0.0.1", receiver.port)
    assert a is not collectd.Connection("testhost", "localhost", receiver.port)
    assert a is not collectd.Connection("testhost", "127.0.0.1", receiver.port + 1 if receiver.port < 65535 else 1)
    assert a is not connect(receiver, plugin_inst="X")
    assert a is not connect(receiver, interval=5)
    assert collectd.Connection() is collectd.Connection(socket.gethostname(), "localhost", 25826, "")
    assert copy.copy(a) is a and copy.deepcopy(a) is a
    assert pickle.loads(pickle.dumps(a)) is a


def test_constructor_errors_are_clear(receiver):
    with pytest.raises(TypeError, match="collectd_port"):
        collectd.Connection("h", "127.0.0.1", "25826")
    with pytest.raises(ValueError, match="1 to 65535"):
        collectd.Connection("h", "127.0.0.1", 70000)
    with pytest.raises(ValueError, match="security"):
        connect(receiver, security="sign")  # no username
    with pytest.raises(ValueError, match="security must be"):
        connect(receiver, security="rot13", username="u", password="p")


def test_attributes_are_cached_counters(receiver):
    conn = connect(receiver)
    assert conn.foo is conn.foo
    assert conn.foo is not conn.bar
    assert isinstance(conn.foo, collectd.Counter)
    assert conn.foo.category == "foo"
    odd = getattr(conn, "^@#@foo%$&&*")
    assert odd is getattr(conn, "^@#@foo%$&&*")
    assert odd.category == "^@#@foo%$&&*"
    with pytest.raises(AttributeError):
        conn.__deepcopy_me__  # Python's protocol names are never categories


def test_names_are_sanitised_as_documented(receiver):
    conn = connect(receiver)
    counter = getattr(conn, "^@#@foo%$&&*")
    stat = {"*()#@spam!@$^&*": 1}
    counter.record("()#@bar&*()baz$^_+", **stat)
    assert snapshot(receiver, conn) == {"foo-spam": 1.0, "foo-bar_baz-spam": 1.0}
    assert collectd.sanitize("^@#@foo%$&&*") == "foo"
    assert collectd.sanitize("()#@bar&*()baz$^_+") == "bar_baz"


def test_documented_example(receiver):
    conn = connect(receiver)
    conn.example.record(baz=1)
    conn.example.record("foo", baz=2)
    conn.example.record("bar", baz=3)
    assert snapshot(receiver, conn) == {"example-baz": 6, "example-foo-baz": 2, "example-bar-baz": 3}
    values = [vl for vl in receiver.poll()]
    assert {(vl.host, vl.plugin, vl.plugin_instance, vl.type) for vl in values} == {("testhost", "any", "", "gauge")}


def test_record_cases(receiver):
    conn = connect(receiver)
    conn.test.record(foo=0.5)
    conn.test.record(foo=1.5)
    conn.multi.record("sub1", "sub2", foo=2)
    conn.two.record("sub1", foo=2)
    conn.two.record("sub2", foo=3)
    conn.nothing.record()
    conn.nothing.record("only_specific")
    assert snapshot(receiver, conn) == {
        "test-foo": 2.0,
        "multi-foo": 2, "multi-sub1-foo": 2, "multi-sub2-foo": 2,
        "two-foo": 5, "two-sub1-foo": 2, "two-sub2-foo": 3,
    }
    # The names stay known: the next snapshot reports 0 for each.
    assert set(snapshot(receiver, conn, 7).values()) == {0.0}


def test_set_exact_cases(receiver):
    conn = connect(receiver)
    conn.a.set_exact(foo=3)
    conn.a.set_exact(foo=2)
    conn.b.record(foo=5)
    conn.b.set_exact(foo=2)
    conn.c.set_exact(foo=2)
    conn.c.record(foo=5)
    assert snapshot(receiver, conn) == {"a-foo": 2, "b-foo": 2, "c-foo": 7}


def test_deliberate_changes(receiver):
    conn = connect(receiver)
    conn.coll.record("foo-bar", baz=2)
    conn.coll.record("foo/bar", baz=3)       # collisions are summed, never lost
    conn.empty.record("@@@", foo=1)          # an empty specific is ignored; the base counts
    conn.long.record("s" * 300, stat=1)      # names fit collectd's 127 bytes
    got = snapshot(receiver, conn)
    assert got["coll-foo_bar-baz"] == 5 and got["coll-baz"] == 5
    assert got["empty-foo"] == 1 and not any(k.startswith("empty-") and k != "empty-foo" for k in got)
    assert got["long-stat"] == 1
    assert all(len(k.encode()) <= 127 for k in got), "the parser refuses longer strings anyway"


def test_plugin_instance_and_options(receiver):
    conn = connect(receiver, plugin_inst="X", interval=2, max_packet_size=1024, legacy_time=True)
    assert conn._native.interval == 2.0
    for i in range(60):
        conn.many.record(**{f"stat{i}": i})
    before = receiver.datagrams
    got = snapshot(receiver, conn, 60)
    assert got == {f"many-stat{i}": i for i in range(60)}
    assert receiver.datagrams - before > 1, "60 stats need more than one 1024-byte datagram"
    lists = receiver.poll()
    assert {vl.plugin_instance for vl in lists} == {"X"}
    assert all(vl.time == int(vl.time) for vl in lists), "legacy_time sends whole seconds"


def test_signed_connection_sends_signed_datagrams(receiver):
    conn = connect(receiver, security="sign", username="user", password="secret")
    conn.s.record(x=1)
    collectd.flush(conn)
    import conftest
    data = conftest.wait_for(lambda: _raw(receiver), 10, "a signed datagram")
    assert data[:2] == b"\x02\x00", "a signature part first"


def _raw(receiver):
    try:
        return receiver.sock.recv(65535)
    except BlockingIOError:
        return None


def test_value_types(receiver):
    conn = connect(receiver)

    class Floaty:
        def __float__(self):
            return 2.5

    class Indexy:
        def __index__(self):
            return 4

    conn.t.record(b=True, f=False, big=2**70, neg=-3, dec=decimal.Decimal("1.25"),
                  frac=fractions.Fraction(1, 4), floaty=Floaty(), indexy=Indexy())
    got = snapshot(receiver, conn)
    assert got == {"t-b": 1, "t-f": 0, "t-big": float(2**70), "t-neg": -3, "t-dec": 1.25,
                   "t-frac": 0.25, "t-floaty": 2.5, "t-indexy": 4}


def test_bad_input_never_raises_and_is_logged(receiver, caplog):
    conn = connect(receiver)

    class Broken:
        def __float__(self):
            raise RuntimeError("broken __float__")

        def __repr__(self):
            raise RuntimeError("broken __repr__")

    caplog.set_level(logging.WARNING, logger="collectd")
    # Every call returns normally; the good parts still count.
    assert conn.bad.record(1, None, b"bytes", "ok", good=1, s="1", n=None, c=1j, l=[1], nan=float("nan"),
                           inf=float("inf"), huge=10**400, broken=Broken()) is None
    assert conn.bad.set_exact("positional", exact=7, nope="x") is None
    assert conn.bad.record(**{"": 1}) is None
    assert conn.bad.record("x" * 10_000, good=1) is None
    got = snapshot(receiver, conn)
    assert got["bad-good"] == 2 and got["bad-ok-good"] == 1 and got["bad-exact"] == 7
    assert not any(name in k for k in got for name in ("-s", "-n", "-c", "-l", "-nan", "-inf", "-huge", "-broken",
                                                       "-nope"))
    messages = [r.getMessage() for r in caplog.records if r.name == "collectd"]
    for fragment in ["specific 1 (int) is not a string", "specific None", "specific b'bytes'",
                     'stat "s"', 'stat "n"', 'stat "c"', 'stat "l"', 'stat "huge"', "too large",
                     'stat "broken"', "<no repr>", "set_exact() takes stats as keywords only",
                     'stat "nope"']:
        assert any(fragment in m for m in messages), f"no log message with {fragment!r} in {messages}"


def test_nothing_is_printed_unless_the_application_configures_logging(receiver):
    proc = run_python(f"""
        import collectd, logging
        conn = collectd.Connection("h", "127.0.0.1", {receiver.port})
        conn.x.record(v="not a number")
        assert all(isinstance(h, logging.NullHandler) for h in logging.getLogger("collectd").handlers)
        print("done")
        logging.basicConfig(format="%(name)s %(levelname)s %(message)s")
        conn.x.record(v="still not a number")
        """)
    assert proc.stdout == "done\n"
    assert proc.stderr == 'collectd WARNING record(): stat "v": value \'still not a number\' (str) is not a number; left out\n'


def test_start_threads_twice_raises_assertion_error(receiver):
    proc = run_python(f"""
        import collectd
        collectd.start_threads()
        try:
            collectd.start_threads()
        except AssertionError as e:
            print("raised", type(e).__name__, isinstance(e, AssertionError))
        else:
            print("did not raise")
        collectd.shutdown()
        collectd.start_threads()   # after shutdown they may start again
        print("restarted")
        """)
    assert proc.stdout.split("\n")[:2] == ["raised AlreadyStartedError True", "restarted"]


def test_type_stubs_are_installed():
    import importlib.resources
    files = importlib.resources.files("collectd")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_native.pyi").is_file()
