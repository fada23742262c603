"""Failure rows found beside the suite's expectations (``_row`` positions, then columns).

:func:`failure_frame` builds them; :func:`duplicate_failures` names the rows that share a
unique key; :func:`existing_failures` looks the keys and join ids up in Twenty (or in the
values given); :func:`problem_failures` and :func:`relation_failures` fold in the field
map's problems and the relation resolver's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.relations.owners import OWNER_UNMATCHED
from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.validation.columns import EXISTING_PREFIX, ROW, Prepared
from twenty_migrate.validation.scan import domain_keys, is_domain_field, link_keys
from twenty_migrate.values.rules import UUID_RE, inspect_js, twenty_email


def failure_frame(
    positions: Any, column: str | None, rule: Any, value: Any, message: Any, severity: str
) -> pd.DataFrame:
    """Failure rows at these positions; a str rule, value or message goes on every row."""
    positions = np.asarray(positions, dtype=np.int64)
    count = len(positions)
    return pd.DataFrame(
        {
            "pos": positions,
            "column": np.full(count, column, dtype=object),
            "rule": rule if not isinstance(rule, str) else np.full(count, rule, dtype=object),
            "value": pd.array(list(value) if not isinstance(value, str) else [value] * count,
                              dtype=object),
            "message": message
            if not isinstance(message, str)
            else np.full(count, message, dtype=object),
            "severity": severity,
        }
    )  # fmt: skip


def cell_values(prepared: Prepared, column: str, positions: np.ndarray[Any, Any]) -> list[Any]:
    """The cells of ``column`` at these positions (None when there is no such column)."""
    if column not in prepared.data.columns:
        return [None] * len(positions)
    values: list[Any] = prepared.data[column].iloc[positions].to_numpy(dtype=object).tolist()
    return values


def duplicate_failures(
    prepared: Prepared, group: list[str], positions: np.ndarray[Any, Any]
) -> pd.DataFrame:
    """Rows sharing a unique key, each naming the other rows."""
    keys = pd.DataFrame({p: prepared.keys[p].iloc[positions].to_numpy(object) for p in group})
    rows = prepared.rows[positions]
    codes = keys.groupby(list(group), sort=False, dropna=False).ngroup().to_numpy()
    others: dict[int, list[Any]] = {}
    for code, row in zip(codes.tolist(), rows.tolist(), strict=True):
        others.setdefault(code, []).append(row)
    label = ", ".join(group)
    shown = keys.iloc[:, 0].to_numpy(object) if len(group) == 1 else keys.to_numpy(object).tolist()
    messages = []
    for code, key in zip(codes.tolist(), shown, strict=True):
        on = others[code]
        listed = ", ".join(map(str, on[:10])) + (", ..." if len(on) > 10 else "")
        messages.append(
            f"A duplicate entry was detected: {label} {inspect_js(key)} is on {len(on)} rows "
            f"of this file (_row {listed}). Keep one: Twenty refuses the second record in one call "
            "and overwrites the first from a later call"
        )
    values = cell_values(prepared, group[0], positions)
    return failure_frame(positions, group[0], "duplicate_in_file", values, messages, "error")


# --------------------------------------------------------------------------- Twenty's records
#: Values looked up per call in Twenty (its page size on every version).
LOOKUP_BATCH = 60


def _selection(paths: Collection[str]) -> str:
    heads: dict[str, list[str]] = {}
    for path in paths:
        head, _, sub = path.partition(".")
        heads.setdefault(head, [])
        if sub:
            heads[head].append(sub)
    parts = [h if not subs else f"{h} {{ {' '.join(subs)} }}" for h, subs in heads.items()]
    return " ".join(["id", *(p for p in parts if p != "id")])


def _record_value(record: Mapping[str, Any], path: str) -> Any:
    head, _, sub = path.partition(".")
    value = record.get(head)
    return (value or {}).get(sub) if sub else value


def _look_up(
    client: Any, obj: ObjectSchema, group: tuple[str, ...], keys: list[Any]
) -> dict[Any, str]:
    """Records of ``obj`` holding these key values (soft-deleted ones too): key -> id."""
    head, _, sub = group[0].partition(".")
    firsts = list(dict.fromkeys(k[0] for k in keys))
    found: dict[Any, str] = {}
    for start in range(0, len(firsts), LOOKUP_BATCH):
        chunk = firsts[start : start + LOOKUP_BATCH]
        condition = {"in": chunk}
        where = {head: {sub: condition}} if sub else {head: condition}
        for record in client.iter_records(
            obj.name_plural, filter=where, fields=_selection(group), with_deleted=True
        ):
            key = tuple(_record_value(record, p) for p in group)
            found[key] = str(record["id"])
    return found


def _given(spec: Any, group: tuple[str, ...], keyer: Callable[[Any], Any]) -> dict[Any, Any]:
    """A user's existing values (a collection, or a mapping value -> record id) as keys."""
    items = spec.items() if isinstance(spec, Mapping) else ((v, None) for v in spec)
    out: dict[Any, Any] = {}
    for value, record_id in items:
        key = tuple(value) if len(group) > 1 and isinstance(value, list | tuple) else (value,)
        out[tuple(keyer(k) for k in key)] = record_id
    return out


def _keyer(prepared: Prepared, path: str) -> Callable[[Any], Any]:
    p = prepared.paths.get(path)
    if p is not None and p.field.type == "EMAILS":

        def email(value: Any) -> Any:
            try:
                return twenty_email(str(value))
            except ValueError:
                return value

        return email
    if p is not None and p.field.type == "LINKS":
        keys = domain_keys if is_domain_field(p.field.settings) else link_keys
        return lambda value: keys(pd.Series([value], dtype=object)).iloc[0]
    if path == "id":
        return lambda value: str(value).lower()
    return lambda value: value


def existing_failures(prepared: Prepared, existing: Any, upsert: bool) -> list[pd.DataFrame]:
    """Rows whose unique keys Twenty already holds, and join ids Twenty does not hold."""
    client = existing if hasattr(existing, "iter_records") else None
    given: Mapping[Any, Any] = existing if isinstance(existing, Mapping) else {}
    obj, n = prepared.obj, len(prepared.data)
    matched: list[list[tuple[tuple[str, ...], str | None]]] = [[] for _ in range(n)]
    for group in prepared.groups:
        keys = pd.DataFrame({p: prepared.keys[p].to_numpy(object) for p in group})
        present = keys.notna().all(axis=1).to_numpy(dtype=bool)
        if not present.any():
            continue
        tuples = list(keys[present].itertuples(index=False, name=None))
        if client is not None:
            found = _look_up(client, obj, group, list(dict.fromkeys(tuples)))
        else:
            spec = given.get(", ".join(group), given.get(group if len(group) > 1 else group[0]))
            if spec is None:
                continue
            found = _given(spec, group, _keyer(prepared, group[0]))
        for position, key in zip(np.flatnonzero(present).tolist(), tuples, strict=True):
            if key in found:
                matched[position].append((group, found[key]))
    return [_matches(prepared, matched, upsert), *_missing_targets(prepared, client, given)]


def _matches(
    prepared: Prepared,
    matched: list[list[tuple[tuple[str, ...], str | None]]],
    upsert: bool,
) -> pd.DataFrame:
    """exists_in_twenty (update on upsert, refusal on create) and upsert conflicts."""
    singular = prepared.obj.name_singular
    positions: list[int] = []
    columns: list[str] = []
    rules: list[str] = []
    messages: list[str] = []
    severities: list[str] = []
    for position, found in enumerate(matched):
        if not found:
            continue
        ids = sorted({record_id for _, record_id in found if record_id is not None})
        names = ", ".join(dict.fromkeys(group[0].split(".")[0] for group, _ in found))
        which = f" {', '.join(ids)}" if ids else ""
        if len(ids) > 1 and upsert:
            rule, severity = "upsert_conflict", "error"
            message = (
                f"Multiple records found with the same unique field values for {names}. "
                "Cannot determine which record to update."
            )
        elif upsert:
            rule, severity = "exists_in_twenty", "warning"
            message = (
                f"{names}: the {singular} record{which} in Twenty has this value; "
                "the import updates it"
            )
        else:
            rule, severity = "exists_in_twenty", "error"
            message = (
                f"A duplicate entry was detected: the {singular} record{which} in Twenty has "
                f"this {names}; import with upsert to update it, or drop the row"
            )
        positions.append(position)
        columns.append(found[0][0][0])
        rules.append(rule)
        messages.append(message)
        severities.append(severity)
    where = np.array(positions, dtype=np.int64)
    values = [prepared.data[c].iat[p] for c, p in zip(columns, positions, strict=True)]
    frame = failure_frame(where, None, np.array(rules, dtype=object), values,
                          np.array(messages, dtype=object), "")  # fmt: skip
    frame["column"] = np.array(columns, dtype=object)
    frame["severity"] = np.array(severities, dtype=object)
    return frame


def _missing_targets(
    prepared: Prepared, client: Any, given: Mapping[Any, Any]
) -> list[pd.DataFrame]:
    """Join ids that point to no record of the target object."""
    parts: list[pd.DataFrame] = []
    relations = prepared.obj.relations
    for path, p in prepared.paths.items():
        if not p.is_join or (client is None and path not in given):
            continue
        target = relations.get(path)
        if target is None:
            continue
        cells = prepared.data[path].to_numpy(dtype=object)
        ids = np.full(len(cells), None, dtype=object)
        for position, cell in enumerate(cells.tolist()):
            if isinstance(cell, str):
                text = cell[len(EXISTING_PREFIX) :] if cell.startswith(EXISTING_PREFIX) else cell
                if (path not in prepared.refs or cell.startswith(EXISTING_PREFIX)) and (
                    UUID_RE.fullmatch(text)
                ):
                    ids[position] = text
        wanted = [i for i in dict.fromkeys(ids.tolist()) if i is not None]
        if not wanted:
            continue
        if client is not None:
            known = {str(r["id"]) for r in client.find_by_ids(target, wanted, fields="id")}
        else:
            known = {str(i) for i in given[path]}
        missing = np.array([i is not None and i not in known for i in ids.tolist()], dtype=bool)
        positions = np.flatnonzero(missing)
        messages = [
            f'Invalid value {inspect_js(ids[i])} for field "{path}": no {target} record with '
            "this id exists."
            for i in positions.tolist()
        ]
        values = cell_values(prepared, path, positions)
        parts.append(
            failure_frame(positions, path, "relation_target_missing", values, messages, "error")
        )
    return parts


# --------------------------------------------------------------------------- folding in
def _positions(prepared: Prepared, rows: pd.Series[Any]) -> np.ndarray[Any, Any]:
    index = pd.Index(prepared.data[ROW])
    positions: np.ndarray[Any, Any] = index.get_indexer(rows)
    return positions


def problem_failures(prepared: Prepared, problems: pd.DataFrame | None) -> list[pd.DataFrame]:
    """Values the field map could not convert (errors) and its warnings."""
    if problems is None or problems.empty:
        return []
    positions = _positions(prepared, problems[ROW])
    messages = [
        f"{m} (source column {c!r})"
        for m, c in zip(problems["message"], problems["column"], strict=True)
    ]
    frame = failure_frame(positions, None, problems["rule"].to_numpy(object), problems["value"],
                          messages, "")  # fmt: skip
    frame["column"] = problems["field"].to_numpy(object)
    frame["severity"] = problems["severity"].to_numpy(object)
    return [frame[positions >= 0]]


def relation_failures(prepared: Prepared, relations: Any) -> list[pd.DataFrame]:
    """Natural keys the relation resolver found no record for, or several."""
    problems = getattr(relations, "problems", relations)
    if problems is None or len(problems) == 0:
        return []
    obj = prepared.obj
    mine = problems[problems["object"].isin([obj.name_plural, obj.name_singular])]
    if mine.empty:
        return []
    positions = _positions(prepared, mine[ROW])
    rules = np.where(mine["status"] == "ambiguous", "ambiguous_relation", "unresolved_relation")
    # An owner no member matches costs the field, not the record: a warning.
    owner = (mine["status"] == OWNER_UNMATCHED).to_numpy()
    rules = np.where(owner, "unmatched_owner", rules)
    messages = [
        f"{m} (candidates: {c})" if isinstance(c, str) and c else str(m)
        for m, c in zip(mine["message"], mine["candidates"], strict=True)
    ]
    frame = failure_frame(positions, None, rules.astype(object), mine["key"], messages, "error")
    frame["column"] = mine["column"].to_numpy(object)
    frame["severity"] = np.where(owner, "warning", "error").astype(object)
    return [frame[positions >= 0]]
