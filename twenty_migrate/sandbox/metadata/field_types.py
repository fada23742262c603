"""Twenty's field types: their names per release and the sub-fields of composite types.

:mod:`metadata` re-exports these names; the other sandbox modules read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from twenty_migrate.sandbox.profiles import TwentyProfile

# [version-dependent] `addressStreet3` exists only in newer versions of the ADDRESS type.
ADDRESS_HAS_STREET3 = False

# ACTOR sources of the newest version (actor.composite-type.ts).
ACTOR_SOURCES: tuple[str, ...] = (
    "EMAIL",
    "CALENDAR",
    "WORKFLOW",
    "AGENT",
    "API",
    "IMPORT",
    "MANUAL",
    "SYSTEM",
    "WEBHOOK",
    "APPLICATION",
)

RATING_VALUES: tuple[str, ...] = ("RATING_1", "RATING_2", "RATING_3", "RATING_4", "RATING_5")

FIELD_TYPES: frozenset[str] = frozenset(
    {
        "TEXT",
        "NUMBER",
        "NUMERIC",
        "BOOLEAN",
        "UUID",
        "DATE",
        "DATE_TIME",
        "SELECT",
        "MULTI_SELECT",
        "RATING",
        "ARRAY",
        "RAW_JSON",
        "POSITION",
        "RELATION",
        "FULL_NAME",
        "EMAILS",
        "PHONES",
        "LINKS",
        "ADDRESS",
        "CURRENCY",
        "ACTOR",
        "RICH_TEXT_V2",
        "RICH_TEXT",
        "TS_VECTOR",
        "FILES",
        "MORPH_RELATION",
    }
)

# Field types a client may not create through /metadata (system-managed).
NON_CREATABLE_TYPES: frozenset[str] = frozenset({"TS_VECTOR", "POSITION", "ACTOR"})

# The two names of the writable rich-text type: RICH_TEXT_V2 until release 1.20, then RICH_TEXT
# (PR #18628, which removed the v1 RICH_TEXT, a plain unwritable text column).
RICH_TEXT_TYPES: frozenset[str] = frozenset({"RICH_TEXT_V2", "RICH_TEXT"})


def field_types(profile: TwentyProfile) -> frozenset[str]:
    """The field types of the profile's release (``FieldMetadataType``)."""
    gone = (
        RICH_TEXT_TYPES
        - {profile.rich_text_type}
        - ({"RICH_TEXT"} if profile.legacy_rich_text_body else set())
    )
    return FIELD_TYPES - gone


def creatable_field_types(profile: TwentyProfile) -> frozenset[str]:
    """The field types a client may create through ``/metadata`` in the profile's release."""
    legacy = {"RICH_TEXT"} if profile.rich_text_type != "RICH_TEXT" else set()
    return field_types(profile) - NON_CREATABLE_TYPES - legacy


RELATION_TYPES: frozenset[str] = frozenset({"RELATION", "MORPH_RELATION"})


@dataclass(frozen=True)
class CompositeProperty:
    """One sub-field of a composite type."""

    name: str
    type: str
    in_unique: bool = False  # isIncludedInUniqueConstraint
    hidden: bool = False  # not accepted as input (ACTOR workspaceMemberId, name)


def _composite_types() -> dict[str, tuple[CompositeProperty, ...]]:
    address = [
        CompositeProperty("addressStreet1", "TEXT"),
        CompositeProperty("addressStreet2", "TEXT"),
    ]
    if ADDRESS_HAS_STREET3:
        address.append(CompositeProperty("addressStreet3", "TEXT"))
    address += [
        CompositeProperty("addressCity", "TEXT"),
        CompositeProperty("addressPostcode", "TEXT"),
        CompositeProperty("addressState", "TEXT"),
        CompositeProperty("addressCountry", "TEXT"),
        CompositeProperty("addressLat", "NUMERIC"),
        CompositeProperty("addressLng", "NUMERIC"),
    ]
    return {
        "FULL_NAME": (
            CompositeProperty("firstName", "TEXT"),
            CompositeProperty("lastName", "TEXT"),
        ),
        "EMAILS": (
            CompositeProperty("primaryEmail", "TEXT", in_unique=True),
            CompositeProperty("additionalEmails", "RAW_JSON"),
        ),
        "PHONES": (
            CompositeProperty("primaryPhoneNumber", "TEXT", in_unique=True),
            CompositeProperty("primaryPhoneCountryCode", "TEXT", in_unique=True),
            CompositeProperty("primaryPhoneCallingCode", "TEXT", in_unique=True),
            CompositeProperty("additionalPhones", "RAW_JSON"),
        ),
        "LINKS": (
            CompositeProperty("primaryLinkUrl", "TEXT", in_unique=True),
            CompositeProperty("primaryLinkLabel", "TEXT"),
            CompositeProperty("secondaryLinks", "RAW_JSON"),
        ),
        "ADDRESS": tuple(address),
        "CURRENCY": (
            CompositeProperty("amountMicros", "NUMERIC"),
            CompositeProperty("currencyCode", "TEXT"),
        ),
        "ACTOR": (
            CompositeProperty("source", "SELECT"),
            CompositeProperty("workspaceMemberId", "UUID", hidden=True),
            CompositeProperty("name", "TEXT", hidden=True),
            CompositeProperty("context", "RAW_JSON"),
        ),
        # The writable rich text, whichever its type name (see RICH_TEXT_TYPES); the v1
        # RICH_TEXT of the 1.x profile is a plain column (FieldMeta.is_legacy_rich_text).
        **{
            name: (
                CompositeProperty("blocknote", "TEXT"),
                CompositeProperty("markdown", "TEXT"),
            )
            for name in sorted(RICH_TEXT_TYPES)
        },
    }


COMPOSITE_TYPES: dict[str, tuple[CompositeProperty, ...]] = _composite_types()
