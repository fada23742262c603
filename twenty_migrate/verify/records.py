"""Read records back from Twenty: :func:`fetch_records`, with the fields a check needs."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient


def fetch_records(
    client: TwentyClient,
    object_name: str,
    *,
    fields: str | Sequence[str] | None = None,
    filter: dict[str, Any] | None = None,
    with_deleted: bool = False,
) -> pd.DataFrame:
    """Read every record of an object (all pages, no cap) into a DataFrame.

    Composite fields are flattened to dotted columns (``name.firstName``,
    ``emails.primaryEmail``); list values (``emails.additionalEmails``) stay Python lists.

    Args:
        client: A connected client.
        object_name: Object name, plural or singular (``"people"``).
        fields: ``None`` for every scalar and composite field; a list of field paths
            (``["emails.primaryEmail", "name.firstName", "city"]``), which also fixes the
            column order; or a raw GraphQL selection set (``"id emails { primaryEmail }"``).
            ``id`` is always included.
        filter: Twenty filter (``{"city": {"eq": "Paris"}}``).
        with_deleted: Include soft-deleted records.

    Returns:
        One row per record; ``id`` first.

    Example:
        >>> people = fetch_records(client, "people", fields=["emails.primaryEmail"])
        >>> people.columns.tolist()
        ['id', 'emails.primaryEmail']
    """
    paths = _field_paths(fields)
    if isinstance(fields, str):
        selection: str | None = fields
    elif paths is not None:
        selection = _selection_for(paths, client.default_fields(object_name))
    else:
        selection = None
    records = list(
        client.iter_records(object_name, filter=filter, fields=selection, with_deleted=with_deleted)
    )
    frame = pd.json_normalize(records) if records else pd.DataFrame()
    # json_normalize keeps a bare "emails" column next to "emails.*" when some record held null.
    parents = {c.rsplit(".", 1)[0] for c in frame.columns if "." in c}
    frame = frame.drop(columns=[c for c in frame.columns if c in parents and frame[c].isna().all()])
    if paths is None:
        columns = list(frame.columns)
    else:
        # A composite path ("emails") selects all of its sub-columns ("emails.primaryEmail", ...).
        columns = []
        for path in paths:
            matched = [c for c in frame.columns if c == path or c.startswith(path + ".")]
            columns += matched or [path]
    columns = ["id", *(c for c in dict.fromkeys(columns) if c != "id")]
    return frame.reindex(columns=columns).reset_index(drop=True)


def _field_paths(fields: str | Sequence[str] | None) -> list[str] | None:
    if fields is None or isinstance(fields, str):
        return None
    return [str(f) for f in fields]


_Tree = dict[str, "_Tree | None"]


def _parse_selection(selection: str) -> _Tree:
    """``"id name { firstName }"`` -> ``{"id": None, "name": {"firstName": None}}``."""
    stack: list[_Tree] = [{}]
    last: str | None = None
    for token in re.findall(r"[{}]|[^\s{}]+", selection):
        if token == "{":
            if last is None:
                raise ValueError(f"malformed selection: {selection!r}")
            child: _Tree = {}
            stack[-1][last] = child
            stack.append(child)
        elif token == "}":
            stack.pop()
        else:
            stack[-1][token] = None
        last = token if token not in "{}" else None
    return stack[0]


def _render(tree: _Tree) -> str:
    return " ".join(k if v is None else f"{k} {{ {_render(v)} }}" for k, v in tree.items())


def _selection_for(paths: Sequence[str], default: str) -> str:
    """A GraphQL selection for field paths, taking composite sub-fields from ``default``.

    A bare composite name selects all its sub-fields; an unknown name is passed through so
    Twenty's own error names it.
    """
    known = _parse_selection(default)
    wanted: _Tree = {}
    for path in ["id", *paths]:
        node: _Tree = wanted
        source: _Tree | None = known
        parts = path.split(".")
        for part in parts[:-1]:
            source = source.get(part) if source is not None else None
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        leaf = parts[-1]
        full = source.get(leaf) if source is not None else None
        # A whole composite wins over sub-fields asked for separately.
        node[leaf] = copy.deepcopy(full) if full is not None else node.get(leaf)
    return _render(wanted)
