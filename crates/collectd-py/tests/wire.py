"""A small reader of collectd's binary protocol, enough to check what the package sends.

Plain (unsigned, unencrypted) datagrams only: the parts the package sends, and the
rest skipped by their length.
"""

import struct
from collections import defaultdict
from typing import Dict, List, NamedTuple, Tuple

HOST, TIME, PLUGIN, PLUGIN_INSTANCE, TYPE, TYPE_INSTANCE, VALUES, INTERVAL = range(8)
TIME_HR, INTERVAL_HR = 8, 9
STRINGS = {HOST: "host", PLUGIN: "plugin", PLUGIN_INSTANCE: "plugin_instance", TYPE: "type",
           TYPE_INSTANCE: "type_instance"}
GAUGE = 1


class ValueList(NamedTuple):
    host: str
    plugin: str
    plugin_instance: str
    type: str
    type_instance: str
    time: float
    interval: float
    values: Tuple[float, ...]
    source: Tuple[str, int]


def parse(datagram: bytes, source=("", 0)) -> List[ValueList]:
    """The value lists of one datagram; raises ValueError on a malformed one."""
    state = {"host": "", "plugin": "", "plugin_instance": "", "type": "", "type_instance": "",
             "time": 0.0, "interval": 0.0}
    out = []
    offset = 0
    while offset < len(datagram):
        if offset + 4 > len(datagram):
            raise ValueError(f"truncated part header at {offset}")
        kind, length = struct.unpack_from("!HH", datagram, offset)
        if length < 4 or offset + length > len(datagram):
            raise ValueError(f"bad part length {length} at {offset}")
        body = datagram[offset + 4:offset + length]
        if kind in STRINGS:
            if not body.endswith(b"\0"):
                raise ValueError(f"string part without NUL at {offset}")
            if len(body) - 1 > 127:
                raise ValueError(f"string longer than 127 bytes at {offset}")
            state[STRINGS[kind]] = body[:-1].decode()
        elif kind in (TIME, INTERVAL):
            (number,) = struct.unpack("!Q", body)
            state["time" if kind == TIME else "interval"] = float(number)
        elif kind in (TIME_HR, INTERVAL_HR):
            (number,) = struct.unpack("!Q", body)
            state["time" if kind == TIME_HR else "interval"] = number / 2**30
        elif kind == VALUES:
            (count,) = struct.unpack_from("!H", body)
            types = body[2:2 + count]
            values = []
            for i, t in enumerate(types):
                raw = body[2 + count + 8 * i:2 + count + 8 * (i + 1)]
                values.append(struct.unpack("<d" if t == GAUGE else "!q", raw)[0])
            out.append(ValueList(values=tuple(values), source=source, **state))
        offset += length
    return out


def sums(value_lists) -> Dict[str, float]:
    """type instance → the sum of its first value over all value lists."""
    totals: Dict[str, float] = defaultdict(float)
    for vl in value_lists:
        totals[vl.type_instance] += vl.values[0]
    return dict(totals)
