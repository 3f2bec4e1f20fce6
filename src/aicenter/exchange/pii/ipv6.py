"""IPv6 addresses, full or compressed (``2001:db8::1``, ``fe80::1%eth0`` without the zone).

The scanner calls this around runs of hex digits, dots and at least two colons; the run is
widened to its hex neighbours and validated with :mod:`ipaddress`. A time such as ``14:23:05``
is not valid IPv6 and a bare ``::`` is not reported.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from aicenter.exchange.pii.base import Finding, PiiType, Trigger

_HEX_RUN = re.compile(r"[0-9A-Fa-f:.]*")
_HEX_BACK = frozenset("0123456789abcdefABCDEF:")


class Ipv6Detector:
    pii_type = PiiType.IPV6
    trigger = Trigger.COLON
    prefilter = ""
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        s = start
        while s > 0 and start - s < 5 and text[s - 1] in _HEX_BACK:
            s -= 1
        m = _HEX_RUN.match(text, s)
        e = m.end() if m else end
        while e > s and text[e - 1] == ".":
            e -= 1
        if (s > 0 and (text[s - 1].isalnum() and text[s - 1].isascii())) or (
            e < len(text) and text[e].isascii() and text[e].isalnum()
        ):
            return
        candidate = text[s:e]
        if candidate.count(":") < 2 or not any(c not in ":." for c in candidate):
            return
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            return
        yield Finding(s, e, self.pii_type, 0.9)
