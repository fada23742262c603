"""Relations by the source system's record ids: Salesforce, HubSpot and Pipedrive exports.

A CRM export links its records by the source system's ids: a Salesforce contact's
``AccountId``, a task's ``WhoId`` and ``WhatId``, a HubSpot deal's ``Associated Company
IDs``, a Pipedrive person's ``Organization - ID``. Such a column is mapped to
``_sourceref.<joinColumn>`` (``"AccountId" -> "_sourceref.companyId"``), or, when it may
name records of several objects (``WhoId``, ``WhatId``), to ``_sourceref.targets`` on tasks
and notes; several columns may feed ``_sourceref.targets``, and a cell may hold several ids
separated by ``;``, ``,`` or ``|``. Each object's own id column is its
:attr:`~twenty_migrate.mapping.field_map.FieldMap.source_id` (or the spec's ``source_id``):
:meth:`~twenty_migrate.mapping.field_map.FieldMap.apply` keeps it in the ``_source_id`` column::

    accounts = tm.FieldMap("companies", {"Name": "name"}, source_id="Id")
    contacts = tm.FieldMap("people", {"LastName": "name.lastName",
                                      "AccountId": "_sourceref.companyId"}, source_id="Id")
    rel = tm.resolve_relations({"companies": accounts.apply(...), "people": contacts.apply(...)},
                               schema, client=client, migration="fernhill", runs_dir="runs")

:func:`~twenty_migrate.relations.resolve.resolve_relations` resolves each id, never by guessing:

* **This run.** The row of the target object whose source id it is (its ``_row``).
* **Earlier runs** of the same migration (``migration``, journals in ``runs_dir``): a row
  that landed with that source id is the record (``"twenty:<id>"``), once the client has
  checked that the records of those runs are still in the workspace.
* **Twenty.** A row's Twenty id is derived from the migration, the object and its source
  id (:mod:`~twenty_migrate.plan.record_ids`), so the record an id names can be computed and
  looked up directly; and a record whose source-id field (``sourceId`` by default, made by
  ``store_source_id``) holds the id is found by that field, whoever imported it.
* **Unresolved** ids are reported like any other key (status ``missing``, or
  ``ambiguous`` when several records match) and the link is left empty: the record is
  imported without it.

**Salesforce ids** come in a 15-character, case-sensitive form and an 18-character form (the
15 and a 3-character checksum of their case); both name the same record and are compared
in the 18-character form (:func:`salesforce_id18`). An 18-character id whose letters lost
their case (a spreadsheet upper-cased it) gets its case back from the checksum. The
object an id names is told by its key prefix (:func:`salesforce_object_for_id`): a
``WhatId`` of ``001...`` is a company, of ``006...`` an opportunity.

**Storing the source id.** ``FieldMap(..., source_id="Id", store_source_id=True)`` (or the
spec's ``"store_source_id": "sourceId"``) also writes each row's source id to a unique
TEXT field of its object (``sourceId`` unless named), which
:func:`~twenty_migrate.preflight` creates when missing. A unique field is how
an external id is kept in Twenty: its records can be found by it, and an upsert matches
on it (twenty-api.md §3), so later files and other migrations link to them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.plan.record_ids import derive_id
from twenty_migrate.plan.steps import existing_ref
from twenty_migrate.relations.jobs import _Job, _target_holder
from twenty_migrate.relations.matching import (
    LOOKUP_BATCH,
    ROW,
    _Outcome,
    _Resolver,
    _rows_text,
    _Target,
)
from twenty_migrate.values.payloads import SOURCE_ID_COLUMN, SOURCE_REF_PREFIX, canonical_json
from twenty_migrate.values.salesforce import (
    _SALESFORCE_LABELS,
    SALESFORCE_KEY_PREFIXES,
    is_salesforce_id,
    salesforce_id15,
    salesforce_id18,
    salesforce_object_for_id,
)

if TYPE_CHECKING:
    from twenty_migrate.twenty.schema import WorkspaceSchema

__all__ = [
    "SALESFORCE_KEY_PREFIXES",
    "SOURCE_ID_COLUMN",
    "SOURCE_REF_PREFIX",
    "SOURCE_TARGETS_COLUMN",
    "is_salesforce_id",
    "salesforce_id15",
    "salesforce_id18",
    "salesforce_object_for_id",
    "source_key",
]

#: Column of a task or note frame naming its records by source id (several ids allowed).
SOURCE_TARGETS_COLUMN = SOURCE_REF_PREFIX + "targets"
#: The TEXT field a row's source id is stored in when asked (``store_source_id=True``).
#: Separators of several ids in one cell.
_ID_SPLIT = re.compile(r"\s*[;,|]\s*")
_FLOAT_INT = re.compile(r"^\d+\.0$")


def source_key(value: Any) -> str | None:
    """The comparable form of a source id: a Salesforce id in its 18-character form, a
    number read as a float (``"1234.0"``) as the integer, other text trimmed."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    if _FLOAT_INT.match(text):
        return text[:-2]
    return salesforce_id18(text) or text


def source_spellings(value: str) -> list[str]:
    """The ways an id may have been written in a source file: as given, and for a
    Salesforce id its 15- and 18-character forms."""
    text = str(value).strip()
    id18 = salesforce_id18(text)
    forms = [text] + ([id18[:15], id18] if id18 else [])
    return list(dict.fromkeys(forms))


def split_ids(cells: pd.Series[Any]) -> pd.Series[Any]:
    """Each cell's ids (a list), several separated by ``;``, ``,`` or ``|``."""
    return cells.map(
        lambda v: (
            [p for p in _ID_SPLIT.split(str(v).strip()) if p]
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA
            else []
        )
    )


# --------------------------------------------------------------------------- the index
def _identity_source(identity: str) -> str | None:
    """The source id in a row identity ``source:"<id>"`` (``#2`` suffix allowed)."""
    if not identity.startswith("source:"):
        return None
    text = identity[len("source:") :]
    if not text.endswith('"') and "#" in text:
        text = text.rsplit("#", 1)[0]
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


class SourceIndex:
    """The records source ids name: this run's rows, earlier runs', Twenty's.

    Built once per :func:`~twenty_migrate.relations.resolve.resolve_relations` call; each source
    is read only when a key is not found in the ones before it.
    """

    def __init__(
        self,
        resolver: _Resolver,
        *,
        migration: str | None,
        runs_dir: str | os.PathLike[str] | None,
        field: str | None,
    ) -> None:
        self.resolver = resolver
        self.migration = migration
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.field = field
        self._in_run: dict[str, dict[str, list[Any]]] = {}
        self._earlier: dict[str, dict[str, list[str]]] | None = None
        self._trusted: set[str] = set()
        self._twenty: dict[str, dict[str, list[str]]] = {}
        self._looked: dict[str, set[str]] = {}

    # ---------------------------------------------------------------- this run
    def in_run(self, plural: str) -> dict[str, list[Any]]:
        """Source key -> the ``_row`` s of this run's rows of ``plural`` with it."""
        if plural not in self._in_run:
            frame = self.resolver.frames.get(plural)
            found: dict[str, list[Any]] = {}
            if frame is not None and SOURCE_ID_COLUMN in frame.columns:
                ids = frame[SOURCE_ID_COLUMN].to_numpy(dtype=object)
                for row, value in zip(frame[ROW].to_numpy(dtype=object), ids, strict=True):
                    key = source_key(value)
                    if key is not None:
                        found.setdefault(key, []).append(row)
            self._in_run[plural] = found
        return self._in_run[plural]

    def has_source_ids(self, plural: str) -> bool:
        frame = self.resolver.frames.get(plural)
        return frame is not None and SOURCE_ID_COLUMN in frame.columns

    # ---------------------------------------------------------------- earlier runs
    def earlier(self, plural: str) -> dict[str, list[str]]:
        """Source key -> the Twenty ids earlier runs of the migration landed it in."""
        if self._earlier is None:
            self._earlier = self._read_journals()
        if plural not in self._trusted:
            self._trusted.add(plural)
            self._check_still_there(plural)
        return self._earlier.get(plural, {})

    def _read_journals(self) -> dict[str, dict[str, list[str]]]:
        from twenty_migrate.run.history import landed_fingerprints

        out: dict[str, dict[str, list[str]]] = {}
        if not self.migration or self.runs_dir is None or not self.runs_dir.is_dir():
            return out
        for (obj, identity), (_fingerprint, twenty_id) in landed_fingerprints(
            self.runs_dir, self.migration
        ).items():
            value = _identity_source(str(identity or ""))
            if value is None:
                continue
            keys = {source_key(value)}
            if ":" in value:  # several files fed the object: ids are named by file
                keys.add(source_key(value.rsplit(":", 1)[1]))
            for key in keys - {None}:
                ids = out.setdefault(obj, {}).setdefault(str(key), [])
                if twenty_id not in ids:
                    ids.append(twenty_id)
        return out

    def _check_still_there(self, plural: str) -> None:
        """Trust an object's journal entries only when its records are still in the
        workspace (the journals may be of another workspace, or records deleted)."""
        from twenty_migrate.run.history import still_in_workspace

        assert self._earlier is not None
        entries = self._earlier.get(plural)
        client = self.resolver.client
        if not entries or client is None:
            return
        landed = {
            (plural, f"{key}#{n}"): ("", twenty_id)
            for key, ids in entries.items()
            for n, twenty_id in enumerate(ids)
        }
        before = self.resolver.calls_so_far()
        kept = still_in_workspace(client, landed)
        self.resolver.count_calls(before, 1)
        if not kept:
            self._earlier[plural] = {}

    # ---------------------------------------------------------------- Twenty
    def in_twenty(self, plural: str, keys: Iterable[str], spelled: Mapping[str, str]) -> None:
        """Look these keys up in Twenty: the records their derived ids name, and the
        records whose source-id field holds them."""
        client = self.resolver.client
        if client is None:
            return
        looked = self._looked.setdefault(plural, set())
        todo = [k for k in dict.fromkeys(keys) if k not in looked]
        if not todo:
            return
        looked.update(todo)
        found = self._twenty.setdefault(plural, {})

        def add(key: str, twenty_id: str) -> None:
            ids = found.setdefault(key, [])
            if twenty_id not in ids:
                ids.append(twenty_id)

        spellings = {k: source_spellings(spelled.get(k, k)) + source_spellings(k) for k in todo}
        if self.migration:
            derived: dict[str, str] = {}
            for key in todo:
                for text in dict.fromkeys(spellings[key]):
                    identity = f"source:{canonical_json(text)}"
                    derived[derive_id(self.migration, plural, identity)] = key
            before = self.resolver.calls_so_far()
            records = client.find_by_ids(plural, list(derived), fields="id", with_deleted=False)
            self.resolver.count_calls(before, max(1, -(-len(derived) // LOOKUP_BATCH)))
            for record in records:
                twenty_id = str(record.get("id"))
                if twenty_id in derived:
                    add(derived[twenty_id], twenty_id)
        obj = self.resolver.schema.object(plural)
        stored = obj.fields.get(self.field) if self.field else None
        if stored is None or not stored.is_active or stored.type != "TEXT":
            return
        assert self.field is not None
        values = {text: key for key in todo for text in dict.fromkeys(spellings[key])}
        texts = list(values)
        wanted = set(values.values())
        for start in range(0, len(texts), LOOKUP_BATCH):
            chunk = texts[start : start + LOOKUP_BATCH]
            before = self.resolver.calls_so_far()
            for record in client.iter_records(
                plural,
                filter={self.field: {"in": chunk}},
                fields=f"id {self.field}",
                page_size=LOOKUP_BATCH,
            ):
                found_key = source_key(record.get(self.field))
                if found_key is not None and found_key in wanted:
                    add(found_key, str(record["id"]))
            self.resolver.count_calls(before, 1)

    def twenty(self, plural: str) -> dict[str, list[str]]:
        return self._twenty.get(plural, {})


# --------------------------------------------------------------------------- jobs
class SourceRefJob(_Job):
    """One ``_sourceref.*`` column of one object: its ids, resolved by :class:`SourceIndex`."""

    natural_keys = False

    def __init__(
        self,
        obj: str,
        column: str,
        rows: np.ndarray[Any, Any],
        keys: pd.Series[Any],
        targets: list[_Target],
        index: SourceIndex,
        seq: np.ndarray[Any, Any] | None = None,
    ) -> None:
        super().__init__(obj, column, rows, keys, targets, seq)
        self.makes_targets = column == SOURCE_TARGETS_COLUMN
        self.index = index
        # Ids are compared by their source key, case included (15-character Salesforce
        # ids are case-sensitive), not case-folded as natural keys are.
        raw_codes, raw = pd.factorize(keys)  # each distinct cell read once
        spelled = [str(v).strip() or None for v in raw]
        normal = [source_key(v) for v in spelled]
        codes, self.uniques = pd.factorize(pd.Series(normal, dtype=object))
        self.codes = np.append(codes, -1)[raw_codes]
        self.text = np.array([*spelled, None], dtype=object)[raw_codes]

    def resolve(self, resolver: _Resolver) -> list[_Outcome]:
        keys = self.unique_keys()
        spelled = dict(zip(keys, self.spellings(), strict=True))
        names = [t.name for t in self.targets]
        allowed = set(names)
        candidates: list[list[str]] = []
        outcomes: dict[int, _Outcome] = {}
        for i, key in enumerate(keys):
            guessed = salesforce_object_for_id(key) if self.makes_targets else None
            prefix = key[:3]
            if guessed is not None and guessed not in allowed:
                what = _SALESFORCE_LABELS.get(prefix, prefix)
                outcomes[i] = _Outcome(
                    "missing",
                    names[0],
                    message=f"{spelled[key]} is a Salesforce {what} id; a "
                    f"{self.column} link may name {' or '.join(names)} only",
                )
                candidates.append([])
            elif guessed is not None:
                candidates.append([guessed])
            elif self.makes_targets and prefix in _SALESFORCE_LABELS and is_salesforce_id(key):
                what = _SALESFORCE_LABELS[prefix]
                outcomes[i] = _Outcome(
                    "missing",
                    names[0],
                    message=f"{spelled[key]} is a Salesforce {what} id, which has no "
                    f"Twenty object among {', '.join(names)}",
                )
                candidates.append([])
            else:
                candidates.append(names)
        # 1. this run, 2. earlier runs, 3. Twenty; each asked only for the keys left.
        stages: list[tuple[str, Callable[[str], Mapping[str, list[Any]]]]] = [
            ("run", self.index.in_run),
            ("twenty", self.index.earlier),
            ("twenty", self.index.twenty),
        ]
        for stage, (status, found_in) in enumerate(stages):
            left = [i for i in range(len(keys)) if i not in outcomes]
            if not left:
                break
            if stage == 2:
                by_object: dict[str, list[str]] = {}
                for i in left:
                    for plural in candidates[i]:
                        by_object.setdefault(plural, []).append(keys[i])
                for plural, wanted in by_object.items():
                    self.index.in_twenty(plural, wanted, spelled)
            for i in left:
                hits = [
                    (plural, found_in(plural).get(keys[i]))
                    for plural in candidates[i]
                    if found_in(plural).get(keys[i])
                ]
                if hits:
                    outcomes[i] = _hit(hits, status, stage)
        where = "this run"
        if self.index.migration and self.index.runs_dir is not None:
            where += f", earlier runs of {self.index.migration!r}"
        if resolver.client is not None:
            where += " or Twenty"
        else:
            where += " (Twenty not searched: no client)"
        result = []
        for i, key in enumerate(keys):
            if i in outcomes:
                result.append(outcomes[i])
                continue
            labels = " or ".join(resolver.target(p).label for p in candidates[i])
            no_ids = [p for p in candidates[i] if not self.index.has_source_ids(p)]
            hint = (
                f"; the {', '.join(no_ids)} rows of this run have no source id: set their "
                "FieldMap.source_id (or the spec's source_id)"
                if no_ids and any(p in resolver.frames for p in no_ids)
                else ""
            )
            result.append(
                _Outcome(
                    "missing",
                    candidates[i][0],
                    message=f"no {labels} with source id {spelled[key]} in {where}{hint}",
                )
            )
        return result

    def fill(self, frame: pd.DataFrame, refs: dict[str, str]) -> None:
        if self.column not in frame.columns or self.column not in refs:
            super().fill(frame, refs)
            return
        # A natural-key column filled this join column first: its links stay, and the
        # rows it left empty get the ones found by source id.
        ours = pd.DataFrame({ROW: frame[ROW]}, index=frame.index)
        super().fill(ours, {})
        frame[self.column] = frame[self.column].where(frame[self.column].notna(), ours[self.column])

    def target_rows(self, schema: WorkspaceSchema) -> tuple[str, pd.DataFrame, dict[str, str]]:
        holder, frame, refs = super().target_rows(schema)
        # Rows made from source ids are named apart from those of a `_ref.targets` column.
        frame[ROW] = [f"{row}s" for row in frame[ROW]]
        return holder, frame, refs


def _hit(hits: list[tuple[str, list[Any] | None]], status: str, stage: int) -> _Outcome:
    """One key's outcome from its matches (object -> rows or Twenty ids)."""
    if len(hits) == 1 and hits[0][1] is not None and len(hits[0][1]) == 1:
        plural, (value,) = hits[0][0], hits[0][1]
        return _Outcome(status, plural, value=value if stage == 0 else existing_ref(value))
    parts = []
    for plural, values in hits:
        shown = (
            _rows_text(values or []) if stage == 0 else ", ".join(map(existing_ref, values or []))
        )
        parts.append(f"{plural} {shown}")
    where = ("this run", "earlier runs", "Twenty")[stage]
    return _Outcome(
        "ambiguous",
        hits[0][0],
        message=f"several records have this source id in {where}; "
        "give each record its own source id",
        candidates="; ".join(parts),
    )


def source_ref_jobs(
    data: Mapping[str, pd.DataFrame],
    schema: WorkspaceSchema,
    resolver: _Resolver,
    allowed: Collection[str],
    *,
    migration: str | None,
    runs_dir: str | os.PathLike[str] | None,
    field: str | None,
) -> list[_Job]:
    """A job per ``_sourceref.*`` column of the frames (see the module doc)."""
    index = SourceIndex(resolver, migration=migration, runs_dir=runs_dir, field=field)
    jobs: list[_Job] = []
    for plural, frame in data.items():
        obj = schema.object(plural)
        for column in [c for c in frame.columns if str(c).startswith(SOURCE_REF_PREFIX)]:
            if column == SOURCE_TARGETS_COLUMN:
                _, _, joins = _target_holder(schema, plural)
                names = [t for t in dict.fromkeys(joins.values()) if t in allowed]
                targets = [resolver.target(t) for t in names]
                present = frame[column].notna().to_numpy()
                long = pd.DataFrame(
                    {
                        "src": frame[ROW].to_numpy()[present],
                        "key": split_ids(frame.loc[present, column]).to_numpy(),
                    }
                ).explode("key")
                long = long[long["key"].notna()]
                long["seq"] = long.groupby("src", sort=False).cumcount() + 1
                jobs.append(
                    SourceRefJob(
                        plural,
                        column,
                        long["src"].to_numpy(),
                        long["key"].reset_index(drop=True),
                        targets,
                        index,
                        seq=long["seq"].to_numpy(),
                    )
                )
                continue
            join = column[len(SOURCE_REF_PREFIX) :]
            if join not in obj.relations:
                obj.field(join)  # raises SchemaError naming the fields
            target = resolver.target(obj.relations[join])
            rows = frame[ROW].to_numpy()
            # A cell naming several records (HubSpot's "Associated Company IDs") links
            # this one-record relation to the first.
            first = split_ids(frame[column]).map(lambda ids: ids[0] if ids else None)
            jobs.append(SourceRefJob(plural, join, rows, first, [target], index))
    return jobs
