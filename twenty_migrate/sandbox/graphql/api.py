"""The GraphQL front-end of the sandbox: core ``/graphql`` and ``/metadata``.

:class:`GraphQLAPI` parses (with an LRU cache keyed on the query text), applies Twenty's
query-complexity checks at parse time, validates (cached per schema version) and executes
with graphql-core. Errors come back in Twenty's shapes:

* syntax errors: ``extensions.code = "GRAPHQL_PARSE_FAILED"``;
* validation errors: ``"GRAPHQL_VALIDATION_FAILED"``;
* complexity errors (duplicate root resolver, too many root resolvers or fields):
  ``"BAD_USER_INPUT"`` with a ``userFriendlyMessage``;
* engine errors (:class:`SandboxError`): ``extensions`` from
  :meth:`SandboxError.graphql_extensions`, with ``path`` and ``data.<field> = null``;
* anything unexpected: ``"Unexpected error."`` / ``"INTERNAL_SERVER_ERROR"``.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    execute,
    is_leaf_type,
    located_error,
    parse,
    validate,
)
from graphql.pyutils import Path

from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.graphql.metadata_schema import (
    MetadataContext,
    build_metadata_schema,
    with_graphql_js_names,
)
from twenty_migrate.sandbox.graphql.resolvers import CoreContext
from twenty_migrate.sandbox.graphql.schema import build_core_schema

if TYPE_CHECKING:
    from twenty_migrate.sandbox.engine.store import Engine

# [version-dependent] graphql-core 3.2.10+ passes the field's path to handle_field_error.
HANDLE_FIELD_ERROR_TAKES_PATH = (
    "path" in inspect.signature(ExecutionContext.handle_field_error).parameters
)

JSON = dict[str, Any]

# Twenty's GRAPHQL_MAX_FIELDS / GRAPHQL_MAX_ROOT_RESOLVERS on /graphql (§6.4).
CORE_MAX_FIELDS = 2000
CORE_MAX_ROOT_RESOLVERS = 20
# The /metadata plugin: at most 10 root resolvers, nesting depth at most 10 (§1.2).
METADATA_MAX_ROOT_RESOLVERS = 10
METADATA_MAX_NESTED_FIELDS = 10
DOCUMENT_CACHE_SIZE = 512
SCHEMA_CACHE_SIZE = 4

UNEXPECTED_ERROR_MESSAGE = "Unexpected error."
# [inferred] Code of errors raised by graphql-core during execution setup (variable
# coercion, operation selection): Apollo-style BAD_USER_INPUT.
EXECUTION_SETUP_ERROR_CODE = "BAD_USER_INPUT"

DUPLICATE_ROOT_RESOLVER_FRIENDLY = (
    "Duplicate root resolver found. Each root resolver can only be called once per document."
)
TOO_MANY_FIELDS_FRIENDLY = (
    "The request is too complex to process. Please try reducing the amount of requested fields."
)
TOO_MANY_ROOT_RESOLVERS_FRIENDLY = (
    "The request is too complex to process. "
    "Please try reducing the amount of requested root resolvers."
)


@dataclass(frozen=True)
class ComplexityLimits:
    """Limits of Twenty's ``useValidateGraphqlQueryComplexity`` plugin for one endpoint."""

    max_fields: int | None = None
    max_root_resolvers: int | None = None
    max_nested_fields: int | None = None
    check_duplicate_root_resolvers: bool = True


CORE_LIMITS = ComplexityLimits(
    max_fields=CORE_MAX_FIELDS, max_root_resolvers=CORE_MAX_ROOT_RESOLVERS
)
METADATA_LIMITS = ComplexityLimits(
    max_root_resolvers=METADATA_MAX_ROOT_RESOLVERS, max_nested_fields=METADATA_MAX_NESTED_FIELDS
)


# ---------------------------------------------------------------- complexity


@dataclass
class _Analysis:
    fields: int = 0
    depth: int = 0
    root_names: list[str] = field(default_factory=list)


def _analyze(
    selections: Sequence[SelectionNode],
    fragments: dict[str, FragmentDefinitionNode],
    depth: int,
    visiting: frozenset[str] = frozenset(),
) -> _Analysis:
    """Fields, maximum depth and root field names of a selection set (Twenty's algorithm)."""
    result = _Analysis(depth=depth)
    for selection in selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            result.fields += 1
            result.depth = max(result.depth, depth + 1)
            if depth == 0:
                result.root_names.append(name)
            if selection.selection_set is not None:
                nested = _analyze(
                    selection.selection_set.selections, fragments, depth + 1, visiting
                )
                result.fields += nested.fields
                result.depth = max(result.depth, nested.depth)
        elif isinstance(selection, InlineFragmentNode):
            nested = _analyze(selection.selection_set.selections, fragments, depth, visiting)
            result.fields += nested.fields
            result.depth = max(result.depth, nested.depth)
            result.root_names += nested.root_names
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue  # unknown or cyclic: left to validation
            nested = _analyze(fragment.selection_set.selections, fragments, 0, visiting | {name})
            result.fields += nested.fields
            result.depth = max(result.depth, depth + nested.depth)
            if depth == 0:
                result.root_names += nested.root_names
    return result


def check_complexity(document: DocumentNode, limits: ComplexityLimits) -> GraphQLError | None:
    """The error Twenty's complexity plugin raises for ``document``, or None."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fields = depth = roots = 0
    seen: set[str] = set()
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        analysis = _analyze(definition.selection_set.selections, fragments, 0)
        fields += analysis.fields
        depth = max(depth, analysis.depth)
        for name in analysis.root_names:
            roots += 1
            if limits.check_duplicate_root_resolvers and name in seen:
                return _user_error(
                    f'Duplicate root resolver: "{name}"', DUPLICATE_ROOT_RESOLVER_FRIENDLY
                )
            seen.add(name)
    if limits.max_nested_fields is not None and depth > limits.max_nested_fields:
        return _user_error(
            f"Query too complex - Too many nested fields requested: {depth} - "
            f"Maximum allowed nested fields: {limits.max_nested_fields}"
        )
    if limits.max_fields is not None and fields > limits.max_fields:
        return _user_error(
            f"Query too complex - Too many fields requested: {fields} - "
            f"Maximum allowed fields: {limits.max_fields}",
            TOO_MANY_FIELDS_FRIENDLY,
        )
    if limits.max_root_resolvers is not None and roots > limits.max_root_resolvers:
        return _user_error(
            f"Query too complex - Too many root resolvers requested: {roots} - "
            f"Maximum allowed root resolvers: {limits.max_root_resolvers}",
            TOO_MANY_ROOT_RESOLVERS_FRIENDLY,
        )
    return None


def _user_error(message: str, friendly: str | None = None) -> GraphQLError:
    return GraphQLError(
        message,
        extensions={"code": "BAD_USER_INPUT", "userFriendlyMessage": friendly or message},
    )


# ---------------------------------------------------------------- errors


def format_error(error: GraphQLError) -> JSON:
    """One error as Twenty answers it (message, locations, path, extensions)."""
    original = error.original_error
    if isinstance(original, SandboxError):
        message = original.message
        extensions = original.graphql_extensions()
    elif error.path is not None and original is not None and not isinstance(original, GraphQLError):
        # A bug in a resolver: Twenty masks it.
        message = UNEXPECTED_ERROR_MESSAGE
        extensions = {"code": "INTERNAL_SERVER_ERROR", "userFriendlyMessage": message}
    else:
        message = error.message
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            path_error = error.path is not None
            extensions["code"] = (
                "INTERNAL_SERVER_ERROR" if path_error else (EXECUTION_SETUP_ERROR_CODE)
            )
    formatted: JSON = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = list(error.path)
    formatted["extensions"] = extensions
    return formatted


def _errors_body(errors: Sequence[GraphQLError], code: str | None = None) -> JSON:
    formatted = []
    for error in errors:
        if code is not None and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code}
        formatted.append(format_error(error))
    return {"errors": formatted}


def unexpected_error_body() -> JSON:
    """The answer when the front-end itself fails."""
    return {
        "errors": [
            {
                "message": UNEXPECTED_ERROR_MESSAGE,
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "userFriendlyMessage": UNEXPECTED_ERROR_MESSAGE,
                },
            }
        ]
    }


# ---------------------------------------------------------------- execution


class FastExecutionContext(ExecutionContext):
    """graphql-core execution with a shortcut for fields read from plain dicts.

    Records are plain dicts and most of their fields have no resolver, so a scalar or
    nested object is read with ``dict.get`` without building a ``GraphQLResolveInfo``
    (the bulk of graphql-core's per-field cost). Everything else (resolvers, lists,
    nulls in non-null positions, ``__typename``) goes the standard way.
    """

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Any:
        """Resolve one field; plain dict reads skip the resolver machinery."""
        if type(source) is dict:
            name = field_nodes[0].name.value
            field_def = parent_type.fields.get(name)
            if field_def is not None and field_def.resolve is None:
                value = source.get(name)
                return_type: Any = field_def.type
                if isinstance(return_type, GraphQLNonNull):
                    return_type = return_type.of_type if value is not None else None
                elif value is None:
                    return None
                if return_type is not None:
                    try:
                        if is_leaf_type(return_type):
                            return return_type.serialize(value)
                        if isinstance(return_type, GraphQLObjectType) and (
                            return_type.is_type_of is None
                        ):
                            subfields = self.collect_subfields(return_type, field_nodes)
                            return self.execute_fields(return_type, value, path, subfields)
                    except Exception as raw_error:
                        error = located_error(raw_error, field_nodes, path.as_list())
                        handle: Any = self.handle_field_error
                        if HANDLE_FIELD_ERROR_TAKES_PATH:
                            handle(error, field_def.type, path)
                        else:
                            handle(error, field_def.type)
                        return None
        return super().execute_field(parent_type, source, field_nodes, path)


def _never_awaitable(_value: Any) -> bool:
    # Every resolver is synchronous: skip graphql-core's per-field awaitable checks.
    return False


# ---------------------------------------------------------------- caches


@dataclass
class _Document:
    """A parsed query: its AST or the error that stopped it, and validation per schema."""

    document: DocumentNode | None
    error: JSON | None
    validated: dict[int, list[GraphQLError]] = field(default_factory=dict)


class _DocumentCache:
    """LRU of parsed and complexity-checked documents, keyed on the query text."""

    def __init__(self, limits: ComplexityLimits, size: int = DOCUMENT_CACHE_SIZE) -> None:
        self.limits = limits
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Document] = OrderedDict()

    def get(self, query: str) -> _Document:
        with self._lock:
            entry = self._entries.get(query)
            if entry is not None:
                self._entries.move_to_end(query)
                return entry
        entry = self._parse(query)
        with self._lock:
            self._entries[query] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def _parse(self, query: str) -> _Document:
        try:
            document = parse(query)
        except GraphQLError as error:
            return _Document(None, _errors_body([error], "GRAPHQL_PARSE_FAILED"))
        complexity = check_complexity(document, self.limits)
        if complexity is not None:
            return _Document(None, _errors_body([complexity]))
        return _Document(document, None)

    def validation_errors(self, entry: _Document, key: int, schema: GraphQLSchema) -> list[Any]:
        with self._lock:
            errors = entry.validated.get(key)
        if errors is None:
            assert entry.document is not None
            errors = validate(schema, entry.document)
            with self._lock:
                entry.validated[key] = errors
        return errors


# ---------------------------------------------------------------- the API


def _request_error(message: str) -> JSON:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


class GraphQLAPI:
    """Twenty's core and metadata GraphQL APIs over an :class:`Engine`.

    Args:
        engine: the record store; its ``registry`` is the workspace metadata. The core
            schema is rebuilt (and cached) whenever ``registry.version`` changes.

    Example:
        >>> api = GraphQLAPI(Engine())
        >>> api.execute_core({"query": "{ people { totalCount } }"}, charge=lambda f: None)
        {'data': {'people': {'totalCount': 0}}}
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._core_documents = _DocumentCache(CORE_LIMITS)
        self._metadata_documents = _DocumentCache(METADATA_LIMITS)
        self._metadata_schema = build_metadata_schema(engine.registry.profile)
        self._schemas: OrderedDict[int, GraphQLSchema] = OrderedDict()
        self._schema_lock = threading.Lock()

    def core_schema(self) -> tuple[int, GraphQLSchema]:
        """(registry version, core schema), built on first use of each version."""
        registry = self.engine.registry
        version = registry.version
        with self._schema_lock:
            schema = self._schemas.get(version)
            if schema is None:
                with registry.lock:
                    version = registry.version
                    schema = self._schemas.get(version) or build_core_schema(registry)
                self._schemas[version] = schema
                while len(self._schemas) > SCHEMA_CACHE_SIZE:
                    self._schemas.popitem(last=False)
            return version, schema

    def execute_core(self, body: JSON, *, charge: Callable[[str], None]) -> JSON:
        """Answer a ``/graphql`` request.

        Args:
            body: the parsed JSON body (``query``, ``variables``, ``operationName``).
            charge: called with each root field name before it resolves; a
                :class:`SandboxError` it raises becomes that field's error.

        Returns:
            The JSON answer (``{"data": ..., "errors": [...]}``); never raises.
        """
        try:
            context = CoreContext(self.engine, charge)
            return self._run(body, self._core_documents, self.core_schema, context)
        except Exception:
            return unexpected_error_body()

    def execute_metadata(self, body: JSON) -> JSON:
        """Answer a ``/metadata`` request (objects, fields, createOneObject...); never raises."""
        try:
            context = MetadataContext(self.engine.registry)
            return with_graphql_js_names(
                self._run(
                    body, self._metadata_documents, lambda: (0, self._metadata_schema), context
                )
            )
        except Exception:
            return unexpected_error_body()

    @staticmethod
    def _run(
        body: JSON,
        documents: _DocumentCache,
        get_schema: Callable[[], tuple[int, GraphQLSchema]],
        context: object,
    ) -> JSON:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            return _request_error("Must provide query string.")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return _request_error(
                "Variables must be provided as an Object where each property is a variable value."
            )
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("Operation name must be a string.")
        entry = documents.get(query)
        if entry.error is not None:
            return entry.error
        assert entry.document is not None
        version, schema = get_schema()
        errors = documents.validation_errors(entry, version, schema)
        if errors:
            return _errors_body(errors, "GRAPHQL_VALIDATION_FAILED")
        result = execute(
            schema,
            entry.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            execution_context_class=FastExecutionContext,
            is_awaitable=_never_awaitable,
        )
        assert isinstance(result, ExecutionResult)
        answer: JSON = {}
        if result.data is not None or not result.errors:
            answer["data"] = result.data
        if result.errors:
            answer["errors"] = [format_error(error) for error in result.errors]
        return answer
