"""Read the dates people put in spreadsheets and write them the way Twenty stores them.

DATE fields take ``"YYYY-MM-DD"``; DATE_TIME fields take a UTC instant written
``YYYY-MM-DDTHH:mm:ssZ`` (``.sss`` only when the milliseconds are not zero), which is what
Twenty stores after its own normalisation (twenty-api.md §4.2): offsets are converted and a
time without a zone is taken as UTC (or as ``timezone`` when given).

Understood without a format: ISO (``2024-01-15``, ``2024-01-15 14:30``,
``2024-01-15T14:30:00+02:00``), ``20240115``, numeric day/month orders (``15/01/2024``,
``01/15/2024``, ``15.01.2024``, ``1/15/24 2:30 PM``), month names (``January 15, 2024``,
``15-Jan-2024``), Excel serial numbers (``45306`` or ``45306.5``) and real date cells.

Day-first or month-first is decided per column (:func:`parse_dates`): values with a part
above 12 are unambiguous and vote; ambiguous values follow the vote, and when there is no
vote dots mean day-first and other separators follow the region (month-first in the US).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = ["DateResults", "format_date", "format_datetime", "parse_dates"]

#: Day zero of Excel's serial date numbers (1900 system, with its leap-year bug).
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: Serial numbers below this are not read as dates (10000 is 1927-05-18).
MIN_EXCEL_SERIAL = 10000
#: Regions that write numeric dates month first.
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI"})

_MONTHS = {
    name: index + 1
    for index, names in enumerate(
        [
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
        ]
    )
    for name in names.split()
}
_TIME = (
    r"(?:[T ]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?)?\s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
_ISO_RE = re.compile(rf"^(?P<y>\d{{4}})[-/](?P<a>\d{{1,2}})[-/](?P<b>\d{{1,2}}){_TIME}$", re.I)
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<a>\d{2})(?P<b>\d{2})$")
_NUMERIC_RE = re.compile(
    rf"^(?P<a>\d{{1,2}})(?P<sep>[/.\-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}}){_TIME}$",
    re.I,
)
_DAY_NAME_RE = re.compile(
    rf"^(?P<b>\d{{1,2}})(?:st|nd|rd|th)?[\s\-./]+(?P<m>[a-z]{{3,9}})\.?[\s\-./,]+"
    rf"(?P<y>\d{{4}}|\d{{2}}){_TIME}$",
    re.I,
)
_NAME_DAY_RE = re.compile(
    rf"^(?P<m>[a-z]{{3,9}})\.?\s+(?P<b>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){_TIME}$",
    re.I,
)
_WEEKDAY_RE = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
_SERIAL_RE = re.compile(r"^\d{5}(?:\.\d+)?$")


@dataclass
class DateResults:
    """Parsed values (aligned with the input), per-value errors and warnings, and notes."""

    values: list[str | None]
    errors: list[str | None]
    warnings: list[str | None]
    notes: list[str] = field(default_factory=list)


def format_date(moment: dt.date) -> str:
    """``YYYY-MM-DD``."""
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def format_datetime(moment: dt.datetime, timezone: dt.tzinfo | None = None) -> str:
    """A UTC instant as Twenty writes it; a naive time is read in ``timezone`` (else UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone or dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _zone(text: str | None) -> dt.tzinfo | None:
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return dt.timezone.utc if text else None
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _build(y: int, month: int, day: int, match: re.Match[str]) -> dt.datetime:
    parts = match.groupdict()
    hour = int(parts.get("h") or 0)
    ampm = (parts.get("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with {ampm.upper()}")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    fraction = (parts.get("f") or "0")[:6].ljust(6, "0")
    return dt.datetime(
        y,
        month,
        day,
        hour,
        int(parts.get("mi") or 0),
        int(parts.get("s") or 0),
        int(fraction),
        tzinfo=_zone(parts.get("z")),
    )


def _from_serial(number: float) -> dt.datetime:
    if not MIN_EXCEL_SERIAL <= number < 2958466:
        raise ValueError(f"{number!r} is a number, not a date")
    moment = EXCEL_EPOCH + dt.timedelta(days=number)
    # Excel stores whole seconds; drop the float noise below them.
    return moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))


def _parse_one(value: Any, dayfirst: bool, date_format: str | None) -> dt.datetime:
    """The moment one cell names."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value))
    text = " ".join(str(value).split())
    if date_format is not None:
        try:
            return dt.datetime.strptime(text, date_format)
        except ValueError:
            raise ValueError(f"{text!r} does not match the format {date_format!r}") from None
    text = _WEEKDAY_RE.sub("", text)
    if _SERIAL_RE.match(text):
        return _from_serial(float(text))
    match = _ISO_RE.match(text) or _COMPACT_RE.match(text)
    if match:
        y, month, day = int(match.group("y")), int(match.group("a")), int(match.group("b"))
    elif match := _NUMERIC_RE.match(text):
        a, b = int(match.group("a")), int(match.group("b"))
        first_is_day = a > 12 or (b <= 12 and dayfirst)
        day, month = (a, b) if first_is_day else (b, a)
        y = _year(match.group("y"))
    elif match := _DAY_NAME_RE.match(text) or _NAME_DAY_RE.match(text):
        month_number = _MONTHS.get(match.group("m").lower())
        if month_number is None:
            raise ValueError(f"{text!r}: unknown month {match.group('m')!r}")
        y, month, day = _year(match.group("y")), month_number, int(match.group("b"))
    else:
        raise ValueError(f"{text!r} is not a date")
    try:
        return _build(y, month, day, match)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None


def _group(separator: str) -> str:
    return "dot" if separator == "." else "slash"


def _vote(values: Sequence[Any]) -> dict[str, list[int]]:
    """Per separator group: [day-first votes, month-first votes, ambiguous values]."""
    votes = {"dot": [0, 0, 0], "slash": [0, 0, 0]}
    for value in values:
        if not isinstance(value, str):
            continue
        match = _NUMERIC_RE.match(" ".join(value.split()))
        if match is None:
            continue
        tally = votes[_group(match.group("sep"))]
        a, b = int(match.group("a")), int(match.group("b"))
        if a > 12 >= b:
            tally[0] += 1
        elif b > 12 >= a:
            tally[1] += 1
        elif a <= 12 and b <= 12 and a != b:
            tally[2] += 1
    return votes


def _orders(
    votes: dict[str, list[int]], dayfirst: bool | None, default_region: str, notes: list[str]
) -> dict[str, bool]:
    """Day-first (True) or month-first per separator group, with notes on how it was decided."""
    orders: dict[str, bool] = {}
    for group, (day_votes, month_votes, ambiguous) in votes.items():
        if dayfirst is not None:
            orders[group] = dayfirst
            continue
        label = "dates with dots" if group == "dot" else "numeric dates"
        if day_votes != month_votes:
            orders[group] = day_votes > month_votes
            if day_votes and month_votes:
                order = "day" if orders[group] else "month"
                notes.append(
                    f"{label} are mixed ({day_votes} day-first, {month_votes} month-first); "
                    f"{ambiguous} ambiguous values read {order}-first"
                )
            continue
        orders[group] = group == "dot" or default_region.upper() not in MONTH_FIRST_REGIONS
        if ambiguous:
            order = "day" if orders[group] else "month"
            notes.append(
                f"{ambiguous} {label} have no part above 12; read {order}-first; "
                "set transforms {'dayfirst': True/False} to change"
            )
    return orders


def parse_dates(
    values: Sequence[Any],
    *,
    kind: Literal["DATE", "DATE_TIME"] = "DATE",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    default_region: str = "US",
    timezone: str | None = None,
) -> DateResults:
    """Parse the distinct values of one column.

    Args:
        values: the column's distinct non-empty cells.
        kind: ``"DATE"`` gives ``YYYY-MM-DD``; ``"DATE_TIME"`` a UTC instant.
        date_format: a ``strptime`` format that every value must match.
        dayfirst: force the order of numeric dates; None infers it from the column.
        default_region: decides month-first vs day-first when the column gives no clue.
        timezone: IANA zone for times written without one (``"Europe/Paris"``); UTC if None.
    """
    zone = ZoneInfo(timezone) if timezone else None
    notes: list[str] = []
    votes = _vote(values) if date_format is None else {"dot": [0, 0, 0], "slash": [0, 0, 0]}
    orders = _orders(votes, dayfirst, default_region, notes)
    out: list[str | None] = []
    errors: list[str | None] = []
    warnings: list[str | None] = []
    for value in values:
        text = " ".join(value.split()) if isinstance(value, str) else ""
        numeric = _NUMERIC_RE.match(text) if text and date_format is None else None
        group = _group(numeric.group("sep")) if numeric else "slash"
        try:
            moment = _parse_one(value, orders[group], date_format)
        except ValueError as exc:
            out.append(None)
            errors.append(str(exc))
            warnings.append(None)
            continue
        out.append(format_date(moment) if kind == "DATE" else format_datetime(moment, zone))
        warning = None
        day_votes, month_votes, _ = votes[group]
        if numeric and day_votes and month_votes and dayfirst is None:
            a, b = numeric.group("a"), numeric.group("b")
            if int(a) <= 12 and int(b) <= 12 and int(a) != int(b):
                order = "day" if orders[group] else "month"
                warning = f"ambiguous date read {order}-first as {format_date(moment)}"
        errors.append(None)
        warnings.append(warning)
    return DateResults(out, errors, warnings, notes)
