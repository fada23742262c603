"""The 2.43 ``/metadata`` schema, read from Twenty's own SDK types.

``metadata_2_43.graphql`` is the part of Twenty's metadata schema the sandbox serves, written
by ``tools/sdk_metadata_sdl.py`` from ``dist/metadata/generated/schema.d.ts`` of the npm
package ``twenty-client-sdk`` 2.43.0 (MIT, (c) Twenty.com PBC). Compared with the 1.x shape:
no ``isCustom`` on ``Object`` and ``Field``, no ``totalCount`` on connections, ``FieldEdge``
edges, ``IndexField.order: Float!``, no ``Index.indexFieldMetadatas``, and the fields of
Twenty applications (``universalIdentifier``, ``applicationId``, ``isUIEditable``...).
"""

from __future__ import annotations

import functools
from importlib import resources

from graphql import GraphQLScalarType, GraphQLSchema, build_schema

from twenty_migrate.sandbox.graphql import types as gt
from twenty_migrate.sandbox.graphql.metadata_nodes import bind_resolvers

SDL_RESOURCE = "metadata_2_43.graphql"

# The SDL's scalars behave as the sandbox's own (UUID checks, JSON values, cursors).
_SCALARS: dict[str, GraphQLScalarType] = {
    "UUID": gt.UUIDScalar,
    "DateTime": gt.DateTimeScalar,
    "JSON": gt.JSONScalar,
    "ConnectionCursor": gt.ConnectionCursorScalar,
}


def metadata_sdl() -> str:
    """The SDL text of the 2.43 metadata schema (package data)."""
    return resources.files(__package__).joinpath(SDL_RESOURCE).read_text(encoding="utf-8")


@functools.cache
def build_sdk_metadata_schema() -> GraphQLSchema:
    """The 2.43 schema with the sandbox's resolvers and scalars (built once, then shared)."""
    schema = build_schema(metadata_sdl())
    for name, behaviour in _SCALARS.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalar.serialize = behaviour.serialize  # type: ignore[method-assign]
        scalar.parse_value = behaviour.parse_value  # type: ignore[method-assign]
        scalar.parse_literal = behaviour.parse_literal  # type: ignore[method-assign]
    return bind_resolvers(schema)
