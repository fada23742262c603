"""Sandbox metadata: standard objects, custom objects and fields, API shapes."""

from __future__ import annotations

import pytest

from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.metadata.model import (
    FieldMeta,
    ObjectMeta,
    RelationMeta,
)
from twenty_migrate.sandbox.metadata.ops import name_from_label
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.metadata.standard_objects import standard_registry
from twenty_migrate.sandbox.profiles import sandbox_profile


@pytest.fixture
def registry() -> Registry:
    return standard_registry(sandbox_profile("1"))


def rel(field: FieldMeta) -> RelationMeta:
    assert field.relation is not None
    return field.relation


def obj(registry: Registry, name: str) -> ObjectMeta:
    found = registry.by_singular(name)
    assert found is not None
    return found


def test_standard_objects_are_present(registry):
    names = {o.name_singular: o.name_plural for o in registry.objects()}
    assert names["company"] == "companies"
    assert names["person"] == "people"
    assert names["opportunity"] == "opportunities"
    for singular in ("task", "note", "taskTarget", "noteTarget", "workspaceMember", "attachment"):
        assert singular in names
    assert registry.by_plural("people") is registry.by_singular("person")
    person = obj(registry, "person")
    assert registry.by_id(person.id) is person


def test_every_object_has_system_fields(registry):
    for o in registry.objects():
        for name in ("id", "createdAt", "updatedAt", "deletedAt", "createdBy", "position"):
            assert name in o.fields, (o.name_singular, name)
    person = obj(registry, "person")
    assert person.fields["id"].default_value == "uuid"
    assert person.fields["createdAt"].default_value == "now"
    assert person.fields["createdBy"].type == "ACTOR"
    assert not person.fields["createdBy"].is_nullable
    assert person.fields["position"].type == "POSITION"
    assert person.fields["searchVector"].type == "TS_VECTOR"


def test_standard_business_fields(registry):
    company = obj(registry, "company")
    assert company.fields["domainName"].type == "LINKS"
    assert company.fields["domainName"].is_unique
    assert company.fields["idealCustomerProfile"].default_value is False
    assert not company.fields["idealCustomerProfile"].is_nullable
    assert company.fields["annualRecurringRevenue"].type == "CURRENCY"
    assert company.fields["address"].type == "ADDRESS"
    person = obj(registry, "person")
    assert person.fields["name"].type == "FULL_NAME"
    assert person.fields["emails"].is_unique
    assert person.fields["phones"].type == "PHONES"
    opportunity = obj(registry, "opportunity")
    stage = opportunity.fields["stage"]
    assert stage.default_value == "'NEW'"
    assert not stage.is_nullable
    assert stage.option_values() == ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]
    task = obj(registry, "task")
    assert task.label_identifier_field == "title"
    assert task.fields["status"].option_values() == ["TODO", "IN_PROGRESS", "DONE"]
    assert task.fields["status"].default_value == "'TODO'"
    assert task.fields["status"].is_nullable
    assert task.fields["bodyV2"].type == "RICH_TEXT_V2"


def test_unique_groups(registry):
    assert obj(registry, "person").unique_groups() == [("emails.primaryEmail",)]
    assert obj(registry, "company").unique_groups() == [("domainName.primaryLinkUrl",)]
    assert obj(registry, "opportunity").unique_groups() == []


def test_relations_have_both_sides(registry):
    person = obj(registry, "person")
    company = obj(registry, "company")
    m2o = person.fields["company"]
    assert rel(m2o).type == "MANY_TO_ONE"
    assert rel(m2o).join_column == "companyId"
    assert rel(m2o).target_object == "company"
    assert rel(m2o).target_field == "people"
    o2m = company.fields["people"]
    assert o2m.relation is not None
    assert o2m.relation.type == "ONE_TO_MANY"
    assert o2m.relation.join_column is None
    assert o2m.relation.target_field == "company"
    assert person.join_columns()["companyId"] is m2o
    assert set(obj(registry, "opportunity").join_columns()) == {
        "pointOfContactId",
        "companyId",
        "ownerId",
    }
    assert rel(obj(registry, "taskTarget").fields["task"]).on_delete == "CASCADE"


def test_targets_depend_on_era():
    old = standard_registry(sandbox_profile("1"))
    assert set(obj(old, "taskTarget").join_columns()) == {
        "taskId",
        "personId",
        "companyId",
        "opportunityId",
    }
    new = standard_registry(sandbox_profile("1").replace(target_model="morph"))
    target = obj(new, "noteTarget")
    assert set(target.join_columns()) == {
        "noteId",
        "targetPersonId",
        "targetCompanyId",
        "targetOpportunityId",
    }
    assert target.fields["targetPerson"].type == "MORPH_RELATION"
    assert rel(obj(new, "person").fields["noteTargets"]).target_field == "targetPerson"


def test_field_to_api_shape(registry):
    person = obj(registry, "person")
    data = person.fields["company"].to_api()
    assert data["type"] == "RELATION"
    assert data["name"] == "company"
    assert data["settings"] == {
        "relationType": "MANY_TO_ONE",
        "onDelete": "SET_NULL",
        "joinColumnName": "companyId",
    }
    company = obj(registry, "company")
    assert data["relation"] == {
        "type": "MANY_TO_ONE",
        "sourceObjectMetadata": {"id": person.id, "nameSingular": "person", "namePlural": "people"},
        "targetObjectMetadata": {
            "id": company.id,
            "nameSingular": "company",
            "namePlural": "companies",
        },
        "sourceFieldMetadata": {"id": person.fields["company"].id, "name": "company"},
        "targetFieldMetadata": {"id": company.fields["people"].id, "name": "people"},
    }
    stage = obj(registry, "opportunity").fields["stage"].to_api()
    for key in ("id", "isCustom", "isActive", "isSystem", "isNullable", "isUnique", "icon"):
        assert key in stage
    assert stage["defaultValue"] == "'NEW'"
    assert stage["options"][0]["value"] == "NEW"
    assert set(stage["options"][0]) == {"id", "value", "label", "position", "color"}
    assert stage["relation"] is None


def test_object_to_api_shape(registry):
    person = obj(registry, "person")
    data = person.to_api()
    assert data["nameSingular"] == "person"
    assert data["namePlural"] == "people"
    assert data["labelSingular"] == "Person"
    assert data["isCustom"] is False
    assert data["labelIdentifierFieldMetadataId"] == person.fields["name"].id
    assert [f["name"] for f in data["fields"]] == list(person.fields)
    # the API copy is detached from the registry
    data["fields"][0]["options"] = ["x"]
    assert person.fields["id"].options is None
    indexes = person.index_metadatas()
    assert indexes[0]["isUnique"] is True
    assert indexes[0]["indexFieldMetadatas"] == [
        {"fieldMetadataId": person.fields["emails"].id, "order": 0}
    ]


def test_resolve_plural_errors(registry):
    assert registry.resolve_plural("people").name_singular == "person"
    with pytest.raises(SandboxError) as info:
        registry.resolve_plural("persons")
    assert info.value.message == "object 'persons' not found. eg: companies"
    assert info.value.status == 400
    with pytest.raises(SandboxError) as info:
        registry.resolve_plural("person")
    assert "Did you mean 'people'?" in info.value.message
    assert registry.resolve("person").name_plural == "people"


def test_create_custom_object(registry):
    before = registry.version
    pet = registry.create_object(
        {"nameSingular": "pet", "namePlural": "pets", "labelSingular": "Pet", "labelPlural": "Pets"}
    )
    assert registry.version > before
    assert pet.is_custom
    assert registry.by_plural("pets") is pet
    for name in ("id", "createdAt", "updatedAt", "deletedAt", "createdBy", "position", "name"):
        assert name in pet.fields
    assert pet.fields["name"].type == "TEXT"
    assert pet.label_identifier_field == "name"
    assert pet.to_api()["isCustom"] is True


@pytest.mark.parametrize(
    "data",
    [
        {"nameSingular": "pet", "namePlural": "pet"},
        {"nameSingular": "Pet", "namePlural": "pets"},
        {"nameSingular": "person", "namePlural": "persons"},
        {"nameSingular": "human", "namePlural": "people"},
        {"namePlural": "pets"},
    ],
)
def test_create_object_rejects_bad_names(registry, data):
    with pytest.raises(SandboxError):
        registry.create_object(data)


def test_create_custom_fields(registry):
    person = obj(registry, "person")
    field = registry.create_field(
        {
            "objectMetadataId": person.id,
            "type": "SELECT",
            "name": "tier",
            "label": "Tier",
            "options": [{"value": "GOLD", "label": "Gold"}, {"value": "SILVER", "label": "Silver"}],
            "defaultValue": "'GOLD'",
        }
    )
    assert field.is_custom
    assert person.fields["tier"] is field
    assert field.option_values() == ["GOLD", "SILVER"]
    assert field.options is not None and field.options[0]["color"]
    assert registry.field_by_id(field.id) is field
    code = registry.create_field(
        {"objectMetadataId": person.id, "type": "TEXT", "name": "code", "isUnique": True}
    )
    assert code.label == "code"
    assert ("code",) in person.unique_groups()
    rating = registry.create_field(
        {"objectMetadataId": person.id, "type": "RATING", "name": "score"}
    )
    assert rating.option_values() == ["RATING_1", "RATING_2", "RATING_3", "RATING_4", "RATING_5"]


@pytest.mark.parametrize(
    "data",
    [
        {"type": "TEXT", "name": "jobTitle"},
        {"type": "TEXT", "name": "companyId"},
        {"type": "NOPE", "name": "thing"},
        {"type": "TS_VECTOR", "name": "thing"},
        {"type": "SELECT", "name": "thing"},
        {"type": "SELECT", "name": "thing", "options": [{"value": "lower"}]},
        {"type": "SELECT", "name": "thing", "options": [{"value": "A"}], "defaultValue": "'B'"},
        {"type": "TEXT", "name": "Bad Name"},
    ],
)
def test_create_field_rejects_bad_input(registry, data):
    person = obj(registry, "person")
    with pytest.raises(SandboxError):
        registry.create_field({"objectMetadataId": person.id, **data})


def test_create_field_unknown_object(registry):
    with pytest.raises(SandboxError):
        registry.create_field({"objectMetadataId": "nope", "type": "TEXT", "name": "x"})


def test_create_many_to_one_relation_creates_both_sides(registry):
    person = obj(registry, "person")
    pet = registry.create_object(
        {"nameSingular": "pet", "namePlural": "pets", "labelSingular": "Pet", "labelPlural": "Pets"}
    )
    owner = registry.create_field(
        {
            "objectMetadataId": pet.id,
            "type": "RELATION",
            "name": "owner",
            "label": "Owner",
            "relationCreationPayload": {
                "targetObjectMetadataId": person.id,
                "targetFieldLabel": "Pets",
                "targetFieldIcon": "IconDog",
                "type": "MANY_TO_ONE",
            },
        }
    )
    assert rel(owner).join_column == "ownerId"
    assert pet.join_columns()["ownerId"] is owner
    back = person.fields["pets"]
    assert rel(back).type == "ONE_TO_MANY"
    assert back.icon == "IconDog"
    api = owner.to_api()["relation"]
    assert api["targetFieldMetadata"] == {"id": back.id, "name": "pets"}
    assert back.to_api()["relation"]["targetFieldMetadata"] == {"id": owner.id, "name": "owner"}


def test_create_one_to_many_relation(registry):
    company = obj(registry, "company")
    pet = registry.create_object({"nameSingular": "pet", "namePlural": "pets"})
    field = registry.create_field(
        {
            "objectMetadataId": company.id,
            "type": "RELATION",
            "name": "mascots",
            "label": "Mascots",
            "relationCreationPayload": {
                "targetObjectMetadataId": pet.id,
                "targetFieldLabel": "Mascot Of",
                "type": "ONE_TO_MANY",
            },
        }
    )
    assert rel(field).type == "ONE_TO_MANY"
    assert rel(pet.fields["mascotOf"]).join_column == "mascotOfId"
    assert "mascotOfId" in pet.join_columns()


def test_unique_relation_becomes_join_column_group(registry):
    pet = registry.create_object({"nameSingular": "pet", "namePlural": "pets"})
    person = obj(registry, "person")
    registry.create_field(
        {
            "objectMetadataId": pet.id,
            "type": "RELATION",
            "name": "owner",
            "isUnique": True,
            "relationCreationPayload": {"targetObjectMetadataId": person.id, "type": "MANY_TO_ONE"},
        }
    )
    assert pet.fields["owner"].is_unique
    assert pet.unique_groups() == [("ownerId",)]


def test_listeners_and_replay(registry):
    seen: list[str] = []
    registry.listeners.append(lambda kind, payload: seen.append(kind))
    pet = registry.create_object({"nameSingular": "pet", "namePlural": "pets"})
    registry.create_field({"objectMetadataId": pet.id, "type": "NUMBER", "name": "legs"})
    assert seen == ["create_object", "create_field"]
    other = standard_registry(sandbox_profile("1"))
    other.replay("create_object", {"nameSingular": "pet", "namePlural": "pets"})
    other.replay("create_field", {"objectMetadataId": pet.id, "type": "NUMBER", "name": "legs"})
    replayed = other.by_singular("pet")
    assert replayed is not None and replayed.id == pet.id
    assert replayed.fields["legs"].id == pet.fields["legs"].id


def test_update_and_delete_custom_metadata(registry):
    pet = registry.create_object({"nameSingular": "pet", "namePlural": "pets"})
    legs = registry.create_field({"objectMetadataId": pet.id, "type": "NUMBER", "name": "legs"})
    registry.update_field(legs.id, {"label": "Leg count", "isActive": False})
    assert legs.label == "Leg count" and not legs.is_active
    registry.delete_field(legs.id)
    assert "legs" not in pet.fields
    with pytest.raises(SandboxError):
        registry.delete_field(obj(registry, "person").fields["jobTitle"].id)
    with pytest.raises(SandboxError):
        registry.delete_object(pet.id)  # still active
    registry.update_object(pet.id, {"isActive": False, "labelPlural": "Pets!"})
    assert pet.label_plural == "Pets!"
    registry.delete_object(pet.id)
    assert registry.by_singular("pet") is None


def test_name_from_label():
    assert name_from_label("Main Contacts") == "mainContacts"
    assert name_from_label("pets") == "pets"
