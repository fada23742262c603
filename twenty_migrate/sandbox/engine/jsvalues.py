"""Twenty's value rules as its server applies them: the sandbox's own copy.

The sandbox is an oracle the client is tested against, so it shares no code with the
client's validator (``twenty_migrate.values.jsvalues`` and friends): each rule below is written
from Twenty's source, cited beside it. Standard library only.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# ------------------------------------------------------------------------ util.inspect
#: A dict key Node writes without quotes (``$`` also matches before a final newline, as
#: the key test of Node's inspect does with ``^[a-zA-Z_][a-zA-Z_0-9]*$``).
_BARE_KEY = re.compile(r"^[A-Za-z_$][\w$]*$")


def inspect_js(value: Any) -> str:
    """A JSON-like value as Node's ``util.inspect`` writes it in Twenty's messages
    (``validate-*-field-or-throw.util.ts`` build their messages with ``inspect(value)``)."""
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
        # Node picks double quotes when the text has a single quote and no double quote.
        if "'" in value and '"' not in value:
            return f'"{value}"'
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[ " + ", ".join(inspect_js(v) for v in value) + " ]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = [
            f"{key if _BARE_KEY.match(str(key)) else inspect_js(str(key))}: {inspect_js(item)}"
            for key, item in value.items()
        ]
        return "{ " + ", ".join(parts) + " }"
    return str(value)


# ------------------------------------------------------------------------ emails
#: The address shape Twenty's zod ``z.email()`` accepts once the domain is in punycode
#: (validate-email-value-or-throw.util.ts); letters of any script in the local part.
_EMAIL_SHAPE = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)


def normalize_email_address(text: str) -> str | None:
    """The address Twenty stores; None for a blank one.

    record-transformer/utils/normalize-email-address.util.ts: trimmed, local part lower-
    cased, the domain canonicalised (IDN separators such as ``。`` read as dots, punycode)
    and its trailing root dots dropped: ``"  Admin@💩。LA.  "`` -> ``admin@xn--ls8h.la``
    (transform-emails-value.util.spec.ts).

    Raises:
        ValueError: Twenty refuses the address.
    """
    email = text.strip().lower()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not at:
        raise ValueError(text)
    # domainToUnicode reads the IDN full stops as dots; then /\.+$/ is removed.
    domain = re.sub("[.\u3002\uff0e\uff61]+$", "", domain)
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(text) from None
    email = f"{local}@{ascii_domain}"
    if not _EMAIL_SHAPE.fullmatch(email):
        raise ValueError(text)
    return email


# ------------------------------------------------------------------------ links
_LINK_PARTS = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)?([^/?#\\]*)(.*)$", re.S)


def normalize_link(url: str) -> str:
    """twenty-shared ``lowercaseUrlOriginAndRemoveTrailingSlash``: scheme and host lower-
    cased, one trailing ``/`` dropped; a missing protocol is kept, the rest as typed."""
    match = _LINK_PARTS.match(url.strip())
    if match is None:  # pragma: no cover - the pattern matches every string
        return url
    scheme, host, rest = match.groups()
    result = (scheme or "").lower() + host.lower() + rest
    return result[:-1] if result.endswith("/") else result


_SCHEME_PREFIX = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_PATH_SEPARATOR = re.compile(r"[/\\?#]")
_USER_INFO = re.compile(r"^.*@", re.S)
_PORT_SUFFIX = re.compile(r":\d+$")


def normalize_domain(raw: str) -> str:
    """twenty-shared ``normalizeDomain`` (PR #24911): the bare host of a link.

    ``https://user@www.Twenty.com:8080/x?y`` -> ``twenty.com``; ``www.München．DE.`` ->
    ``xn--mnchen-3ya.de``; text that is no host is handed back as it is.
    """
    pathless = _PATH_SEPARATOR.split(_SCHEME_PREFIX.sub("", raw.strip(), count=1))[0]
    host = _PORT_SUFFIX.sub("", _USER_INFO.sub("", pathless)).lower()
    labels = re.split("[.\u3002\uff0e\uff61]", host) if host else []
    while labels and labels[-1] == "":
        labels.pop()
    while labels and labels[0] == "www":
        labels.pop(0)
    host = ".".join(labels)
    try:  # new URL(`https://${host}`).hostname
        return host.encode("idna").decode("ascii") if host else host
    except UnicodeError:
        return host


def remove_empty_links(
    primary_url: str | None, primary_label: str | None, secondary: list[dict[str, Any]]
) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """record-transformer/utils/remove-empty-links.ts: links without a URL are dropped and
    the first remaining one becomes the primary link (remove-empty-links.spec.ts)."""
    links = [{"url": primary_url, "label": primary_label}] if primary_url else []
    links += [
        {"url": link.get("url"), "label": link.get("label")}
        for link in secondary
        if link.get("url")
    ]
    if not links:
        return None, None, []
    first = links[0]
    return first["url"], first["label"], links[1:]


# ------------------------------------------------------------------------ date-times
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan",
        "february feb",
        "march mar",
        "april apr",
        "may",
        "june jun",
        "july jul",
        "august aug",
        "september sep sept",
        "october oct",
        "november nov",
        "december dec",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

# JavaScript's ``\d`` is ASCII: other scripts' digits are not read as digits.
_D = "[0-9]"
_TIME = (
    rf"(?:[\s,T]+({_D}{{1,2}}):({_D}{{2}})(?::({_D}{{2}}))?\s*([AaPp][Mm])?)?\s*"
    rf"(Z|UTC|GMT|[+-]{_D}{{2}}:?{_D}{{2}})?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
# Groups: year, month, day, hour, minute, second, fraction, zone.
_ISO = re.compile(
    rf"({_D}{{4}})-({_D}{{2}})-({_D}{{2}})"
    rf"(?:[Tt ]({_D}{{2}}):({_D}{{2}})(?::({_D}{{2}})(?:[.,]({_D}+))?)?)?"
    rf"\s*(Z|z|UTC|[+-]{_D}{{2}}(?::?{_D}{{2}})?)?"
)
_BASIC = re.compile(
    rf"({_D}{{4}})({_D}{{2}})({_D}{{2}})"
    rf"(?:T({_D}{{2}})({_D}{{2}})({_D}{{2}})?(?:[.,]({_D}+))?)?"
    rf"(Z|[+-]{_D}{{2}}:?{_D}{{2}})?"
)
# Groups: month name, day, year (or day, month name, year), then hour, minute, second,
# meridiem, zone.
_MONTH_FIRST = re.compile(
    rf"{_WEEKDAY}([a-z]+)\.?\s+({_D}{{1,2}})(?:st|nd|rd|th)?,?\s+({_D}{{4}}){_TIME}", re.I
)
_DAY_FIRST = re.compile(
    rf"{_WEEKDAY}({_D}{{1,2}})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+({_D}{{4}}){_TIME}", re.I
)


def parse_datetime(value: str) -> datetime | None:
    """The UTC instant a date-time text names, None when Twenty would refuse it.

    twenty-shared ``parseToInstantOrThrow`` (validate-date-time-field-or-throw.util.ts):
    ISO 8601 with or without a zone (zoneless = UTC), the basic form ``20240115``, and
    English month names (``Jan 15, 2024 3:30 pm``).
    """
    text = value.strip()
    try:
        match = _ISO.fullmatch(text) or _BASIC.fullmatch(text)
        if match:
            y, mo, d, h, mi, s, frac, zone = match.groups()
            return _utc(int(y), int(mo), int(d), h, mi, s, frac, zone)
        named = _MONTH_FIRST.fullmatch(text)
        if named:
            month_name, day, year = named.group(1), named.group(2), named.group(3)
        else:
            named = _DAY_FIRST.fullmatch(text)
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


def format_datetime(moment: datetime) -> str:
    """Temporal ``Instant.toString()`` as Twenty stores it: UTC, a four-digit year even
    before 1000 (``0495-02-12T00:00:00Z``), ``.sss`` only when the milliseconds are set."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


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
