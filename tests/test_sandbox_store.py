"""Sandbox engine: writes, upsert, uniqueness, relations, filters, pages, persistence."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from twenty_migrate.sandbox.engine.paging import Page
from twenty_migrate.sandbox.engine.store import Engine
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.metadata.model import SEEDED_WORKSPACE_MEMBERS
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile


class Clock:
    """A fake UTC clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def engine() -> Engine:
    return Engine(standard_registry(sandbox_profile("1")), clock=Clock())


def uid() -> str:
    return str(uuid.uuid4())


def fails(call: Any, *args: Any, **kwargs: Any) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        call(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------- create basics
def test_create_fills_defaults_and_system_fields():
    clock = Clock()
    engine = Engine(standard_registry(sandbox_profile("1")), clock=clock)
    person = engine.create_one("people", {"name": {"firstName": "Ada"}})
    assert uuid.UUID(person["id"])
    assert person["createdAt"] == person["updatedAt"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert person["deletedAt"] is None
    assert person["createdBy"] == {
        "source": "API",
        "workspaceMemberId": None,
        "name": "API key",
        "context": {},
    }
    assert person["name"] == {"firstName": "Ada", "lastName": None}
    assert person["emails"] == {"primaryEmail": None, "additionalEmails": None}
    assert person["phones"]["primaryPhoneNumber"] is None
    assert person["companyId"] is None
    assert person["jobTitle"] is None
    for hidden in ("company", "pointOfContactForOpportunities", "searchVector", "taskTargets"):
        assert hidden not in person
    company = engine.create_one("companies", {"name": "Acme"})
    assert company["idealCustomerProfile"] is False
    assert company["annualRecurringRevenue"] == {"amountMicros": None, "currencyCode": None}
    assert engine.create_one("opportunities", {"name": "Deal"})["stage"] == "NEW"
    assert engine.create_one("tasks", {"title": "Call"})["status"] == "TODO"


def test_position_backfilled_in_input_order(engine):
    rows = engine.create_many("companies", [{"name": "A"}, {"name": "B"}, {"position": -5}])
    positions = {r["name"]: r["position"] for r in rows}
    assert positions["B"] == positions["A"] + 1
    assert -5 in positions.values()


def test_created_by_source_kept_and_ids_honoured(engine):
    record_id = uid()
    person = engine.create_one("person", {"id": record_id, "createdBy": {"source": "IMPORT"}})
    assert person["id"] == record_id
    assert person["createdBy"]["source"] == "IMPORT"
    assert person["createdBy"]["name"] == "API key"


def test_returned_records_are_copies(engine):
    person = engine.create_one("people", {"name": {"firstName": "Ada"}})
    person["name"]["firstName"] = "Changed"
    assert engine.get("people", person["id"])["name"]["firstName"] == "Ada"


def test_seeded_workspace_members(engine):
    members = engine.all_records("workspaceMembers")
    assert {m["id"] for m in members} == {m["id"] for m in SEEDED_WORKSPACE_MEMBERS}


def test_object_accepts_meta_singular_or_plural(engine):
    meta = engine.registry.by_singular("company")
    engine.create_one(meta, {"name": "A"})
    engine.create_one("company", {"name": "B"})
    assert engine.count("companies") == 2
    assert fails(engine.count, "nope").message == "object 'nope' not found. eg: companies"


# ------------------------------------------------------------- all-or-nothing
def test_validation_error_rejects_whole_batch(engine):
    err = fails(
        engine.create_many,
        "people",
        [{"jobTitle": "ok"}, {"jobTitle": 5}, {"jobTitle": "never"}],
    )
    assert err.message == 'Invalid string value 5 for text field "jobTitle"'
    assert engine.count("people") == 0


def test_invalid_id_in_batch(engine):
    err = fails(engine.create_many, "people", [{"id": "abc"}])
    assert err.message == 'Value "abc" is not a valid UUID'


def test_max_records_cap():
    engine = Engine(standard_registry(sandbox_profile("1").replace(query_max_records=3)))
    err = fails(engine.create_many, "companies", [{"name": str(i)} for i in range(4)])
    assert err.message == "Maximum number of records to upsert is 3."
    assert err.code == "TOO_MANY_RECORDS_TO_UPDATE"
    assert err.status == 400
    # validation runs before the cap
    err = fails(engine.create_many, "companies", [{"name": 1}] * 4)
    assert err.code == "INVALID_TEXT"
    assert len(engine.create_many("companies", [{"name": str(i)} for i in range(3)])) == 3


# ------------------------------------------------------------------ duplicates
def test_plain_create_duplicate_email(engine):
    engine.create_one("people", {"emails": {"primaryEmail": "ada@example.com"}})
    err = fails(
        engine.create_many,
        "people",
        [{"name": {"firstName": "x"}}, {"emails": {"primaryEmail": "ADA@example.com"}}],
    )
    assert err.message == "A duplicate entry was detected"
    assert err.code == "DUPLICATE_ENTRY_DETECTED"
    assert err.graphql_code == "BAD_USER_INPUT"
    assert err.user_friendly_message == (
        "This Emails value is already in use. Please check your data and try again."
    )
    assert engine.count("people") == 1


def test_plain_create_duplicate_against_soft_deleted_row(engine):
    ada = engine.create_one("people", {"emails": {"primaryEmail": "ada@example.com"}})
    engine.delete_one("people", ada["id"])
    err = fails(engine.create_one, "people", {"emails": {"primaryEmail": "ada@example.com"}})
    assert err.code == "DUPLICATE_ENTRY_DETECTED"


def test_plain_create_duplicate_within_batch_and_id(engine):
    err = fails(
        engine.create_many,
        "companies",
        [
            {"domainName": {"primaryLinkUrl": "acme.com"}},
            {"domainName": {"primaryLinkUrl": "ACME.com/"}},
        ],
    )
    assert err.code == "DUPLICATE_ENTRY_DETECTED"
    record_id = uid()
    engine.create_one("companies", {"id": record_id})
    err = fails(engine.create_one, "companies", {"id": record_id})
    assert err.user_friendly_message == (
        "This record already exists. Please check your data and try again."
    )
    assert fails(engine.create_many, "companies", [{"id": (x := uid())}, {"id": x}]).code == (
        "DUPLICATE_ENTRY_DETECTED"
    )
    assert engine.count("companies") == 1


def test_records_without_unique_values_do_not_collide(engine):
    engine.create_many("people", [{"name": {"firstName": "a"}}, {"emails": {"primaryEmail": ""}}])
    assert engine.count("people") == 2


def test_unique_phones_null_equivalence(engine):
    person = engine.registry.by_singular("person")
    engine.registry.create_field(
        {"objectMetadataId": person.id, "type": "PHONES", "name": "workPhone", "isUnique": True}
    )
    engine.create_many(
        "people",
        [{"workPhone": {"primaryPhoneNumber": ""}}, {"workPhone": {"primaryPhoneNumber": ""}}],
    )
    engine.create_one("people", {"workPhone": {"primaryPhoneNumber": "+14155552671"}})
    err = fails(engine.create_one, "people", {"workPhone": {"primaryPhoneNumber": "+14155552671"}})
    assert err.code == "DUPLICATE_ENTRY_DETECTED"
    # upsert matches on the three phone sub-fields together
    updated = engine.create_one(
        "people",
        {"workPhone": {"primaryPhoneNumber": "(415) 555-2671", "primaryPhoneCountryCode": "US"}},
        upsert=True,
    )
    assert engine.count("people") == 3
    assert updated["workPhone"]["primaryPhoneNumber"] == "4155552671"


# ---------------------------------------------------------------------- upsert
def test_upsert_matches_on_id(engine):
    record_id = uid()
    engine.create_one("people", {"id": record_id, "jobTitle": "Dev", "city": "Paris"})
    rows = engine.create_many("people", [{"id": record_id, "jobTitle": "CTO"}], upsert=True)
    assert rows[0]["jobTitle"] == "CTO"
    assert rows[0]["city"] == "Paris"
    assert engine.count("people") == 1


def test_upsert_matches_on_transformed_email_and_keeps_creator(engine):
    first = engine.create_one(
        "people",
        {"emails": {"primaryEmail": "ada@example.com"}, "createdBy": {"source": "IMPORT"}},
    )
    rows = engine.create_many(
        "people",
        [
            {
                "emails": {"primaryEmail": " ADA@Example.com"},
                "jobTitle": "CTO",
                "createdBy": {"source": "MANUAL"},
            },
        ],
        upsert=True,
    )
    assert rows[0]["id"] == first["id"]
    assert rows[0]["jobTitle"] == "CTO"
    assert rows[0]["createdBy"]["source"] == "IMPORT"
    assert rows[0]["createdAt"] == first["createdAt"]
    assert rows[0]["updatedAt"] > first["updatedAt"]
    assert engine.count("people") == 1


def test_upsert_links_match_on_stored_value(engine):
    acme = engine.create_one("companies", {"domainName": {"primaryLinkUrl": "https://acme.com"}})
    rows = engine.create_many(
        "companies",
        [{"domainName": {"primaryLinkUrl": "HTTPS://ACME.com/"}, "employees": 5}],
        upsert=True,
    )
    assert rows[0]["id"] == acme["id"]
    # the protocol is kept as given, so a different form is a different value
    engine.create_many("companies", [{"domainName": {"primaryLinkUrl": "acme.com"}}], upsert=True)
    assert engine.count("companies") == 2


def test_upsert_restores_soft_deleted_match(engine):
    ada = engine.create_one("people", {"emails": {"primaryEmail": "ada@example.com"}})
    engine.delete_one("people", ada["id"])
    rows = engine.create_many(
        "people", [{"emails": {"primaryEmail": "ada@example.com"}, "jobTitle": "Back"}], upsert=True
    )
    assert rows[0]["id"] == ada["id"]
    assert rows[0]["deletedAt"] is None
    assert engine.get("people", ada["id"])["jobTitle"] == "Back"


def test_upsert_multiple_matches_conflict(engine):
    a = engine.create_one("people", {"emails": {"primaryEmail": "a@example.com"}})
    engine.create_one("people", {"emails": {"primaryEmail": "b@example.com"}})
    err = fails(
        engine.create_many,
        "people",
        [{"id": a["id"], "emails": {"primaryEmail": "b@example.com"}}],
        upsert=True,
    )
    assert err.message == (
        "Multiple records found with the same unique field values for id, emails. "
        "Cannot determine which record to update."
    )
    assert err.code == "UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT"
    assert err.graphql_code == "BAD_USER_INPUT"


def test_upsert_same_record_by_two_groups_is_updated(engine):
    a = engine.create_one("people", {"emails": {"primaryEmail": "a@example.com"}})
    rows = engine.create_many(
        "people",
        [{"id": a["id"], "emails": {"primaryEmail": "a@example.com"}, "city": "Oslo"}],
        upsert=True,
    )
    assert rows[0]["city"] == "Oslo"


def test_upsert_duplicate_new_value_within_batch(engine):
    existing = engine.create_one("people", {"emails": {"primaryEmail": "old@example.com"}})
    err = fails(
        engine.create_many,
        "people",
        [
            {"emails": {"primaryEmail": "old@example.com"}, "city": "Rome"},
            {"emails": {"primaryEmail": "new@example.com"}},
            {"emails": {"primaryEmail": "NEW@example.com"}},
        ],
        upsert=True,
    )
    assert err.code == "DUPLICATE_ENTRY_DETECTED"
    assert engine.count("people") == 1
    assert engine.get("people", existing["id"])["city"] is None


def test_non_atomic_upsert_switch():
    engine = Engine(standard_registry(sandbox_profile("1").replace(upsert_atomic=False)))
    existing = engine.create_one("people", {"emails": {"primaryEmail": "old@example.com"}})
    batch = [
        {"emails": {"primaryEmail": "old@example.com"}, "city": "Rome"},
        {"emails": {"primaryEmail": "new@example.com"}},
        {"emails": {"primaryEmail": "new@example.com"}},
    ]
    assert fails(engine.create_many, "people", batch, upsert=True).code == (
        "DUPLICATE_ENTRY_DETECTED"
    )
    assert engine.get("people", existing["id"])["city"] == "Rome"
    assert engine.count("people") == 1


def test_upsert_response_order_updated_first(engine):
    old = engine.create_one("people", {"emails": {"primaryEmail": "old@example.com"}})
    rows = engine.create_many(
        "people",
        [
            {"emails": {"primaryEmail": "new1@example.com"}},
            {"emails": {"primaryEmail": "old@example.com"}, "city": "Lima"},
            {"name": {"firstName": "no email"}},
        ],
        upsert=True,
    )
    assert rows[0]["id"] == old["id"]
    assert [r["emails"]["primaryEmail"] for r in rows[1:]] == ["new1@example.com", None]


def test_upsert_cannot_take_unique_value_of_another_record(engine):
    a = engine.create_one("people", {"emails": {"primaryEmail": "a@example.com"}})
    b = engine.create_one("people", {"emails": {"primaryEmail": "b@example.com"}})
    err = fails(engine.update_one, "people", b["id"], {"emails": {"primaryEmail": "a@example.com"}})
    assert err.code == "DUPLICATE_ENTRY_DETECTED"
    # moving a value between records in one call is fine when the old holder lets go
    engine.update_one("people", a["id"], {"emails": {"primaryEmail": "c@example.com"}})
    engine.update_one("people", b["id"], {"emails": {"primaryEmail": "a@example.com"}})


# ------------------------------------------------------------------- relations
def test_join_column_must_exist(engine):
    missing = uid()
    err = fails(engine.create_one, "people", {"companyId": missing})
    assert "companyId" in err.message and missing in err.message
    assert err.status == 400
    company = engine.create_one("companies", {"name": "Acme"})
    person = engine.create_one("people", {"companyId": company["id"]})
    assert person["companyId"] == company["id"]
    assert engine.related("people", person, "company")["id"] == company["id"]
    assert [p["id"] for p in engine.related("companies", company, "people")] == [person["id"]]
    err = fails(engine.update_one, "people", person["id"], {"companyId": missing})
    assert missing in err.message


def test_relation_connect(engine):
    acme = engine.create_one("companies", {"domainName": {"primaryLinkUrl": "acme.com"}})
    person = engine.create_one(
        "people",
        {"company": {"connect": {"where": {"domainName": {"primaryLinkUrl": "ACME.com"}}}}},
    )
    assert person["companyId"] == acme["id"]
    person = engine.create_one("people", {"company": {"connect": {"where": {"id": acme["id"]}}}})
    assert person["companyId"] == acme["id"]
    err = fails(engine.create_one, "people", {"company": {"connect": {"where": {"id": uid()}}}})
    assert err.message == "Expected 1 record to connect to company, but found 0."
    err = fails(
        engine.create_one,
        "people",
        {"company": {"connect": {"where": {"id": acme["id"]}}}, "companyId": acme["id"]},
    )
    assert err.message == "company and companyId cannot be both provided."
    err = fails(engine.create_one, "people", {"company": {"connect": {"where": {"name": "x"}}}})
    assert err.message == 'Field "name" is not defined by type "CompanyWhereUniqueInput".'
    updated = engine.update_one("people", person["id"], {"company": {"disconnect": True}})
    assert updated["companyId"] is None


def test_destroy_cascades_and_sets_null(engine):
    company = engine.create_one("companies", {"name": "Acme"})
    person = engine.create_one("people", {"companyId": company["id"]})
    task = engine.create_one("tasks", {"title": "Call"})
    target = engine.create_one("taskTargets", {"taskId": task["id"], "companyId": company["id"]})
    engine.destroy_one("tasks", task["id"])
    assert engine.count("taskTargets", with_deleted=True) == 0
    engine.destroy_one("companies", company["id"])
    assert engine.get("people", person["id"])["companyId"] is None
    assert fails(engine.get, "taskTargets", target["id"]).status == 404


def test_soft_delete_cascades(engine):
    task = engine.create_one("tasks", {"title": "Call"})
    engine.create_one("taskTargets", {"taskId": task["id"]})
    engine.delete_one("tasks", task["id"])
    assert engine.count("taskTargets") == 0
    assert engine.count("taskTargets", with_deleted=True) == 1


# ------------------------------------------------------------- custom objects
def test_custom_object_behaves_like_standard(engine):
    reg = engine.registry
    pet = reg.create_object({"nameSingular": "pet", "namePlural": "pets"})
    person = reg.by_singular("person")
    reg.create_field({"objectMetadataId": pet.id, "type": "TEXT", "name": "chip", "isUnique": True})
    reg.create_field(
        {
            "objectMetadataId": pet.id,
            "type": "RELATION",
            "name": "owner",
            "relationCreationPayload": {
                "targetObjectMetadataId": person.id,
                "targetFieldLabel": "Pets",
                "type": "MANY_TO_ONE",
            },
        }
    )
    owner = engine.create_one("people", {"name": {"firstName": "Ada"}})
    rex = engine.create_one("pets", {"name": "Rex", "chip": "C1", "ownerId": owner["id"]})
    assert rex["ownerId"] == owner["id"]
    assert rex["createdBy"]["source"] == "API"
    assert fails(engine.create_one, "pets", {"chip": "C1"}).code == "DUPLICATE_ENTRY_DETECTED"
    assert fails(engine.create_one, "pets", {"ownerId": uid()}).status == 400
    same = engine.create_one("pets", {"chip": "C1", "name": "Rex II"}, upsert=True)
    assert same["id"] == rex["id"] and same["name"] == "Rex II"
    assert [p["id"] for p in engine.related("people", owner, "pets")] == [rex["id"]]
    assert engine.find_many("pets", filter={"chip": {"eq": "C1"}}).total_count == 1
    err = fails(engine.create_one, "pets", {"bogus": 1})
    assert err.message == 'Object pet doesn\'t have any "bogus" field.'


def test_new_field_appears_on_existing_records(engine):
    company = engine.create_one("companies", {"name": "Acme"})
    meta = engine.registry.by_singular("company")
    engine.registry.create_field(
        {
            "objectMetadataId": meta.id,
            "type": "BOOLEAN",
            "name": "partner",
            "isNullable": False,
            "defaultValue": False,
        }
    )
    engine.registry.create_field({"objectMetadataId": meta.id, "type": "CURRENCY", "name": "cap"})
    again = engine.get("companies", company["id"])
    assert again["partner"] is False
    assert again["cap"] == {"amountMicros": None, "currencyCode": None}


def test_required_custom_field_on_create(engine):
    meta = engine.registry.by_singular("company")
    engine.registry.create_field(
        {"objectMetadataId": meta.id, "type": "TEXT", "name": "ref", "isNullable": False}
    )
    err = fails(engine.create_one, "companies", {"name": "x"})
    assert err.message == "Field ref is not nullable and has no default value."


# ---------------------------------------------------------- update / delete
def test_update_one_merges_composites(engine):
    person = engine.create_one(
        "people", {"name": {"firstName": "Ada", "lastName": "L"}, "createdBy": {"source": "IMPORT"}}
    )
    updated = engine.update_one(
        "people", person["id"], {"name": {"lastName": "Lovelace"}, "createdBy": {"source": "EMAIL"}}
    )
    assert updated["name"] == {"firstName": "Ada", "lastName": "Lovelace"}
    assert updated["createdBy"]["source"] == "IMPORT"
    assert fails(engine.update_one, "people", uid(), {"city": "x"}).status == 404


def test_update_many_and_filter_required(engine):
    engine.create_many("people", [{"city": "A"}, {"city": "A"}, {"city": "B"}])
    rows = engine.update_many("people", {"jobTitle": "Dev"}, {"city": {"eq": "A"}})
    assert len(rows) == 2 and all(r["jobTitle"] == "Dev" for r in rows)
    assert fails(engine.update_many, "people", {"city": "x"}, None).message == "Filter is required"
    err = fails(engine.update_many, "people", {"city": "x"}, {"id": {"in": ["nope"]}})
    assert err.message == 'Value "nope" is not a valid UUID'


def test_delete_restore_destroy(engine):
    a, b = engine.create_many("people", [{"city": "A"}, {"city": "B"}])
    deleted = engine.delete_one("people", a["id"])
    assert deleted["deletedAt"] is not None
    assert engine.count("people") == 1
    assert fails(engine.get, "people", a["id"]).message == "Record not found"
    assert engine.get("people", a["id"], with_deleted=True)["deletedAt"] is not None
    assert fails(engine.delete_one, "people", a["id"]).status == 404
    restored = engine.restore_one("people", a["id"])
    assert restored["deletedAt"] is None
    assert len(engine.delete_many("people", {"city": {"in": ["A", "B"]}})) == 2
    assert len(engine.restore_many("people", {"city": {"eq": "B"}})) == 1
    gone = engine.destroy_many("people", {"city": {"in": ["A", "B"]}})
    assert len(gone) == 2
    assert engine.count("people", with_deleted=True) == 0
    assert fails(engine.destroy_one, "people", b["id"]).code == "RECORD_NOT_FOUND"


# ---------------------------------------------------------------------- filters
@pytest.fixture
def people(engine):
    rows = [
        {
            "name": {"firstName": "Ada", "lastName": "Lovelace"},
            "city": "London",
            "emails": {"primaryEmail": "ada@example.com", "additionalEmails": ["ada@work.io"]},
            "avatarUrl": "a",
        },
        {
            "name": {"firstName": "Alan", "lastName": "Turing"},
            "city": "Manchester",
            "emails": {"primaryEmail": "alan@example.org"},
        },
        {"name": {"firstName": "Grace", "lastName": "Hopper"}, "city": None},
        {"name": {"firstName": "Linus"}, "city": "helsinki"},
    ]
    created = engine.create_many("people", rows)
    return {r["name"]["firstName"]: r for r in created}


def names(page: Page) -> list[str]:
    return [r["name"]["firstName"] for r in page.records]


def find(engine: Engine, flt: Any, **kwargs: Any) -> list[str]:
    order = [{"name": {"firstName": "AscNullsFirst"}}]
    return names(engine.find_many("people", filter=flt, order_by=order, **kwargs))


def test_filter_operators(engine, people):
    assert find(engine, {"city": {"eq": "London"}}) == ["Ada"]
    assert find(engine, {"city": {"neq": "London"}}) == ["Alan", "Linus"]  # null never matches
    assert find(engine, {"city": {"in": ["London", "helsinki"]}}) == ["Ada", "Linus"]
    assert find(engine, {"city": {"is": "NULL"}}) == ["Grace"]
    assert find(engine, {"city": {"is": "NOT_NULL"}}) == ["Ada", "Alan", "Linus"]
    assert find(engine, {"city": {"like": "%an%"}}) == ["Alan"]
    assert find(engine, {"city": {"ilike": "%HEL%"}}) == ["Linus"]
    assert find(engine, {"city": {"like": "Lo_don"}}) == ["Ada"]
    assert find(engine, {"city": {"startsWith": "Man"}}) == ["Alan"]
    assert find(engine, {"city": {"endsWith": "don"}}) == ["Ada"]
    assert find(engine, {"name": {"lastName": {"eq": "Turing"}}}) == ["Alan"]
    assert find(engine, {"emails": {"primaryEmail": {"eq": "ada@example.com"}}}) == ["Ada"]
    assert find(engine, {"emails": {"primaryEmail": {"ilike": "%.ORG"}}}) == ["Alan"]
    assert find(engine, {"emails": {"additionalEmails": {"containsIlike": "WORK"}}}) == ["Ada"]
    assert find(engine, {"id": {"in": [people["Ada"]["id"], people["Linus"]["id"]]}}) == [
        "Ada",
        "Linus",
    ]
    assert find(engine, {"id": {"eq": people["Grace"]["id"]}}) == ["Grace"]


def test_filter_logic(engine, people):
    assert find(engine, {"or": [{"city": {"eq": "London"}}, {"city": {"is": "NULL"}}]}) == [
        "Ada",
        "Grace",
    ]
    assert find(engine, {"and": [{"city": {"ilike": "%n%"}}, {"avatarUrl": {"is": "NULL"}}]}) == [
        "Alan",
        "Linus",
    ]
    assert find(engine, {"not": {"city": {"eq": "London"}}}) == ["Alan", "Grace", "Linus"]
    assert find(engine, {"city": {"eq": "London"}, "avatarUrl": {"eq": "b"}}) == []


def test_filter_numbers_dates_and_arrays(engine):
    person = engine.registry.by_singular("person")
    engine.registry.create_field(
        {
            "objectMetadataId": person.id,
            "type": "MULTI_SELECT",
            "name": "tags",
            "options": [{"value": "A"}, {"value": "B"}, {"value": "C"}],
        }
    )
    engine.registry.create_field({"objectMetadataId": person.id, "type": "NUMBER", "name": "age"})
    engine.registry.create_field(
        {"objectMetadataId": person.id, "type": "DATE_TIME", "name": "seen"}
    )
    engine.create_many(
        "people",
        [
            {
                "name": {"firstName": "a"},
                "age": 10,
                "tags": ["A"],
                "seen": "2024-01-01T00:00:00.500Z",
            },
            {
                "name": {"firstName": "b"},
                "age": 20,
                "tags": ["B", "C"],
                "seen": "2024-01-01T00:00:00Z",
            },
            {"name": {"firstName": "c"}, "age": None, "tags": [], "seen": "2024-02-01"},
        ],
    )
    assert find(engine, {"age": {"gt": 10}}) == ["b"]
    assert find(engine, {"age": {"gte": 10}}) == ["a", "b"]
    assert find(engine, {"age": {"lt": 20}}) == ["a"]
    assert find(engine, {"age": {"lte": 20}}) == ["a", "b"]
    assert find(engine, {"tags": {"containsAny": ["C", "A"]}}) == ["a", "b"]
    assert find(engine, {"seen": {"gt": "2024-01-01T00:00:00Z"}}) == ["a", "c"]
    assert find(engine, {"seen": {"lt": "2024-01-15"}}) == ["a", "b"]
    assert find(engine, {"createdAt": {"gte": "2000-01-01"}}) == ["a", "b", "c"]


def test_filter_errors(engine, people):
    assert fails(engine.find_many, "people", filter={"bogus": {"eq": 1}}).status == 400
    assert fails(engine.find_many, "people", filter={"city": {"bogus": 1}}).status == 400
    assert fails(engine.find_many, "people", filter={"city": "London"}).status == 400


def test_soft_deleted_hidden_unless_filter_mentions_deleted_at(engine, people):
    engine.delete_one("people", people["Ada"]["id"])
    assert "Ada" not in find(engine, None)
    assert find(engine, {"deletedAt": {"is": "NOT_NULL"}}) == ["Ada"]
    assert "Ada" in find(
        engine, {"or": [{"deletedAt": {"is": "NULL"}}, {"deletedAt": {"is": "NOT_NULL"}}]}
    )
    assert engine.find_many("people").total_count == 3


# --------------------------------------------------------------------- ordering
def test_order_directions_and_nulls(engine, people):
    def order(direction: str) -> list[str]:
        return names(engine.find_many("people", order_by=[{"city": direction}]))

    assert order("AscNullsFirst") == ["Grace", "Ada", "Alan", "Linus"]
    assert order("AscNullsLast") == ["Ada", "Alan", "Linus", "Grace"]
    assert order("DescNullsFirst") == ["Grace", "Linus", "Alan", "Ada"]
    assert order("DescNullsLast") == ["Linus", "Alan", "Ada", "Grace"]
    by_last = engine.find_many("people", order_by=[{"name": {"lastName": "DescNullsLast"}}])
    assert names(by_last) == ["Alan", "Ada", "Grace", "Linus"]


def test_order_ties_broken_by_id(engine):
    rows = engine.create_many("companies", [{"name": "same"} for _ in range(5)])
    page = engine.find_many("companies", order_by=[{"name": "AscNullsFirst"}])
    assert [r["id"] for r in page.records] == sorted(r["id"] for r in rows)


def test_order_errors(engine):
    assert fails(engine.find_many, "people", order_by=[{"name": "AscNullsFirst"}]).status == 400
    assert fails(engine.find_many, "people", order_by=[{"city": "Up"}]).status == 400


# ------------------------------------------------------------------- pagination
def test_forward_and_backward_pages(engine):
    engine.create_many("companies", [{"name": f"c{i:02d}", "employees": i} for i in range(25)])
    order = [{"employees": "AscNullsFirst"}]
    seen: list[int] = []
    page = engine.find_many("companies", order_by=order, first=10)
    assert page.total_count == 25 and page.has_next_page and not page.has_previous_page
    while True:
        seen += [r["employees"] for r in page.records]
        assert page.cursors[0] == page.start_cursor and page.cursors[-1] == page.end_cursor
        if not page.has_next_page:
            break
        page = engine.find_many("companies", order_by=order, first=10, after=page.end_cursor)
    assert seen == list(range(25))
    back = engine.find_many("companies", order_by=order, last=10, before=page.start_cursor)
    assert [r["employees"] for r in back.records] == list(range(10, 20))
    assert back.has_previous_page and not back.has_next_page
    first = engine.find_many("companies", order_by=order, last=10, before=back.start_cursor)
    assert [r["employees"] for r in first.records] == list(range(10))
    assert not first.has_previous_page


def test_page_defaults_and_cursor_survives_deletion(engine):
    engine.create_many("companies", [{"name": str(i), "employees": i} for i in range(60)])
    engine.create_many("companies", [{"name": str(i), "employees": i} for i in range(60, 70)])
    order = [{"employees": "AscNullsFirst"}]
    page = engine.find_many("companies", order_by=order)
    assert len(page.records) == 60 and page.has_next_page
    assert engine.find_many("companies", first=0).records == []
    last = page.records[-1]
    engine.destroy_one("companies", last["id"])
    rest = engine.find_many("companies", order_by=order, after=page.end_cursor)
    assert [r["employees"] for r in rest.records] == list(range(60, 70))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first": 1, "last": 1}, "Cannot provide both first and last"),
        ({"before": "x", "after": "y"}, "Cannot provide both before and after"),
        ({"before": "x", "first": 1}, "Cannot provide both before and first"),
        ({"after": "x", "last": 1}, "Cannot provide both after and last"),
        ({"first": -1}, "First argument must be non-negative"),
        ({"last": -1}, "Last argument must be non-negative"),
    ],
)
def test_page_argument_errors(engine, kwargs, message):
    err = fails(engine.find_many, "people", **kwargs)
    assert err.message == message
    assert err.status == 400


def test_invalid_cursor(engine):
    err = fails(engine.find_many, "people", after="not a cursor!")
    assert "Invalid cursor" in err.message
    assert err.code == "INVALID_CURSOR"


def test_find_one_and_get(engine, people):
    assert engine.find_one("people", {"city": {"eq": "London"}})["id"] == people["Ada"]["id"]
    assert fails(engine.find_one, "people", {"city": {"eq": "Nowhere"}}).status == 404
    assert fails(engine.get, "people", uid()).graphql_code == "NOT_FOUND"


def test_one_to_many_related_is_capped(engine):
    company = engine.create_one("companies", {"name": "Big"})
    for _ in range(2):
        engine.create_many("people", [{"companyId": company["id"]} for _ in range(35)])
    assert len(engine.related("companies", company, "people")) == 60


# ------------------------------------------------------------------ persistence
def test_persistence_across_engines(tmp_path):
    path = tmp_path / "sandbox.db"
    first = Engine(standard_registry(sandbox_profile("1")), db_path=path, clock=Clock())
    pet = first.registry.create_object({"nameSingular": "pet", "namePlural": "pets"})
    first.registry.create_field(
        {"objectMetadataId": pet.id, "type": "TEXT", "name": "chip", "isUnique": True}
    )
    ada = first.create_one("people", {"emails": {"primaryEmail": "ada@example.com"}})
    gone = first.create_one("people", {"city": "gone"})
    first.create_one("pets", {"chip": "C1"})
    first.delete_one("people", ada["id"])
    first.destroy_one("people", gone["id"])
    first.close()

    second = Engine(standard_registry(sandbox_profile("1")), db_path=path, clock=Clock())
    assert second.registry.by_singular("pet") is not None
    assert second.count("people", with_deleted=True) == 1
    assert second.get("people", ada["id"], with_deleted=True)["deletedAt"] is not None
    assert second.count("workspaceMembers") == len(SEEDED_WORKSPACE_MEMBERS)
    assert fails(second.create_one, "pets", {"chip": "C1"}).code == "DUPLICATE_ENTRY_DETECTED"
    restored = second.create_one(
        "people", {"emails": {"primaryEmail": "ada@example.com"}}, upsert=True
    )
    assert restored["id"] == ada["id"] and restored["deletedAt"] is None
    second.close()

    third = Engine(standard_registry(sandbox_profile("1")), db_path=path)
    assert third.count("people") == 1
    assert third.count("pets") == 1
    third.close()


def test_persistence_with_given_registry(tmp_path):
    path = tmp_path / "s.db"
    engine = Engine(
        standard_registry(sandbox_profile("1").replace(target_model="morph")), db_path=path
    )
    task = engine.create_one("tasks", {"title": "t"})
    engine.create_one("taskTargets", {"taskId": task["id"]})
    engine.close()
    again = Engine(
        standard_registry(sandbox_profile("1").replace(target_model="morph")), db_path=path
    )
    assert again.count("taskTargets") == 1
    again.close()


# ------------------------------------------------------------------ concurrency
def test_thread_safety(engine):
    def work(n: int) -> None:
        for i in range(10):
            engine.create_many(
                "people",
                [{"emails": {"primaryEmail": f"t{n}-{i}-{j}@example.com"}} for j in range(5)],
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine.count("people") == 8 * 10 * 5
