"""Salesforce record ids: 15 and 18 characters, their checksum, the object a prefix names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


#: Salesforce key prefixes (an id's first three characters) -> the Twenty object.
SALESFORCE_KEY_PREFIXES: Mapping[str, str] = {
    "001": "companies",  # Account
    "003": "people",  # Contact
    "00Q": "people",  # Lead
    "006": "opportunities",  # Opportunity
    "005": "workspaceMembers",  # User
    "00T": "tasks",  # Task
    "002": "notes",  # Note
}


_SALESFORCE_LABELS = {
    "001": "Account",
    "003": "Contact",
    "00Q": "Lead",
    "006": "Opportunity",
    "005": "User",
    "00T": "Task",
    "00U": "Event",
    "002": "Note",
}


#: The checksum alphabet of 18-character Salesforce ids.
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


_SALESFORCE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-5]{3})?$")


# --------------------------------------------------------------------------- Salesforce ids
def _checksum(id15: str) -> str:
    out = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")
        out.append(_CHECKSUM[bits])
    return "".join(out)


def salesforce_id18(value: Any) -> str | None:
    """The 18-character form of a Salesforce id (15 or 18 characters), None if not one.

    The 18-character form is the same whatever the case of its letters: an id whose
    letters were upper- or lower-cased gets their case back from its checksum.

    Example:
        >>> salesforce_id18("001A0000006Vm9r")
        '001A0000006Vm9rIAC'
        >>> salesforce_id18("001A0000006VM9RIAC")
        '001A0000006Vm9rIAC'
    """
    text = str(value).strip() if value is not None else ""
    # Every standard key prefix (001 Account, 005 User, 00G Queue...) starts with a digit,
    # and so do custom ones (a0X...) in their second character: a plain word is not an id.
    if not _SALESFORCE.match(text) or not any(c.isdigit() for c in text[:3]):
        return None
    if len(text) == 15:
        return text + _checksum(text)
    suffix = text[15:].upper()
    chars = list(text[:15])
    for chunk, mark in enumerate(suffix):
        bits = _CHECKSUM.index(mark)
        for i in range(5):
            c = chars[chunk * 5 + i]
            chars[chunk * 5 + i] = c.upper() if bits >> i & 1 else c.lower()
    restored = "".join(chars)
    if _checksum(restored) != suffix:  # a letter marked upper-case is a digit: not an id
        return None
    return restored + suffix


def salesforce_id15(value: Any) -> str | None:
    """The 15-character (case-sensitive) form of a Salesforce id, None if not one."""
    id18 = salesforce_id18(value)
    return id18[:15] if id18 else None


def is_salesforce_id(value: Any) -> bool:
    """Whether ``value`` reads as a Salesforce record id (15 or 18 characters)."""
    return salesforce_id18(value) is not None


def salesforce_object_for_id(value: Any) -> str | None:
    """The Twenty object (plural name) a Salesforce id names, by its key prefix.

    ``001`` companies (Account), ``003`` and ``00Q`` people (Contact, Lead), ``006``
    opportunities, ``005`` workspace members (User), ``00T`` tasks, ``002`` notes; None
    for another prefix or a value that is not a Salesforce id.

    Example:
        >>> salesforce_object_for_id("0035g00000zgWJcAAM")
        'people'
    """
    id18 = salesforce_id18(value)
    return SALESFORCE_KEY_PREFIXES.get(id18[:3]) if id18 else None
