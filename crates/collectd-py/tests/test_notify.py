"""Notifications from Python: `collectd.notify(conn, severity, message, ...)` sends one
datagram at once (no flush, no background threads), with the connection's host name,
plugin `any`, plugin instance, severity, type, type instance and message."""

import socket
import struct

import pytest

import collectd
from conftest import wait_for


def parts(datagram):
    """The (type, payload) parts of a plain datagram."""
    out = []
    at = 0
    while at + 4 <= len(datagram):
        kind, length = struct.unpack(">HH", datagram[at:at + 4])
        out.append((kind, datagram[at + 4:at + length]))
        at += length
    return out


def test_a_notification_is_sent_at_once_with_its_identifier():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    port = sock.getsockname()[1]
    conn = collectd.Connection("notifier", "127.0.0.1", port, plugin_inst="api")

    collectd.notify(conn, "warning", "queue is long", type="queue", type_instance="jobs")

    received = []

    def arrived():
        try:
            received.append(sock.recv(65535))
        except BlockingIOError:
            pass
        return received

    wait_for(arrived, 10, "the notification")
    got = dict(parts(received[0]))
    assert struct.unpack(">Q", got[0x0101])[0] == 2  # WARNING
    assert got[0x0000] == b"notifier\0"
    assert got[0x0002] == b"any\0"
    assert got[0x0003] == b"api\0"
    assert got[0x0004] == b"queue\0"
    assert got[0x0005] == b"jobs\0"
    assert got[0x0100] == b"queue is long\0"


def test_an_unknown_severity_raises_and_bad_messages_do_not():
    conn = collectd.Connection("notifier", "127.0.0.1", 9)
    with pytest.raises(ValueError):
        collectd.notify(conn, "DEBUG", "nope")
    collectd.notify(conn, "OKAY", "")  # not sent, logged
    collectd.notify(conn, "FAILURE", "x" * 1000)  # cut to 255 bytes


def test_deployment_options_reach_the_library():
    """Several servers, expiry, a cap and a worker slot, as keyword options."""
    first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for sock in (first, second):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
    conn = collectd.Connection(
        "deploy", "127.0.0.1", first.getsockname()[1], "api",
        servers=[("127.0.0.1", second.getsockname()[1])], expire_after=3, max_names=2, process_slot=1,
    )
    assert conn is collectd.Connection(
        "deploy", "127.0.0.1", first.getsockname()[1], "api",
        servers=[("127.0.0.1", second.getsockname()[1])], expire_after=3, max_names=2, process_slot=1,
    )
    conn.jobs.record(a=1, b=1, c=1)  # c is refused: at most two names
    collectd.flush(conn)
    for sock in (first, second):
        got = []

        def arrived():
            try:
                got.append(sock.recv(65535))
            except BlockingIOError:
                pass
            return got

        wait_for(arrived, 10, "the snapshot on each server")
        found = dict(parts(got[0]))
        assert found[0x0003] == b"api-worker1\0"
        assert got[0].count(b"jobs-") == 2
