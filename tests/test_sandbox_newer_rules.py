"""The sandbox's value rules that Twenty changed or that the sandbox once missed: emails'
root dot, links without URL, the bare-host domain (per profile), years before 1000,
additional phones left empty."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.engine.fields import format_datetime, process_data
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.metadata.model import ObjectMeta
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import PROFILES, sandbox_profile


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = standard_registry(sandbox_profile("1"))
    person = reg.by_singular("person")
    assert person is not None
    reg.create_field({"objectMetadataId": person.id, "type": "DATE_TIME", "name": "lastSeen"})
    return reg


@pytest.fixture(scope="module")
def person(registry: Registry) -> ObjectMeta:
    found = registry.by_singular("person")
    assert found is not None
    return found


def values(obj: ObjectMeta, data: dict[str, Any]) -> dict[str, Any]:
    return process_data(obj, data).values


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("x@example.LA.", "x@example.la"),
        ("  Admin@💩。LA.  ", "admin@xn--ls8h.la"),  # transform-emails-value.util.spec.ts
        ("a@example.com..", "a@example.com"),
    ],
)
def test_emails_drop_the_trailing_root_dot(person, given, stored):
    got = values(person, {"emails": {"primaryEmail": given, "additionalEmails": [given]}})
    assert got == {"emails": {"primaryEmail": stored, "additionalEmails": [stored]}}


def test_links_drop_empty_secondary_links_and_promote_the_first(registry):
    company = registry.by_singular("company")
    # remove-empty-links.spec.ts: empty or null secondary URLs are dropped
    got = values(
        company,
        {
            "linkedinLink": {
                "primaryLinkUrl": "https://www.twenty.com",
                "primaryLinkLabel": "Twenty",
                "secondaryLinks": [{"url": "", "label": "Empty"}, {"url": None, "label": "Null"}],
            }
        },
    )
    assert got["linkedinLink"]["secondaryLinks"] == []
    # ... and the first remaining one moves up when the primary is empty
    got = values(
        company,
        {
            "linkedinLink": {
                "primaryLinkUrl": "",
                "secondaryLinks": [
                    {"url": None, "label": "Null"},
                    {"url": "https://docs.twenty.com", "label": "Documentation"},
                    {"url": "https://github.com/twentyhq/twenty", "label": "GitHub"},
                ],
            }
        },
    )
    assert got == {
        "linkedinLink": {
            "primaryLinkUrl": "https://docs.twenty.com",
            "primaryLinkLabel": "Documentation",
            "secondaryLinks": [{"url": "https://github.com/twentyhq/twenty", "label": "GitHub"}],
        }
    }
    got = values(company, {"linkedinLink": {"secondaryLinks": [{"url": "b.io", "label": None}]}})
    assert got == {
        "linkedinLink": {"primaryLinkUrl": "b.io", "primaryLinkLabel": None, "secondaryLinks": []}
    }


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_domain_name_is_stored_as_the_bare_host_on_newer_profiles(profile):
    engine = Sandbox(profile=profile, throttle=False).engine
    first = engine.create_one(
        "companies", {"name": "Twenty", "domainName": {"primaryLinkUrl": "https://www.Twenty.com/"}}
    )
    stored = first["domainName"]["primaryLinkUrl"]
    assert stored == ("twenty.com" if profile.domain_name_bare_host else "https://www.twenty.com")
    # Other LINKS fields keep the scheme on every profile.
    other = engine.create_one("companies", {"linkedinLink": {"primaryLinkUrl": "https://X.com/a"}})
    assert other["linkedinLink"]["primaryLinkUrl"] == "https://x.com/a"
    # Upserts match on the stored form: "twenty.com" finds the first company only where
    # Twenty stores the bare host.
    again = engine.create_one(
        "companies", {"name": "Again", "domainName": {"primaryLinkUrl": "twenty.com"}}, upsert=True
    )
    assert (again["id"] == first["id"]) is profile.domain_name_bare_host
    assert engine.count("companies") == (2 if profile.domain_name_bare_host else 3)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0495-02-12T10:00:00Z", "0495-02-12T10:00:00Z"),
        ("0001-01-01", "0001-01-01T00:00:00Z"),
        ("0999-12-31T23:59:59.5+00:00", "0999-12-31T23:59:59.500Z"),
    ],
)
def test_dates_before_year_1000_keep_four_digits(person, given, stored):
    assert values(person, {"lastSeen": given}) == {"lastSeen": stored}
    # the sandbox reads back what it wrote
    assert values(person, {"lastSeen": stored}) == {"lastSeen": stored}
    assert format_datetime(datetime(495, 2, 12, tzinfo=timezone.utc)) == "0495-02-12T00:00:00Z"


def test_additional_phones_keep_only_the_keys_given(person):
    # transform-phones-value.util.ts: JSON.stringify drops undefined keys, so [{}] stays [{}]
    assert values(person, {"phones": {"additionalPhones": [{}]}}) == {
        "phones": {"additionalPhones": [{}]}
    }
    assert values(person, {"phones": {"additionalPhones": [{"countryCode": "FR"}]}}) == {
        "phones": {"additionalPhones": [{"countryCode": "FR"}]}
    }
    # lodash isEmpty: no additional phones is stored as null
    assert values(person, {"phones": {"additionalPhones": []}}) == {
        "phones": {"additionalPhones": None}
    }


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # libphonenumber-js (Twenty) stops before vanity letters; it does not spell them
        ("1-800-FLOWERS", "1800"),
        ("415-555-CALL", "415555"),
        ("4155552671 abc", "4155552671"),
        ("+1 (415) 555-2671 ext. 12", "4155552671"),
        ("(415) 555-2671 / x 3", "4155552671"),
    ],
)
def test_phone_text_is_read_as_libphonenumber_js_reads_it(person, typed, stored):
    got = values(person, {"phones": {"primaryPhoneNumber": typed, "primaryPhoneCountryCode": "US"}})
    assert got["phones"]["primaryPhoneNumber"] == stored


def test_letters_inside_a_phone_number_are_refused(person):
    with pytest.raises(SandboxError) as info:
        process_data(
            person,
            {"phones": {"primaryPhoneNumber": "415abc5552671", "primaryPhoneCountryCode": "US"}},
        )
    assert info.value.message == "Provided phone number is invalid 415abc5552671"
