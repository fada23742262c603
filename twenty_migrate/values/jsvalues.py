"""Values as Twenty writes them in its messages, and the text it reads as emails and dates.

Used by the validation rules (``_rules``). The sandbox keeps its own copy of each rule
(``twenty_migrate.sandbox.engine.jsvalues``), so each side can be tested against the other.
Standard library only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: Email shape Twenty accepts (letters of any script), on the trimmed, lower-cased address
#: with its domain in punycode.
_EMAIL_RE = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
#: Month names and abbreviations in date-time text, lower case.
_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


def inspect_js(value: Any, *, bare_key: Callable[[str], object] = _IDENTIFIER.fullmatch) -> str:
    """A value as Node's ``util.inspect`` writes it in Twenty's messages.

    Args:
        value: A JSON-like value (None, bool, number, str, list, dict).
        bare_key: Says whether a dict key is written without quotes: by default when the
            whole key is an identifier.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        if "'" in value and '"' not in value:
            return f'"{value}"'
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[ " + ", ".join(inspect_js(v, bare_key=bare_key) for v in value) + " ]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for key, item in value.items():
            name = key if bare_key(str(key)) else inspect_js(str(key))
            parts.append(f"{name}: {inspect_js(item, bare_key=bare_key)}")
        return "{ " + ", ".join(parts) + " }"
    return str(value)


def twenty_email(text: str) -> str | None:
    """The address Twenty stores (trimmed, lower-cased, domain in punycode without its
    trailing root dot: ``x@example.LA.`` -> ``x@example.la``); "" -> None.

    Raises:
        ValueError: Twenty refuses the address.
    """
    email = text.strip().lower()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    # Twenty drops the root dots that end a domain (normalize-email-address.util.ts), in
    # any of the scripts' full stops IDNA reads as dots.
    domain = domain.rstrip(".\u3002\uff0e\uff61")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if at else domain
    except UnicodeError:
        ascii_domain = ""
    email = f"{local}@{ascii_domain}"
    if not at or not _EMAIL_RE.fullmatch(email):
        raise ValueError(text)
    return email


class DateTimeParser:
    r"""Reads the date-time text Twenty accepts (ISO, ``20240115``, ``Jan 15, 2024 3:30 pm``).

    Args:
        digit: The pattern of one digit: ``[0-9]`` as JavaScript reads digits, or Python's
            ``\d``, which also takes the digits of other scripts.
    """

    def __init__(self, digit: str = "[0-9]") -> None:
        d = digit
        time = (
            rf"(?:[\s,T]+({d}{{1,2}}):({d}{{2}})(?::({d}{{2}}))?\s*([AaPp][Mm])?)?\s*"
            rf"(Z|UTC|GMT|[+-]{d}{{2}}:?{d}{{2}})?"
        )
        weekday = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
        # Groups: year, month, day, hour, minute, second, fraction, zone.
        self._iso = re.compile(
            rf"({d}{{4}})-({d}{{2}})-({d}{{2}})"
            rf"(?:[Tt ]({d}{{2}}):({d}{{2}})(?::({d}{{2}})(?:[.,]({d}+))?)?)?"
            rf"\s*(Z|z|UTC|[+-]{d}{{2}}(?::?{d}{{2}})?)?"
        )
        self._basic = re.compile(
            rf"({d}{{4}})({d}{{2}})({d}{{2}})(?:T({d}{{2}})({d}{{2}})({d}{{2}})?(?:[.,]({d}+))?)?"
            rf"(Z|[+-]{d}{{2}}:?{d}{{2}})?"
        )
        # Groups: month name, day, year (day, month name, year), then hour, minute, second,
        # meridiem, zone.
        self._month_first = re.compile(
            rf"{weekday}([a-z]+)\.?\s+({d}{{1,2}})(?:st|nd|rd|th)?,?\s+({d}{{4}}){time}", re.I
        )
        self._day_first = re.compile(
            rf"{weekday}({d}{{1,2}})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+({d}{{4}}){time}", re.I
        )

    def parse(self, value: str) -> datetime | None:
        """The UTC instant ``value`` names; None when Twenty would not read it as one."""
        text = value.strip()
        try:
            match = self._iso.fullmatch(text) or self._basic.fullmatch(text)
            if match:
                y, mo, d, h, mi, s, frac, zone = match.groups()
                return _utc(int(y), int(mo), int(d), h, mi, s, frac, zone)
            named = self._month_first.fullmatch(text)
            if named:
                month_name, day, year = named.group(1), named.group(2), named.group(3)
            else:
                named = self._day_first.fullmatch(text)
                if named is None:
                    return None
                day, month_name, year = named.group(1), named.group(2), named.group(3)
            month = _MONTHS.get(month_name.lower())
            if month is None:
                return None
            hour, minute, second, meridiem, zone = named.groups()[3:]
            hours = int(hour or 0)
            if meridiem:
                if not 1 <= hours <= 12:
                    return None
                hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
            return _utc(int(year), month, int(day), str(hours), minute, second, None, zone)
        except (ValueError, OverflowError):
            return None


def _utc(
    year: int,
    month: int,
    day: int,
    hour: str | None,
    minute: str | None,
    second: str | None,
    fraction: str | None,
    zone: str | None,
) -> datetime:
    micro = int((fraction or "0")[:3].ljust(3, "0")) * 1000
    naive = datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0), micro)
    return (naive - _zone_offset(zone)).replace(tzinfo=timezone.utc)


def _zone_offset(zone: str | None) -> timedelta:
    if not zone or zone.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    return (-1 if zone[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)
