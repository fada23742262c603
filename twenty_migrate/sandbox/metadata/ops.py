"""Changes to workspace metadata: create, update and delete custom objects and fields.

:class:`~twenty_migrate.sandbox.metadata.model.Registry` delegates its mutating methods here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from twenty_migrate.sandbox.errors import SandboxError, bad_request
from twenty_migrate.sandbox.metadata.model import (
    CHANGED_AT_KEY,
    JSON,
    OPTION_COLORS,
    RATING_VALUES,
    RELATION_TYPES,
    RESERVED_NAMES,
    FieldMeta,
    ObjectMeta,
    RelationMeta,
    copy_json,
    creatable_field_types,
    metadata_id,
    system_fields,
)
from twenty_migrate.sandbox.metadata.names import name_from_label

if TYPE_CHECKING:
    from twenty_migrate.sandbox.metadata.registry import Registry

_NAME_RE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_OPTION_VALUE_RE = re.compile(r"^[A-Z0-9_]+$")


def create_object(reg: Registry, data: JSON) -> ObjectMeta:
    """Create a custom object from Twenty's ``CreateObjectInput``.

    Args:
        data: ``nameSingular``, ``namePlural``, ``labelSingular``, ``labelPlural`` and
            optionally ``description``, ``icon``.

    Returns:
        The new object, with the system fields and a ``name`` TEXT label identifier.

    Raises:
        SandboxError: on a missing, badly formed or already used name.
    """
    with reg.lock:
        singular = _required_name(data, "nameSingular")
        plural = _required_name(data, "namePlural")
        if singular == plural:
            raise _metadata_error("The singular and plural names cannot be the same for an object")
        for name in (singular, plural):
            if name in reg._by_singular or name in reg._by_plural:
                raise _metadata_error(
                    f"Object already exists: {name}", code="OBJECT_ALREADY_EXISTS"
                )
        label_singular = str(data.get("labelSingular") or singular)
        label_plural = str(data.get("labelPlural") or plural)
        obj = ObjectMeta(
            id=metadata_id(singular),
            name_singular=singular,
            name_plural=plural,
            label_singular=label_singular,
            label_plural=label_plural,
            is_custom=True,
            description=_opt_str(data.get("description")),
            icon=_opt_str(data.get("icon")) or "IconListNumbers",
            label_identifier_field="name",
        )
        for f in system_fields(singular):
            obj.fields[f.name] = f
        obj.fields["name"] = FieldMeta(
            id=metadata_id(singular, "name"),
            name="name",
            label="Name",
            type="TEXT",
            icon="IconAbc",
            default_value="'Untitled'",
            is_nullable=True,
        )
        reg._by_singular[singular] = obj
        reg._by_plural[plural] = obj
        reg._by_id[obj.id] = obj
        for f in obj.fields.values():
            reg._attach(obj, f)
        stamp = reg.change_time(data)
        _stamp(stamp, obj, *obj.fields.values())
        reg._changed("create_object", {**data, CHANGED_AT_KEY: stamp})
        return obj


def create_field(reg: Registry, data: JSON) -> FieldMeta:
    """Create a field from Twenty's ``CreateFieldInput``.

    A RELATION field needs ``relationCreationPayload`` ``{targetObjectMetadataId,
    targetFieldLabel, targetFieldIcon, type}``; the other side is created too, and the
    MANY_TO_ONE side gets the join column ``{name}Id``.

    Returns:
        The new field (the side on ``objectMetadataId``).

    Raises:
        SandboxError: unknown object, bad name or type, name already used, bad options.
    """
    with reg.lock:
        obj = reg._by_id.get(str(data.get("objectMetadataId") or ""))
        if obj is None:
            raise _metadata_error(
                "Object metadata does not exist", code="OBJECT_METADATA_NOT_FOUND"
            )
        name = _required_name(data, "name")
        ftype = str(data.get("type") or "")
        if ftype not in creatable_field_types(reg.profile):
            raise _metadata_error(f"Invalid field type: {ftype}")
        _check_free_name(reg, obj, name)
        label = str(data.get("label") or name)
        if ftype in RELATION_TYPES:
            new = _create_relation(reg, obj, name, label, data)
        else:
            new = FieldMeta(
                id=metadata_id(obj.name_singular, name),
                name=name,
                label=label,
                type=ftype,
                is_nullable=bool(data.get("isNullable", True)),
                is_unique=bool(data.get("isUnique", False)),
                is_custom=True,
                default_value=copy_json(data.get("defaultValue")),
                options=_options(ftype, data.get("options")),
                settings=copy_json(data.get("settings")) or _default_settings(ftype),
                description=_opt_str(data.get("description")),
                icon=_opt_str(data.get("icon")),
            )
            _check_default(new)
            reg._attach(obj, new)
        stamp = reg.change_time(data)
        _stamp(stamp, new)
        if new.relation is not None:
            target = reg._by_singular.get(new.relation.target_object)
            other = target.fields.get(new.relation.target_field) if target else None
            if other is not None:
                _stamp(stamp, other)
        reg._changed("create_field", {**data, CHANGED_AT_KEY: stamp})
        return new


def _stamp(stamp: str, *items: ObjectMeta | FieldMeta) -> None:
    """Mark new metadata as created (and last updated) at ``stamp``."""
    for item in items:
        item.created_at = item.updated_at = stamp


def _check_free_name(reg: Registry, obj: ObjectMeta, name: str) -> None:
    if name in obj.fields or name in obj.join_columns() or name in RESERVED_NAMES:
        raise _metadata_error(f'Name "{name}" is not available', code="FIELD_ALREADY_EXISTS")


def _create_relation(
    reg: Registry, obj: ObjectMeta, name: str, label: str, data: JSON
) -> FieldMeta:
    payload = data.get("relationCreationPayload")
    if not isinstance(payload, dict):
        raise _metadata_error("Relation creation payload is not defined")
    target = reg._by_id.get(str(payload.get("targetObjectMetadataId") or ""))
    if target is None:
        raise _metadata_error("Object metadata does not exist", code="OBJECT_METADATA_NOT_FOUND")
    rel_type = str(payload.get("type") or "MANY_TO_ONE")
    if rel_type not in ("MANY_TO_ONE", "ONE_TO_MANY"):
        raise _metadata_error(f"Invalid relation type: {rel_type}")
    target_label = str(payload.get("targetFieldLabel") or obj.label_plural)
    target_name = name_from_label(target_label)
    if rel_type == "MANY_TO_ONE" and f"{name}Id" in obj.fields:
        raise _metadata_error(f'Name "{name}Id" is not available', code="FIELD_ALREADY_EXISTS")
    _check_free_name(reg, target, target_name)
    if target is obj and target_name == name:
        raise _metadata_error(f'Name "{name}" is not available', code="FIELD_ALREADY_EXISTS")
    settings = data.get("settings")
    on_delete = "SET_NULL"
    if isinstance(settings, dict) and settings.get("onDelete"):
        on_delete = str(settings["onDelete"])
    if rel_type == "MANY_TO_ONE":
        here, there = relation_pair(
            obj, name, label, target, target_name, target_label, on_delete, custom=True
        )
    else:
        there, here = relation_pair(
            target, target_name, target_label, obj, name, label, on_delete, custom=True
        )
    here.description = _opt_str(data.get("description"))
    if here.is_many_to_one:
        # A unique MANY_TO_ONE relation is a unique index on its join column.
        here.is_unique = bool(data.get("isUnique", False))
    here.icon = _opt_str(data.get("icon")) or here.icon
    there.icon = _opt_str(payload.get("targetFieldIcon")) or there.icon
    reg._attach(obj, here)
    reg._attach(target, there)
    return here


def update_field(reg: Registry, field_id: str, data: JSON) -> FieldMeta:
    """Update a field's label, description, icon, isActive, options or defaultValue."""
    with reg.lock:
        f = reg._fields_by_id.get(field_id)
        if f is None:
            raise _metadata_error("Field does not exist", code="FIELD_METADATA_NOT_FOUND")
        if "label" in data and data["label"]:
            f.label = str(data["label"])
        if "description" in data:
            f.description = _opt_str(data["description"])
        if "icon" in data:
            f.icon = _opt_str(data["icon"])
        if "isActive" in data:
            f.is_active = bool(data["isActive"])
        if "options" in data and f.type in ("SELECT", "MULTI_SELECT", "RATING"):
            f.options = _options(f.type, data["options"])
        if "defaultValue" in data:
            f.default_value = copy_json(data["defaultValue"])
        if "isNullable" in data and f.is_custom:
            f.is_nullable = bool(data["isNullable"])
        f.updated_at = reg.change_time(data)
        reg._changed("update_field", {"id": field_id, **data, CHANGED_AT_KEY: f.updated_at})
        return f


def update_object(reg: Registry, object_id: str, data: JSON) -> ObjectMeta:
    """Update an object's labels, description, icon or isActive."""
    with reg.lock:
        obj = reg._by_id.get(object_id)
        if obj is None:
            raise _metadata_error("Object does not exist", code="OBJECT_METADATA_NOT_FOUND")
        for key, attr in (("labelSingular", "label_singular"), ("labelPlural", "label_plural")):
            if data.get(key):
                setattr(obj, attr, str(data[key]))
        if "description" in data:
            obj.description = _opt_str(data["description"])
        if "icon" in data:
            obj.icon = _opt_str(data["icon"])
        if "isActive" in data:
            obj.is_active = bool(data["isActive"])
        obj.updated_at = reg.change_time(data)
        reg._changed("update_object", {"id": object_id, **data, CHANGED_AT_KEY: obj.updated_at})
        return obj


def delete_field(reg: Registry, field_id: str) -> FieldMeta:
    """Delete a custom field (and the other side of a relation)."""
    with reg.lock:
        f = reg._fields_by_id.get(field_id)
        if f is None:
            raise _metadata_error("Field does not exist", code="FIELD_METADATA_NOT_FOUND")
        if not f.is_custom:
            raise _metadata_error("Standard Fields can't be deleted")
        _drop_field(reg, f)
        if f.relation is not None:
            target = reg._by_singular.get(f.relation.target_object)
            other = target.fields.get(f.relation.target_field) if target else None
            if other is not None:
                _drop_field(reg, other)
        reg._changed("delete_field", {"id": field_id})
        return f


def _drop_field(reg: Registry, f: FieldMeta) -> None:
    obj = reg._by_id.get(f.object_id)
    if obj is not None:
        obj.fields.pop(f.name, None)
    reg._fields_by_id.pop(f.id, None)


def delete_object(reg: Registry, object_id: str) -> ObjectMeta:
    """Delete a custom object; it must be deactivated first, as in Twenty."""
    with reg.lock:
        obj = reg._by_id.get(object_id)
        if obj is None:
            raise _metadata_error("Object does not exist", code="OBJECT_METADATA_NOT_FOUND")
        if not obj.is_custom:
            raise _metadata_error("Standard Objects can't be deleted")
        if obj.is_active:
            raise _metadata_error("Object must be deactivated before being deleted")
        for f in list(obj.fields.values()):
            if f.relation is not None:
                target = reg._by_singular.get(f.relation.target_object)
                if target is not None and target is not obj:
                    other = target.fields.get(f.relation.target_field)
                    if other is not None:
                        _drop_field(reg, other)
            reg._fields_by_id.pop(f.id, None)
        del reg._by_singular[obj.name_singular]
        del reg._by_plural[obj.name_plural]
        del reg._by_id[obj.id]
        reg._changed("delete_object", {"id": object_id})
        return obj


def replay(reg: Registry, kind: str, payload: JSON) -> None:
    """Apply a change recorded by a listener (used to reload custom metadata)."""
    data = dict(payload)
    if kind == "create_object":
        reg.create_object(data)
    elif kind == "create_field":
        reg.create_field(data)
    elif kind == "update_field":
        reg.update_field(str(data.pop("id")), data)
    elif kind == "update_object":
        reg.update_object(str(data.pop("id")), data)
    elif kind == "delete_field":
        reg.delete_field(str(data["id"]))
    elif kind == "delete_object":
        reg.delete_object(str(data["id"]))


def _metadata_error(message: str, code: str = "INVALID_FIELD_INPUT") -> SandboxError:
    return bad_request(message, code=code)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _required_name(data: JSON, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _metadata_error(f"{key} is required")
    if not _NAME_RE.match(value):
        raise _metadata_error(f"{value} should be in camelCase")
    if len(value) > 63:
        raise _metadata_error(f"{value} exceeds 63 characters")
    return value


def _options(ftype: str, raw: Any) -> list[JSON] | None:
    if ftype == "RATING" and not raw:
        raw = [{"value": v, "label": str(i + 1)} for i, v in enumerate(RATING_VALUES)]
    if ftype not in ("SELECT", "MULTI_SELECT", "RATING"):
        return None
    if not isinstance(raw, list) or not raw:
        raise _metadata_error("Options are required for enum fields")
    options: list[JSON] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise _metadata_error("Option value is required")
        value = item["value"]
        if not _OPTION_VALUE_RE.match(value):
            raise _metadata_error(f'Value "{value}" must be in UPPER_CASE and follow snake_case')
        if value in seen:
            raise _metadata_error("Duplicated option value")
        seen.add(value)
        options.append(
            {
                "id": str(item.get("id") or metadata_id("option", value, str(position))),
                "value": value,
                "label": str(item.get("label") or value),
                "position": item.get("position", position),
                "color": item.get("color") or OPTION_COLORS[position % len(OPTION_COLORS)],
            }
        )
    return options


def _default_settings(ftype: str) -> JSON | None:
    if ftype in ("EMAILS", "LINKS", "PHONES"):
        return None
    if ftype == "NUMBER":
        return {"type": "number", "decimals": 0}
    if ftype == "DATE_TIME":
        return {"displayFormat": "RELATIVE"}
    return None


def _check_default(f: FieldMeta) -> None:
    """Reject a defaultValue that is not one of the field's options."""
    default = f.default_value
    if default is None or f.type not in ("SELECT", "RATING"):
        return
    if not isinstance(default, str) or default.strip("'") not in f.option_values():
        raise _metadata_error(f"Default value {default} must be one of the option values")


def relation_pair(
    many: ObjectMeta,
    many_name: str,
    many_label: str,
    one: ObjectMeta,
    one_name: str,
    one_label: str,
    on_delete: str,
    *,
    custom: bool,
    morph: bool = False,
) -> tuple[FieldMeta, FieldMeta]:
    """The MANY_TO_ONE field on ``many`` and the ONE_TO_MANY field on ``one``."""
    join = f"{many_name}Id"
    m2o = FieldMeta(
        id=metadata_id(many.name_singular, many_name),
        name=many_name,
        label=many_label,
        type="MORPH_RELATION" if morph else "RELATION",
        is_custom=custom,
        icon="IconLink",
        settings={"relationType": "MANY_TO_ONE", "onDelete": on_delete, "joinColumnName": join},
        relation=RelationMeta("MANY_TO_ONE", one.name_singular, one_name, join, on_delete),
    )
    o2m = FieldMeta(
        id=metadata_id(one.name_singular, one_name),
        name=one_name,
        label=one_label,
        type="RELATION",
        is_custom=custom,
        icon="IconLink",
        settings={"relationType": "ONE_TO_MANY"},
        relation=RelationMeta("ONE_TO_MANY", many.name_singular, many_name, None, on_delete),
    )
    return m2o, o2m
