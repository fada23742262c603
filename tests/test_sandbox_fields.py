"""Sandbox data-arg processor: accepted inputs, transforms and Twenty's error messages."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from twenty_migrate.sandbox.engine.fields import (
    default_value,
    format_datetime,
    normalize_link,
    parse_datetime,
    process_data,
)
from twenty_migrate.sandbox.engine.richtext import blocknote_to_markdown, markdown_to_blocknote
from twenty_migrate.sandbox.errors import SandboxError, inspect_js
from twenty_migrate.sandbox.metadata.model import ObjectMeta
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = standard_registry(sandbox_profile("1"))
    person = reg.by_singular("person")
    assert person is not None
    for data in (
        {"type": "NUMBER", "name": "score"},
        {"type": "NUMERIC", "name": "balance"},
        {"type": "BOOLEAN", "name": "vip"},
        {"type": "UUID", "name": "externalId"},
        {"type": "DATE", "name": "birthday"},
        {"type": "DATE_TIME", "name": "lastSeen"},
        {"type": "MULTI_SELECT", "name": "tags", "options": [{"value": "A"}, {"value": "B"}]},
        {"type": "SELECT", "name": "tier", "options": [{"value": "GOLD"}, {"value": "SILVER"}]},
        {"type": "RATING", "name": "rating"},
        {"type": "ARRAY", "name": "aliases"},
        {"type": "RAW_JSON", "name": "extra"},
        {"type": "ADDRESS", "name": "home"},
        {"type": "CURRENCY", "name": "salary"},
        {"type": "TEXT", "name": "code", "isNullable": False},
        {"type": "TEXT", "name": "nickname", "isNullable": False, "defaultValue": "'none'"},
    ):
        reg.create_field({"objectMetadataId": person.id, **data})
    return reg


@pytest.fixture(scope="module")
def person(registry: Registry) -> ObjectMeta:
    found = registry.by_singular("person")
    assert found is not None
    return found


def values(person: ObjectMeta, data: dict[str, Any]) -> dict[str, Any]:
    return process_data(person, data).values


def error(person: ObjectMeta, data: dict[str, Any]) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        process_data(person, data)
    assert info.value.status == 400
    assert info.value.graphql_code == "BAD_USER_INPUT"
    return info.value


# ---------------------------------------------------------------- generic rules
def test_unknown_key(person):
    err = error(person, {"nope": 1})
    assert err.message == 'Object person doesn\'t have any "nope" field.'
    assert err.code == "INVALID_ARGS_DATA"


def test_join_column_accepted_and_checked(person):
    uid = "8f3b2f1e-1d4c-4a8e-9f0a-1b2c3d4e5f60"
    assert values(person, {"companyId": uid}) == {"companyId": uid}
    assert values(person, {"companyId": None}) == {"companyId": None}
    err = error(person, {"companyId": "non-uuid"})
    assert err.message == "Invalid UUID value 'non-uuid' for field \"companyId\""


def test_one_to_many_not_writable(person):
    err = error(person, {"pointOfContactForOpportunities": []})
    assert err.message == (
        "One-to-many relation pointOfContactForOpportunities field does not support "
        "write operations."
    )


def test_rich_text_and_ts_vector_not_writable(registry):
    task = registry.by_singular("task")
    err = error(task, {"body": "x"})
    assert err.message == "body RICH_TEXT-typed field does not support write operations"
    err = error(task, {"searchVector": "x"})
    assert "does not support write operations" in err.message


def test_null_for_required_field(person):
    err = error(person, {"code": None})
    assert err.message == "Field code is not nullable and has no default value."
    assert err.user_friendly_message == "A required field is missing."
    # a required field with a default: null means "use the default"
    assert values(person, {"nickname": None}) == {}


def test_undefined_keys_are_skipped(person):
    assert values(person, {}) == {}


# ------------------------------------------------------------------------ TEXT
def test_text(person):
    assert values(person, {"jobTitle": "CTO"}) == {"jobTitle": "CTO"}
    assert values(person, {"jobTitle": ""}) == {"jobTitle": None}
    assert values(person, {"jobTitle": None}) == {"jobTitle": None}
    err = error(person, {"jobTitle": 123})
    assert err.message == 'Invalid string value 123 for text field "jobTitle"'
    assert error(person, {"jobTitle": {}}).message == (
        'Invalid string value {} for text field "jobTitle"'
    )


# ------------------------------------------------------------- NUMBER / NUMERIC
def test_number(person):
    assert values(person, {"score": 3}) == {"score": 3}
    assert values(person, {"score": -1.5}) == {"score": -1.5}
    assert error(person, {"score": "string"}).message == (
        "Invalid number value 'string' for field \"score\""
    )
    assert error(person, {"score": True}).message == 'Invalid number value true for field "score"'
    assert error(person, {"score": "12"}).code == "INVALID_NUMBER"


def test_numeric(person):
    assert values(person, {"balance": "12.50"}) == {"balance": 12.5}
    assert values(person, {"balance": "1500000000"}) == {"balance": 1500000000}
    assert values(person, {"balance": 7}) == {"balance": 7}
    assert error(person, {"balance": "abc"}).message == (
        'Invalid number value NaN for field "balance"'
    )


# ------------------------------------------------------------------- BOOLEAN/UUID
def test_boolean(person):
    assert values(person, {"vip": False}) == {"vip": False}
    assert error(person, {"vip": "string"}).message == (
        "Invalid boolean value 'string' for field \"vip\""
    )
    assert error(person, {"vip": 1}).code == "INVALID_BOOLEAN"


def test_uuid(person):
    uid = "00000000-0000-4000-8000-000000000001"
    assert values(person, {"externalId": uid}) == {"externalId": uid}
    assert error(person, {"externalId": "non-uuid"}).message == (
        "Invalid UUID value 'non-uuid' for field \"externalId\""
    )


# ------------------------------------------------------------------- DATE / TIME
def test_date(person):
    assert values(person, {"birthday": "2024-02-29"}) == {"birthday": "2024-02-29"}
    assert error(person, {"birthday": "2024-13-01"}).message == (
        "Invalid value '2024-13-01' for date field \"birthday\". Expected format: 'YYYY-MM-DD'"
    )
    assert error(person, {"birthday": "2023-02-29"}).code == "INVALID_DATE_OR_DATE_TIME"
    assert error(person, {"birthday": 20240101}).code == "INVALID_DATE_OR_DATE_TIME"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-01-15T10:20:30Z", "2024-01-15T10:20:30Z"),
        ("2024-01-15T10:20:30.000Z", "2024-01-15T10:20:30Z"),
        ("2024-01-15T10:20:30.120Z", "2024-01-15T10:20:30.120Z"),
        ("2024-01-15T10:20:30.123456Z", "2024-01-15T10:20:30.123Z"),
        ("2024-01-15T12:20:30+02:00", "2024-01-15T10:20:30Z"),
        ("2024-01-15T05:20:30-0500", "2024-01-15T10:20:30Z"),
        ("2024-01-15T10:20:30", "2024-01-15T10:20:30Z"),
        ("2024-01-15 10:20", "2024-01-15T10:20:00Z"),
        ("2024-01-15", "2024-01-15T00:00:00Z"),
        ("20240115", "2024-01-15T00:00:00Z"),
        ("20240115T102030Z", "2024-01-15T10:20:30Z"),
        ("January 15, 2024", "2024-01-15T00:00:00Z"),
        ("Jan 15 2024 3:04 PM", "2024-01-15T15:04:00Z"),
        ("15 January 2024", "2024-01-15T00:00:00Z"),
        ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z"),
    ],
)
def test_date_time_normalised_to_utc(person, given, stored):
    assert values(person, {"lastSeen": given}) == {"lastSeen": stored}


@pytest.mark.parametrize(
    "given", ["not a date", "2024-02-30", "2024-01-15T25:00:00Z", "", 1705312800]
)
def test_date_time_rejected(person, given):
    err = error(person, {"lastSeen": given})
    assert err.message == (
        f'Invalid value {inspect_js(given)} for date-time field "lastSeen". '
        "Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"
    )


def test_datetime_helpers():
    moment = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert format_datetime(moment) == "2024-01-02T03:04:05.678Z"
    assert format_datetime(moment.replace(microsecond=0)) == "2024-01-02T03:04:05Z"
    assert parse_datetime("nope") is None


# ------------------------------------------------------------- SELECT & friends
def test_select(person, registry):
    assert values(person, {"tier": "GOLD"}) == {"tier": "GOLD"}
    assert error(person, {"tier": "x"}).message == "Invalid value 'x' for field \"tier\""
    assert error(person, {"tier": ""}).message == "Invalid value '' for field \"tier\""
    assert error(person, {"tier": {}}).message == 'Invalid string value {} for text field "tier"'
    opportunity = registry.by_singular("opportunity")
    assert values(opportunity, {"stage": "MEETING"}) == {"stage": "MEETING"}
    assert error(opportunity, {"stage": "INVALID_ENUM_VALUE"}).code == "INVALID_SELECT"


def test_rating(person):
    assert values(person, {"rating": "RATING_3"}) == {"rating": "RATING_3"}
    assert error(person, {"rating": "RATING_9"}).message == (
        "Invalid value 'RATING_9' for field \"rating\""
    )


def test_multi_select(person):
    assert values(person, {"tags": ["A", "B"]}) == {"tags": ["A", "B"]}
    assert values(person, {"tags": "A"}) == {"tags": ["A"]}
    assert values(person, {"tags": []}) == {"tags": []}
    assert error(person, {"tags": ["A", "x"]}).message == (
        "Invalid value 'x' for multi select field \"tags\""
    )
    assert error(person, {"tags": 1}).message == (
        'Invalid value 1 for field "tags - Array values need to be string"'
    )


def test_array(person):
    assert values(person, {"aliases": ["a", "b"]}) == {"aliases": ["a", "b"]}
    assert error(person, {"aliases": [1]}).message == (
        'Invalid value 1 for field "aliases - Array values need to be string"'
    )
    assert error(person, {"aliases": 1}).code == "INVALID_ARRAY"


def test_raw_json(person):
    assert values(person, {"extra": {"a": [1]}}) == {"extra": {"a": [1]}}
    assert values(person, {"extra": '{"a": 1}'}) == {"extra": {"a": 1}}
    assert values(person, {"extra": [1, 2]}) == {"extra": [1, 2]}
    assert error(person, {"extra": "not-a-json"}).message == (
        "Invalid object value 'not-a-json' for field \"extra\""
    )


def test_position(person):
    assert values(person, {"position": -2.5}) == {"position": -2.5}
    assert error(person, {"position": "123"}).message == (
        "Invalid position value '123' for field \"position\""
    )
    assert error(person, {"position": None}).message == (
        'Invalid position value null for field "position"'
    )


# ------------------------------------------------------------------- composites
def test_full_name(person):
    assert values(person, {"name": {"firstName": "Ada", "lastName": "Lovelace"}}) == {
        "name": {"firstName": "Ada", "lastName": "Lovelace"}
    }
    assert values(person, {"name": {"firstName": "Ada"}}) == {"name": {"firstName": "Ada"}}
    assert error(person, {"name": "x"}).message == "Invalid object value 'x' for field \"name\""
    err = error(person, {"name": {"first": "Ada"}})
    assert err.message == "Invalid object value { first: 'Ada' } for field \"name\""
    assert err.code == "INVALID_COMPOSITE_FIELD"
    assert error(person, {"name": {"firstName": 1}}).message == (
        'Invalid string value 1 for text field "name.firstName"'
    )


def test_emails(person):
    got = values(
        person,
        {
            "emails": {
                "primaryEmail": "  Ada.Lovelace@Example.COM ",
                "additionalEmails": ["X@Y.org", "jürgen@bücher.de"],
            }
        },
    )
    assert got == {
        "emails": {
            "primaryEmail": "ada.lovelace@example.com",
            "additionalEmails": ["x@y.org", "jürgen@xn--bcher-kva.de"],
        }
    }
    assert values(person, {"emails": {"primaryEmail": "a@münchen.de"}}) == {
        "emails": {"primaryEmail": "a@xn--mnchen-3ya.de"}
    }
    assert values(person, {"emails": {"primaryEmail": ""}}) == {"emails": {"primaryEmail": None}}
    assert values(person, {"emails": {"additionalEmails": []}}) == {
        "emails": {"additionalEmails": None}
    }
    assert error(person, {"emails": {"primaryEmail": "not-an-email"}}).message == (
        "Invalid string value 'not-an-email' for email field \"emails.primaryEmail\""
    )
    assert error(person, {"emails": {"additionalEmails": ["bad"]}}).message == (
        "Invalid string value 'bad' for email field \"emails.additionalEmails\""
    )
    assert error(person, {"emails": {"other": "a@b.co"}}).code == "INVALID_COMPOSITE_FIELD"


def test_phones_parsed_and_inferred(person):
    assert values(person, {"phones": {"primaryPhoneNumber": "+14155552671"}}) == {
        "phones": {
            "primaryPhoneNumber": "4155552671",
            "primaryPhoneCountryCode": "US",
            "primaryPhoneCallingCode": "+1",
        }
    }
    got = values(
        person,
        {
            "phones": {
                "primaryPhoneNumber": "06 12 34 56 78",
                "primaryPhoneCountryCode": "FR",
                "additionalPhones": [{"number": "+44 20 7946 0958"}],
            }
        },
    )
    assert got["phones"]["primaryPhoneNumber"] == "612345678"
    assert got["phones"]["primaryPhoneCallingCode"] == "+33"
    assert got["phones"]["additionalPhones"] == [
        {"number": "2079460958", "countryCode": "GB", "callingCode": "+44"}
    ]
    got = values(
        person, {"phones": {"primaryPhoneNumber": "4155552671", "primaryPhoneCallingCode": "+1"}}
    )
    assert got["phones"]["primaryPhoneCountryCode"] == "US"
    # libphonenumber-js checks lengths, not validity: fictional 555 numbers are stored
    got = values(
        person, {"phones": {"primaryPhoneNumber": "555-0100", "primaryPhoneCountryCode": "US"}}
    )
    assert got["phones"]["primaryPhoneNumber"] == "5550100"
    assert values(person, {"phones": {"primaryPhoneNumber": ""}}) == {
        "phones": {"primaryPhoneNumber": None}
    }


@pytest.mark.parametrize(
    ("phones", "message"),
    [
        ({"primaryPhoneNumber": "abc"}, "Provided phone number is invalid abc"),
        # no "+", country or calling code: libphonenumber-js cannot tell the country
        ({"primaryPhoneNumber": "4155552671"}, "Provided phone number is invalid 4155552671"),
        # two digits with punctuation are no phone number for libphonenumber-js
        (
            {"primaryPhoneNumber": "9 8", "primaryPhoneCallingCode": "+1"},
            "Provided phone number is invalid 9 8",
        ),
        # non-geographic calling codes have no country in libphonenumber-js
        (
            {"primaryPhoneNumber": "12345678", "primaryPhoneCallingCode": "+800"},
            "Invalid calling code +800",
        ),
        ({"primaryPhoneNumber": "123", "primaryPhoneCountryCode": "XX"}, "Invalid country code XX"),
        (
            {"primaryPhoneNumber": "123", "primaryPhoneCallingCode": "+999"},
            "Invalid calling code +999",
        ),
        (
            {
                "primaryPhoneNumber": "4155552671",
                "primaryPhoneCountryCode": "FR",
                "primaryPhoneCallingCode": "+1",
            },
            "Provided country code and calling code are conflicting",
        ),
        (
            {"primaryPhoneNumber": "+33612345678", "primaryPhoneCountryCode": "US"},
            "Provided and inferred country code are conflicting",
        ),
        (
            {"primaryPhoneNumber": "+33612345678", "primaryPhoneCallingCode": "+44"},
            "Provided and inferred calling code are conflicting",
        ),
    ],
)
def test_phone_errors(person, phones, message):
    assert error(person, {"phones": phones}).message == message


def test_phone_unknown_subfield(person):
    assert error(person, {"phones": {"number": "1"}}).code == "INVALID_COMPOSITE_FIELD"
    assert error(person, {"phones": {"additionalPhones": [{"x": 1}]}}).code == (
        "INVALID_COMPOSITE_FIELD"
    )


def test_links(person, registry):
    company = registry.by_singular("company")
    got = values(
        company,
        {
            "domainName": {
                "primaryLinkUrl": "HTTPS://Example.COM/Path/",
                "primaryLinkLabel": "",
                "secondaryLinks": [{"url": "WWW.Acme.com/", "label": "acme"}],
            }
        },
    )
    assert got == {
        "domainName": {
            "primaryLinkUrl": "https://example.com/Path",
            "primaryLinkLabel": "",
            "secondaryLinks": [{"url": "www.acme.com", "label": "acme"}],
        }
    }
    assert values(company, {"domainName": {}}) == {"domainName": {}}
    # remove-empty-links.ts: an empty primary takes its label with it
    assert values(company, {"domainName": {"primaryLinkUrl": ""}}) == {
        "domainName": {"primaryLinkUrl": None, "primaryLinkLabel": None}
    }
    assert error(company, {"domainName": "x"}).message == (
        "Invalid object value 'x' for field \"domainName\""
    )
    assert error(company, {"domainName": {"secondaryLinks": "x"}}).code == (
        "INVALID_COMPOSITE_FIELD"
    )


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.COM", "example.com"),
        ("https://EXAMPLE.com/", "https://example.com"),
        ("https://example.com/A%20B", "https://example.com/A%20B"),
        ("HTTP://Example.com/x?q=A", "http://example.com/x?q=A"),
    ],
)
def test_normalize_link(given, normalised):
    assert normalize_link(given) == normalised


def test_address(person):
    got = values(person, {"home": {"addressCity": "Paris", "addressLat": "48.85"}})
    assert got == {"home": {"addressCity": "Paris", "addressLat": 48.85}}
    assert error(person, {"home": {"addressStreet9": "x"}}).code == "INVALID_COMPOSITE_FIELD"
    assert error(person, {"home": {"addressLng": "east"}}).message == (
        'Invalid number value NaN for field "home.addressLng"'
    )


def test_currency(person):
    assert values(person, {"salary": {"amountMicros": "1500000000", "currencyCode": "USD"}}) == {
        "salary": {"amountMicros": 1500000000, "currencyCode": "USD"}
    }
    err = error(person, {"salary": {"amount": 1}})
    assert err.message == 'Invalid object value { amount: 1 } for field "salary"'


def test_actor(person):
    assert values(person, {"createdBy": {"source": "IMPORT"}}) == {
        "createdBy": {"source": "IMPORT"}
    }
    assert error(person, {"createdBy": {"source": "ROBOT"}}).message == (
        "Invalid value 'ROBOT' for field \"createdBy.source\""
    )
    assert error(person, {"createdBy": {"workspaceMemberId": "x"}}).code == (
        "INVALID_COMPOSITE_FIELD"
    )
    # the creator is kept on update
    assert process_data(person, {"createdBy": {"source": "IMPORT"}}, update=True).values == {}


def test_rich_text_v2(registry):
    task = registry.by_singular("task")
    got = values(task, {"bodyV2": {"markdown": "# Hi\n\nSome **bold** text"}})["bodyV2"]
    assert got["markdown"] == "# Hi\n\nSome **bold** text"
    blocks = json.loads(got["blocknote"])
    assert [b["type"] for b in blocks] == ["heading", "paragraph"]
    assert blocks[0]["props"]["level"] == 1
    assert blocks[1]["content"][1] == {"type": "text", "text": "bold", "styles": {"bold": True}}
    back = values(task, {"bodyV2": {"blocknote": got["blocknote"]}})["bodyV2"]
    assert back["markdown"] == "# Hi\n\nSome **bold** text"
    assert values(task, {"bodyV2": {"markdown": ""}}) == {
        "bodyV2": {"blocknote": None, "markdown": None}
    }
    err = error(task, {"bodyV2": "x"})
    assert (
        err.message == "Invalid rich text v2 value 'x' for field \"bodyV2\" - Should be an object"
    )
    assert error(task, {"bodyV2": {"blocknote": "not json"}}).code == "INVALID_COMPOSITE_FIELD"


def test_richtext_round_trip():
    markdown = "## Plan\n\n- one\n\n- two\n\n1. first\n\n- [x] done\n\n> quote\n\n```py\nx = 1\n```"
    blocks = json.loads(markdown_to_blocknote(markdown))
    kinds = [b["type"] for b in blocks]
    assert kinds == [
        "heading",
        "bulletListItem",
        "bulletListItem",
        "numberedListItem",
        "checkListItem",
        "quote",
        "codeBlock",
    ]
    assert blocknote_to_markdown(json.dumps(blocks)) == markdown
    link = json.loads(markdown_to_blocknote("see [docs](https://x.io) and *it* `c` ~~s~~"))
    assert blocknote_to_markdown(link) == "see [docs](https://x.io) and *it* `c` ~~s~~"
    # colours and unknown blocks are dropped (lossy)
    lossy = [{"type": "paragraph", "props": {"textColor": "red"}, "content": "plain"}]
    assert blocknote_to_markdown(lossy) == "plain"


# -------------------------------------------------------------------- defaults
def test_default_values(registry, person):
    now = "2024-01-01T00:00:00Z"
    opportunity = registry.by_singular("opportunity")
    assert default_value(opportunity.fields["stage"], now) == "NEW"
    assert default_value(person.fields["createdAt"], now) == now
    assert default_value(person.fields["emails"], now) == {
        "primaryEmail": None,
        "additionalEmails": None,
    }
    company = registry.by_singular("company")
    assert default_value(company.fields["idealCustomerProfile"], now) is False
    assert default_value(person.fields["jobTitle"], now) is None


def test_inspect_js():
    assert inspect_js("it's") == '"it\'s"'
    assert inspect_js(1.0) == "1"
    assert inspect_js(float("nan")) == "NaN"
    assert inspect_js(None) == "null"
    assert inspect_js([1, "a"]) == "[ 1, 'a' ]"
    assert inspect_js({"a b": 1}) == "{ 'a b': 1 }"
