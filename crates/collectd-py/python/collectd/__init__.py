"""Send statistics over UDP to collectd servers.

The API of the original ``collectd`` module (PyPI 1.0), on the Rust library of the
collectd-rs project::

    import collectd

    collectd.start_threads()
    conn = collectd.Connection()
    conn.coin_stats.record("heads", flips=1)
    conn.queue.set_exact(size=12)

Every interval (10 s by default) the sums recorded on each connection are sent to
collectd as gauges, then reset. A collectd server with the rrdtool plugin stores them
as ``HOST/any[-INST]/gauge-CATEGORY[-SPECIFIC]-STAT.rrd``.

Beyond the original: ``flush()``, ``shutdown()`` (also run at interpreter exit, so the
last interval is not lost), the Rust library's options as keyword arguments of
``Connection``, ``sanitize()``, ``sender_stats()``, and correct behaviour across
``os.fork()``. ``record`` and ``set_exact`` never raise: problems are logged to
``logging.getLogger("collectd")``, and nothing is printed unless the program configures
logging (the package adds only a ``NullHandler``).

The environment variables ``COLLECTD_PY_HOST``, ``COLLECTD_PY_PORT`` and
``COLLECTD_PY_INTERVAL`` replace the defaults of ``Connection`` (never an explicit
argument), so an unchanged script can be pointed at another server.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from typing import Any, Dict, NamedTuple, Optional, Tuple

from . import _native

__all__ = [
    "Connection",
    "Counter",
    "AlreadyStartedError",
    "SenderStats",
    "start_threads",
    "flush",
    "notify",
    "shutdown",
    "sanitize",
    "sender_stats",
]

logger = logging.getLogger("collectd")
# Python 3 prints warnings of a logger nobody configured (logging.lastResort); the
# original printed nothing unless the application configured logging. A NullHandler
# keeps that: it handles nothing, and records still propagate to the application's
# handlers (logging.basicConfig and the like).
logger.addHandler(logging.NullHandler())

#: collectd's default port.
DEFAULT_PORT: int = _native.DEFAULT_PORT
#: Seconds between two sends, unless a connection says otherwise.
DEFAULT_INTERVAL: float = _native.DEFAULT_INTERVAL
#: The largest datagram sent by default: collectd's receive buffer.
DEFAULT_MAX_PACKET_SIZE: int = _native.DEFAULT_MAX_PACKET_SIZE


def _env_default(name: str, default: Any, convert: Any) -> Any:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return convert(value)
    except ValueError:
        raise ValueError(f"collectd: {name}={value!r} is not a valid {convert.__name__}") from None


# Evaluated once, at import, as the original evaluated socket.gethostname() once.
_DEFAULT_HOSTNAME = socket.gethostname()
_DEFAULT_HOST = _env_default("COLLECTD_PY_HOST", "localhost", str)
_DEFAULT_PORT = _env_default("COLLECTD_PY_PORT", DEFAULT_PORT, int)
_DEFAULT_INTERVAL = _env_default("COLLECTD_PY_INTERVAL", DEFAULT_INTERVAL, float)


class AlreadyStartedError(AssertionError):
    """``start_threads()`` was called while the threads run (the original raised
    ``AssertionError``; this is one)."""


class SenderStats(NamedTuple):
    """What the sender did for a connection (in this process)."""

    packets_sent: int
    bytes_sent: int
    value_lists_sent: int
    send_errors: int
    snapshots_dropped: int


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class Counter(_native.Counter):
    """The statistics of one category: ``conn.CATEGORY`` gives one.

    Don't instantiate it: accessing an attribute of a :class:`Connection` creates the
    counter on first use and returns the same object afterwards.

    ``record(*specific, **stats)`` adds each stat's value to the category's base count
    and, for each specific (a string), to that specific's count.
    ``set_exact(**stats)`` sets each stat's base count to exactly its value. Both are
    safe from any thread and never raise: what cannot be used (a non-string specific,
    a value that is not a number, NaN or infinity) is logged and left out, and the rest
    of the call still counts.
    """

    __slots__ = ()


class Connection:
    """A collectd server to send to, and the identity to send under.

    ``Connection(hostname=socket.gethostname(), collectd_host="localhost",
    collectd_port=25826, plugin_inst="")`` as in the original module; connections with
    identical arguments are one and the same object. Keyword-only options of the Rust
    library:

    - ``interval``: seconds between sends (default 10; at least 1);
    - ``max_packet_size``: largest datagram, 1024 to 65535 (default 1452);
    - ``legacy_time``: whole-second times, for collectd 4 servers;
    - ``security``: ``"sign"`` or ``"encrypt"``, with ``username`` and ``password``;
    - ``ttl``: time-to-live of the datagrams (multicast hops);
    - ``servers``: more ``(host, port)`` servers every datagram also goes to;
    - ``expire_after``: forget a name unrecorded for that many intervals (memory freed);
    - ``max_names``: refuse new names beyond that many (counted, logged once a minute);
    - ``process_slot``: send as worker N of a pool (plugin instance ``INST-workerN``),
      for collectd's aggregation plugin to sum exactly (see the README).

    Every public attribute is a category: ``conn.some_category`` is a :class:`Counter`
    (names that look like ``__dunder__`` are Python's, and are not counters). So the
    additions are module functions: :func:`flush`, :func:`sender_stats`.
    """

    __slots__ = ("_native", "_key", "__dict__", "__weakref__")

    _instances: Dict[Tuple[Any, ...], "Connection"] = {}

    _native: _native.Connection
    _key: Tuple[Any, ...]

    def __new__(
        cls,
        hostname: Optional[str] = None,
        collectd_host: Optional[str] = None,
        collectd_port: Optional[int] = None,
        plugin_inst: str = "",
        *,
        interval: Optional[float] = None,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        legacy_time: bool = False,
        security: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        ttl: Optional[int] = None,
        servers: Any = (),
        expire_after: Optional[int] = None,
        max_names: Optional[int] = None,
        process_slot: Optional[int] = None,
    ) -> "Connection":
        key = _connection_key(
            hostname, collectd_host, collectd_port, plugin_inst, interval,
            max_packet_size, legacy_time, security, username, password, ttl,
            servers, expire_after, max_names, process_slot,
        )
        existing = cls._instances.get(key)
        if existing is not None:
            return existing
        native = _native.Connection(*key)
        conn = object.__new__(cls)
        object.__setattr__(conn, "_native", native)
        object.__setattr__(conn, "_key", key)
        # setdefault is atomic: two threads creating the same connection get one object.
        return cls._instances.setdefault(key, conn)

    def __getattr__(self, name: str) -> Counter:
        # Only called for names not found otherwise: a category, created on first use
        # and then found in the instance dict, so `conn.foo is conn.foo`.
        if _is_dunder(name) or name in Connection.__slots__:
            raise AttributeError(name)
        counter = Counter(self._native, name)
        return self.__dict__.setdefault(name, counter)

    def __copy__(self) -> "Connection":
        return self

    def __deepcopy__(self, memo: Any) -> "Connection":
        return self

    def __reduce__(self) -> Any:
        # Unpickled (e.g. in a spawned process), it is that process's connection with
        # the same arguments.
        return (_connection_from_key, (self._key,))

    def __repr__(self) -> str:
        n = self._native
        inst = f", plugin_inst={n.plugin_inst!r}" if n.plugin_inst else ""
        return (
            f"<collectd.Connection hostname={n.hostname!r} "
            f"collectd={n.collectd_host}:{n.collectd_port}{inst} interval={n.interval:g}s>"
        )


def _connection_key(
    hostname: Optional[str],
    collectd_host: Optional[str],
    collectd_port: Optional[int],
    plugin_inst: str,
    interval: Optional[float],
    max_packet_size: int,
    legacy_time: bool,
    security: Optional[str],
    username: Optional[str],
    password: Optional[str],
    ttl: Optional[int],
    servers: Any = (),
    expire_after: Optional[int] = None,
    max_names: Optional[int] = None,
    process_slot: Optional[int] = None,
) -> Tuple[Any, ...]:
    """The arguments with defaults filled in and types checked: the identity of a connection."""
    hostname = _DEFAULT_HOSTNAME if hostname is None else hostname
    collectd_host = _DEFAULT_HOST if collectd_host is None else collectd_host
    collectd_port = _DEFAULT_PORT if collectd_port is None else collectd_port
    interval = _DEFAULT_INTERVAL if interval is None else interval
    for name, value in (("hostname", hostname), ("collectd_host", collectd_host), ("plugin_inst", plugin_inst)):
        if not isinstance(value, str):
            raise TypeError(f"Connection(): {name} must be a str, not {type(value).__name__}")
    if isinstance(collectd_port, bool) or not isinstance(collectd_port, int):
        raise TypeError(f"Connection(): collectd_port must be an int, not {type(collectd_port).__name__}")
    if not 0 < collectd_port < 65536:
        raise ValueError(f"Connection(): collectd_port must be 1 to 65535, not {collectd_port}")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise TypeError(f"Connection(): interval must be a number of seconds, not {type(interval).__name__}")
    if isinstance(max_packet_size, bool) or not isinstance(max_packet_size, int) or max_packet_size < 0:
        raise TypeError("Connection(): max_packet_size must be a non-negative int")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
        raise TypeError("Connection(): ttl must be None or a non-negative int")
    servers = tuple((str(host), int(port)) for host, port in servers)
    for name, value in (("expire_after", expire_after), ("max_names", max_names), ("process_slot", process_slot)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise TypeError(f"Connection(): {name} must be None or a non-negative int")
    return (
        hostname, collectd_host, collectd_port, plugin_inst, float(interval),
        max_packet_size, bool(legacy_time), security, username, password, ttl,
        servers, expire_after, max_names, process_slot,
    )


def _connection_from_key(key: Tuple[Any, ...]) -> Connection:
    (hostname, host, port, inst, interval, size, legacy, security, username, password, ttl,
     servers, expire_after, max_names, process_slot) = key
    return Connection(
        hostname, host, port, inst, interval=interval, max_packet_size=size, legacy_time=legacy,
        security=security, username=username, password=password, ttl=ttl, servers=servers,
        expire_after=expire_after, max_names=max_names, process_slot=process_slot,
    )


def start_threads() -> None:
    """Starts sending: one thread takes a snapshot of every connection each interval,
    another encodes and sends it. Without it, nothing is sent except by :func:`flush`
    (and at exit). Calling it while the threads run raises :class:`AlreadyStartedError`,
    an ``AssertionError``; after :func:`shutdown` it starts them again."""
    if not _native.start_threads():
        raise AlreadyStartedError("collectd.start_threads() was already called; the threads are running")


def flush(connection: Optional[Connection] = None) -> None:
    """Sends a snapshot of every connection (or of ``connection``) now, resetting the
    sums as an interval does; returns once it is sent."""
    if connection is None:
        _native.flush()
    else:
        connection._native.flush()


def shutdown() -> None:
    """Sends what was recorded since the last interval, then stops the threads.
    Run automatically at interpreter exit."""
    _native.shutdown()


def sanitize(name: str) -> str:
    """The original module's sanitising: each run of characters outside ``[A-Za-z0-9]``
    becomes one ``_``, and leading and trailing ``_`` go."""
    return _native.sanitize(name)


def notify(
    connection: Connection, severity: str, message: str, type: str = "", type_instance: str = ""
) -> None:
    """Sends a notification through ``connection`` at once, in its own datagram, under its
    host name, plugin ``any`` and plugin instance: collectd hands it to its notification
    plugins (the logfile plugin logs ``Notification: severity = WARNING, ...``).

    ``severity`` is ``"FAILURE"``, ``"WARNING"`` or ``"OKAY"`` (``ValueError`` otherwise);
    the message is at most 255 bytes (longer is cut, an empty one is not sent, logged);
    ``type`` and ``type_instance`` are sanitised like stat names. Nothing else raises."""
    connection._native.notify(severity, message, type, type_instance)


def sender_stats(connection: Connection) -> SenderStats:
    """What the sender did for ``connection`` in this process (a forked child counts
    from zero)."""
    return SenderStats(*connection._native.sender_stats())


# --- exit ---------------------------------------------------------------------------

_exited_in_pid = 0


def _at_exit() -> None:
    # Once per process: both atexit and (in forked children) threading's own exit hook
    # may call it.
    global _exited_in_pid
    if _exited_in_pid == os.getpid():
        return
    _exited_in_pid = os.getpid()
    _native.shutdown()


# Registered after `logging` was imported, so it runs before logging.shutdown() (atexit
# runs the last registered first) and the last log records still reach their handlers.
atexit.register(_at_exit)


# --- fork ---------------------------------------------------------------------------


def _after_fork_in_child() -> None:
    global _exited_in_pid
    _exited_in_pid = 0
    _native.after_fork_in_child()
    # multiprocessing's children end with os._exit(), which skips atexit but first runs
    # threading's shutdown hooks: the child's last interval is sent there.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(_at_exit)
        except RuntimeError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_native.before_fork,
        after_in_parent=_native.after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
