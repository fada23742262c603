"""The sandbox's workspace metadata registry: objects and fields, looked up and changed.

Changes go through :mod:`~twenty_migrate.sandbox.metadata.ops`; the registry holds the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

from twenty_migrate.sandbox.errors import bad_request
from twenty_migrate.sandbox.metadata import ops as metadata_ops
from twenty_migrate.sandbox.metadata.model import (
    CHANGED_AT_KEY,
    JSON,
    UNKNOWN_OBJECT_HINT_REPLACES_EXAMPLE,
    FieldMeta,
    Listener,
    ObjectMeta,
    utc_now,
)
from twenty_migrate.sandbox.profiles import DEFAULT_PROFILE, TwentyProfile


class Registry:
    """All objects of one workspace, with a version bumped on every change.

    ``lock`` is shared with the engine so that metadata changes and record writes never
    interleave.
    """

    def __init__(self, profile: TwentyProfile | None = None) -> None:
        self.profile = profile if profile is not None else DEFAULT_PROFILE
        self.version = 0
        self.clock: Callable[[], datetime] = utc_now
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self._by_singular: dict[str, ObjectMeta] = {}
        self._by_plural: dict[str, ObjectMeta] = {}
        self._by_id: dict[str, ObjectMeta] = {}
        self._fields_by_id: dict[str, FieldMeta] = {}

    # ---------------------------------------------------------------- lookups
    def objects(self) -> list[ObjectMeta]:
        """Every object, in creation order."""
        return list(self._by_singular.values())

    def by_singular(self, name: str) -> ObjectMeta | None:
        """The object whose ``nameSingular`` is ``name``."""
        return self._by_singular.get(name)

    def by_plural(self, name: str) -> ObjectMeta | None:
        """The object whose ``namePlural`` is ``name``."""
        return self._by_plural.get(name)

    def by_id(self, object_id: str) -> ObjectMeta | None:
        """The object with this metadata id."""
        return self._by_id.get(object_id)

    def field_by_id(self, field_id: str) -> FieldMeta | None:
        """The field with this metadata id."""
        return self._fields_by_id.get(field_id)

    def fields(self) -> list[FieldMeta]:
        """Every field of every object."""
        return [f for obj in self._by_singular.values() for f in obj.fields.values()]

    def resolve(self, name: str) -> ObjectMeta:
        """The object named ``name`` (singular or plural), else a 400 like REST gives."""
        obj = self._by_plural.get(name) or self._by_singular.get(name)
        if obj is None:
            return self.resolve_plural(name)
        return obj

    def resolve_plural(self, name: str) -> ObjectMeta:
        """The object whose plural is ``name``; otherwise Twenty's REST 400 error."""
        obj = self._by_plural.get(name)
        if obj is not None:
            return obj
        singular = self._by_singular.get(name)
        if singular is not None:
            hint = f"Did you mean '{singular.name_plural}'?"
            if not UNKNOWN_OBJECT_HINT_REPLACES_EXAMPLE:
                hint = f"eg: companies {hint}"
        else:
            hint = "eg: companies"
        raise bad_request(f"object '{name}' not found. {hint}", code="BAD_REQUEST")

    # ---------------------------------------------------------------- changes
    def change_time(self, data: JSON) -> str:
        """The time of a change: the recorded one when replayed, else now (ISO, UTC)."""
        recorded = data.get(CHANGED_AT_KEY)
        if isinstance(recorded, str) and recorded:
            return recorded
        return (
            self.clock()
            .astimezone(timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    def _changed(self, kind: str, payload: JSON) -> None:
        self.version += 1
        for listener in list(self.listeners):
            listener(kind, payload)

    def add_object(self, obj: ObjectMeta) -> ObjectMeta:
        """Register a fully built object (used for standard objects)."""
        with self.lock:
            self._by_singular[obj.name_singular] = obj
            self._by_plural[obj.name_plural] = obj
            self._by_id[obj.id] = obj
            for f in obj.fields.values():
                self._attach(obj, f)
            self.version += 1
            return obj

    def _attach(self, obj: ObjectMeta, f: FieldMeta) -> None:
        f.object_id = obj.id
        f._registry = self
        obj.fields[f.name] = f
        self._fields_by_id[f.id] = f

    def create_object(self, data: JSON) -> ObjectMeta:
        """Create a custom object from Twenty's ``CreateObjectInput``.

        Args:
            data: ``nameSingular``, ``namePlural``, ``labelSingular``, ``labelPlural`` and
                optionally ``description``, ``icon``.

        Returns:
            The new object, with the system fields and a ``name`` TEXT label identifier.

        Raises:
            SandboxError: on a missing, badly formed or already used name.
        """
        with self.lock:
            return metadata_ops.create_object(self, data)

    def create_field(self, data: JSON) -> FieldMeta:
        """Create a field from Twenty's ``CreateFieldInput``.

        A RELATION field needs ``relationCreationPayload`` ``{targetObjectMetadataId,
        targetFieldLabel, targetFieldIcon, type}``; the other side is created too, and the
        MANY_TO_ONE side gets the join column ``{name}Id``.

        Returns:
            The new field (the side on ``objectMetadataId``).

        Raises:
            SandboxError: unknown object, bad name or type, name already used, bad options.
        """
        with self.lock:
            return metadata_ops.create_field(self, data)

    def update_field(self, field_id: str, data: JSON) -> FieldMeta:
        """Update a field's label, description, icon, isActive, options or defaultValue."""
        with self.lock:
            return metadata_ops.update_field(self, field_id, data)

    def update_object(self, object_id: str, data: JSON) -> ObjectMeta:
        """Update an object's labels, description, icon or isActive."""
        with self.lock:
            return metadata_ops.update_object(self, object_id, data)

    def delete_field(self, field_id: str) -> FieldMeta:
        """Delete a custom field (and the other side of a relation)."""
        with self.lock:
            return metadata_ops.delete_field(self, field_id)

    def delete_object(self, object_id: str) -> ObjectMeta:
        """Delete a custom object; it must be deactivated first, as in Twenty."""
        with self.lock:
            return metadata_ops.delete_object(self, object_id)

    def replay(self, kind: str, payload: JSON) -> None:
        """Apply a change recorded by a listener (used to reload custom metadata)."""
        with self.lock:
            metadata_ops.replay(self, kind, payload)
