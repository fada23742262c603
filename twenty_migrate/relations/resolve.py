"""Turn natural keys of related records into relations: :func:`resolve_relations`.

Mapped frames name related records by natural keys in ``_ref.<joinColumn>`` columns (see
:mod:`twenty_migrate.mapping.field_map`): a person's company by name or domain, an opportunity's
point of contact by email. Tasks and notes name the records they are about in a
``_ref.targets`` column (a person's email or a company's name or domain, several
separated by ``;`` or ``|``), from which task and note target rows are made::

    rel = tm.resolve_relations(
        {"companies": companies, "people": people, "opportunities": deals, "tasks": tasks},
        schema, client=client, targets={"tasks": cleaned_tasks["Related To"]},
    )
    rel.problems          # _row, object, column, key, status, message, candidates
    rel.counts            # per relation: resolved in this run / in Twenty / missing / ambiguous
    plan = tm.plan_migration(rel, schema)

How a key is matched, never guessed:

* **This run first.** A key is looked for among the rows of the target object in this run
  (the join column gets that row's ``_row``, and the importer sends the id it gets).
  Several rows matching is *ambiguous*, unless they share the value of the object's unique
  field (Twenty will upsert them into one record).
* **Then Twenty.** Keys not found in the run are looked up in the workspace, 60 keys per
  call (``in`` filters for emails and domains, ``ilike`` name patterns for names), through
  the client and its rate limiter; the join column gets ``"twenty:<id>"``
  (:func:`~twenty_migrate.existing_ref`). Several records is *ambiguous*.
* **Normalised.** Emails in canonical form; domains by host (scheme, ``www.`` and path
  ignored; a domain key is looked up as the six spellings Twenty may store: bare, ``www.``,
  ``http(s)://``); company names by :func:`~twenty_migrate.clean.duplicates.name_key` (legal
  forms, case, accents, punctuation ignored); other names by case and spacing; workspace
  members by email or full name (word order ignored).
* **Unresolved keys are reported**, one row per source row in :attr:`ResolvedRelations.problems`
  (status ``missing`` or ``ambiguous``; ``column`` is the join column, or ``_ref.targets``),
  and the join column is left empty. Placeholder keys (``Self-employed``, ``N/A``...) are
  not relations and only counted as ``ignored``.
* **Owners** (relations to workspace members) go through the ``user_map`` first, and one
  matching no member has status ``owner unmatched`` (:mod:`twenty_migrate.relations.owners`).
* **Targets.** Each key of a ``_ref.targets`` cell that resolves becomes one row of the
  object's target object (``taskTargets``: ``_row`` ``"<task _row>:<n>"``, ``taskId``, and
  the join column Twenty names for the record: ``personId`` or ``targetPersonId``...). An
  email names a person; other text a company (name or domain) or an opportunity (name),
  and matching both is ambiguous.
* **Source ids.** ``_sourceref.<joinColumn>`` and ``_sourceref.targets`` columns name
  records by the source system's ids (a Salesforce ``AccountId``, ``WhoId``): matched to
  the rows' own source ids in this run, then to earlier runs of ``migration`` and to
  Twenty (:mod:`~twenty_migrate.relations.source_refs`), and counted and reported like any key.
* **Missing parents on request.** ``create_missing=True`` (or a list of objects) adds a
  stub row (just a ``name``) for each company name found neither in the run nor in
  Twenty, and links to it; :attr:`ResolvedRelations.stubs` lists them. It needs a client,
  so that a stub never duplicates a record Twenty already has.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.clean.frame import DEFAULT_PLACEHOLDERS
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.relations.jobs import (
    PROBLEM_COLUMNS,
    TARGETS_COLUMN,
    _is_key_column,
    _Job,
    _target_holder,
)
from twenty_migrate.relations.matching import (
    LOOKUP_BATCH,
    ROW,
    _looks_like_domain,
    _Resolver,
    _text_key,
)
from twenty_migrate.relations.matching import (
    _company_key as _company_key,  # still importable from here
)
from twenty_migrate.relations.owners import (
    UserMapSource,
    is_owner_job,
    resolve_owner_job,
    user_lookup,
)
from twenty_migrate.twenty.schema import WorkspaceSchema
from twenty_migrate.values.payloads import DEFAULT_SOURCE_ID_FIELD, REF_PREFIX

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

__all__ = [
    "COUNT_COLUMNS",
    "IGNORED_KEYS",
    "LOOKUP_BATCH",
    "PROBLEM_COLUMNS",
    "STUB_COLUMNS",
    "TARGETS_COLUMN",
    "ResolvedRelations",
    "resolve_relations",
]

#: Columns of :attr:`ResolvedRelations.counts`.
COUNT_COLUMNS = [
    "object",
    "column",
    "target",
    "keys",
    "in_run",
    "in_twenty",
    "stubbed",
    "missing",
    "ambiguous",
    "ignored",
]
#: Keys that say "no related record" rather than naming one (compared case-insensitively).
IGNORED_KEYS: frozenset[str] = DEFAULT_PLACEHOLDERS | frozenset(
    {"self-employed", "self employed", "freelance", "freelancer", "private", "independent"}
)
#: Columns of :attr:`ResolvedRelations.stubs`.
STUB_COLUMNS = ["object", "_row", "name", "keys", "rows"]
#: Separators of several target keys in one ``_ref.targets`` cell.
_TARGET_SPLIT = re.compile(r"\s*[;|]\s*")


# --------------------------------------------------------------------------- result
@dataclass(eq=False)
class ResolvedRelations:
    """The frames with their relations resolved, and what could not be.

    Attributes:
        frames: Per object, the rows with join columns filled (a ``_row`` of this run, or
            ``"twenty:<id>"`` for a record already in Twenty; empty when unresolved) and
            ``_ref.*`` columns dropped; plus ``taskTargets`` / ``noteTargets`` frames made
            from ``_ref.targets``, and stub rows if asked for.
        refs: Per object, its relation columns and the object each points to, as
            :class:`~twenty_migrate.ObjectStep` takes them.
        problems: One row per unresolved key of a row: ``_row, object, column, key, status,
            message, candidates`` (status ``missing`` or ``ambiguous``, or ``owner
            unmatched`` for an owner no workspace member matches).
        counts: Per relation: keys, resolved ``in_run`` / ``in_twenty`` / ``stubbed``,
            ``missing`` (unmatched owners included), ``ambiguous``, ``ignored``.
        stubs: Rows added for missing parents: ``object, _row, name, keys, rows``.
        lookup_calls: Calls spent looking keys up in Twenty.
    """

    frames: dict[str, pd.DataFrame]
    refs: dict[str, dict[str, str]]
    problems: pd.DataFrame
    counts: pd.DataFrame
    stubs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STUB_COLUMNS))
    lookup_calls: int = 0

    @property
    def ok(self) -> bool:
        """Whether every key resolved (nothing missing or ambiguous)."""
        return self.problems.empty

    def summary(self) -> str:
        """One line per relation, then the lookup calls."""
        lines = [
            f"Relations: {len(self.problems)} unresolved keys, {len(self.stubs)} stub rows, "
            f"{self.lookup_calls} lookup calls"
        ]
        for c in self.counts.to_dict("records"):
            lines.append(
                f"  {c['object']}.{c['column']} -> {c['target']}: {c['keys']} keys, "
                f"{c['in_run']} in this run, {c['in_twenty']} in Twenty, {c['stubbed']} stubbed, "
                f"{c['missing']} missing, {c['ambiguous']} ambiguous, {c['ignored']} ignored"
            )
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        return (
            f"ResolvedRelations(objects={list(self.frames)}, problems={len(self.problems)}, "
            f"lookup_calls={self.lookup_calls})"
        )

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        problems = self.problems.head(20).to_html(index=False) if len(self.problems) else ""
        return f"<p><b>{head}</b></p>{self.counts.to_html(index=False)}{problems}"


def _frame_of(value: pd.DataFrame | MappedFrame) -> pd.DataFrame:
    data = value.data if isinstance(value, MappedFrame) else value
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"frames must be DataFrames or MappedFrames, not {type(value).__name__}")
    if ROW not in data.columns:
        raise ValueError("every frame needs a `_row` column (clean.add_row_ids adds one)")
    return data.copy()


def resolve_relations(
    frames: Mapping[str, pd.DataFrame | MappedFrame],
    schema: WorkspaceSchema,
    *,
    client: TwentyClient | None = None,
    targets: Mapping[str, pd.Series[Any]] | None = None,
    target_objects: Collection[str] = ("people", "companies", "opportunities"),
    create_missing: bool | Collection[str] = False,
    ignore: Collection[str] = IGNORED_KEYS,
    batch: int = LOOKUP_BATCH,
    user_map: UserMapSource | None = None,
    migration: str | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    source_id_field: str | None = DEFAULT_SOURCE_ID_FIELD,
) -> ResolvedRelations:
    """Resolve the natural keys of every ``_ref.*`` column (and task/note targets).

    Args:
        frames: Mapped frames by object (plural or singular name): ``_row``, field paths
            and ``_ref.<joinColumn>`` natural keys.
        schema: The workspace schema.
        client: Looks up keys not found in the run in Twenty; None searches the run only.
        targets: Per task/note object, the natural keys of the records each row is
            about, aligned with its frame's index (e.g. ``cleaned["Related To"]``); the
            same as a ``_ref.targets`` column in the frame.
        target_objects: What targets may point to.
        create_missing: Add a stub row (a name only) for each parent company named but
            found nowhere, and link to it: True for companies, or a list of objects
            (those with a TEXT ``name``). Needs ``client``.
        ignore: Keys meaning "none" (placeholders), compared case-insensitively.
        batch: Keys per lookup call.
        user_map: Owners' source users -> workspace member emails, applied before the
            email and name matching of owner columns (``_ref.accountOwnerId``,
            ``_ref.assigneeId``...): a CSV or Excel file, a DataFrame or a dict (see
            :func:`~twenty_migrate.relations.owners.load_user_map`). An owner matching no member is
            reported with status ``owner unmatched`` and its field left empty.
        migration: For ``_sourceref.*`` columns (ids of the source system, see
            :mod:`~twenty_migrate.relations.source_refs`): the migration whose earlier runs and
            derived record ids are searched for ids not found in this run.
        runs_dir: Where the journals of those earlier runs are.
        source_id_field: The TEXT field of Twenty's records holding their source id, when
            an object has it.

    Returns:
        A :class:`ResolvedRelations`.

    Raises:
        SchemaError: An object, or a join column, the workspace does not have.

    Example:
        rel = resolve_relations({"companies": companies, "people": people}, schema,
                                client=client)
        rel.problems.head()
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    stub_objects = _stub_objects(create_missing, schema)
    if stub_objects and client is None:
        raise ValueError(
            "create_missing needs a client: a stub is made only for a parent found neither "
            "in this run nor in Twenty, or it could duplicate a record Twenty already has"
        )
    data = {schema.object(name).name_plural: _frame_of(f) for name, f in frames.items()}
    for name, keys in (targets or {}).items():
        plural = schema.object(name).name_plural
        if plural not in data:
            raise ValueError(f"targets given for {name!r}, which has no frame")
        data[plural][TARGETS_COLUMN] = keys.reindex(data[plural].index)
    ignored = frozenset(" ".join(k.casefold().split()) for k in ignore)
    resolver = _Resolver(data, schema, client, batch, ignored)
    allowed = {schema.object(t).name_plural for t in target_objects}

    # 1. every key, once per target object
    jobs: list[_Job] = []
    for plural, frame in data.items():
        obj = schema.object(plural)
        for column in [c for c in frame.columns if c.startswith(REF_PREFIX)]:
            if column == TARGETS_COLUMN:
                jobs.append(_targets_job(plural, frame, schema, resolver, allowed))
                continue
            join = column[len(REF_PREFIX) :]
            if join not in obj.relations:
                obj.field(join)  # raises SchemaError naming the fields
            target = resolver.target(obj.relations[join])
            jobs.append(_Job(plural, join, frame[ROW].to_numpy(), frame[column], [target]))
    from twenty_migrate.relations.source_refs import source_ref_jobs

    jobs += source_ref_jobs(
        data,
        schema,
        resolver,
        allowed,
        migration=migration,
        runs_dir=runs_dir,
        field=source_id_field,
    )
    users = user_lookup(user_map)
    for job in jobs:
        if is_owner_job(job):  # the user map first; an unmatched owner is only a warning
            resolve_owner_job(job, resolver, users)
        else:
            job.outcomes = job.resolve(resolver)

    # 2. stubs for missing parents (their rows are added once the frames are filled)
    stubs = _make_stubs(jobs, data, stub_objects, schema)

    # 3. frames, refs, problems, counts
    refs: dict[str, dict[str, str]] = {}
    for job in jobs:
        if not job.makes_targets:
            job.fill(data[job.object], refs.setdefault(job.object, {}))
    for job in jobs:
        if job.makes_targets:
            holder, frame, holder_refs = job.target_rows(schema)
            given = data.get(holder)  # target rows given as such come first
            data[holder] = frame if given is None else pd.concat([given, frame], ignore_index=True)
            refs[holder] = {**refs.get(holder, {}), **holder_refs}
    for plural, frame in list(data.items()):
        data[plural] = frame.drop(columns=[c for c in frame.columns if _is_key_column(c)])
    for stub_object, rows in stubs.groupby("object", sort=False):
        added = rows[[ROW, "name"]].reset_index(drop=True)
        base = data.get(str(stub_object))
        data[str(stub_object)] = (
            added if base is None else pd.concat([base, added], ignore_index=True)
        )
    problems = [job.problems() for job in jobs]
    problems = [p for p in problems if len(p)]
    return ResolvedRelations(
        frames=data,
        refs={k: v for k, v in refs.items() if v},
        problems=pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS),
        counts=pd.DataFrame([job.count() for job in jobs], columns=COUNT_COLUMNS),
        stubs=stubs,
        lookup_calls=resolver.calls,
    )


def _targets_job(
    plural: str,
    frame: pd.DataFrame,
    schema: WorkspaceSchema,
    resolver: _Resolver,
    allowed: set[str],
) -> _Job:
    _, _, joins = _target_holder(schema, plural)
    targets = [resolver.target(t) for t in dict.fromkeys(joins.values()) if t in allowed]
    cells = frame[TARGETS_COLUMN]
    present = cells.notna().to_numpy()
    split = cells[present].astype(str).str.split(_TARGET_SPLIT)
    long = pd.DataFrame({"src": frame[ROW].to_numpy()[present], "key": split.to_numpy()})
    long = long.explode("key")
    long = long[long["key"].fillna("").str.strip() != ""]
    long["seq"] = long.groupby("src", sort=False).cumcount() + 1
    return _Job(
        plural,
        TARGETS_COLUMN,
        long["src"].to_numpy(),
        long["key"].reset_index(drop=True),
        targets,
        seq=long["seq"].to_numpy(),
    )


def _stub_objects(create_missing: bool | Collection[str], schema: WorkspaceSchema) -> set[str]:
    if create_missing is True:
        names: Collection[str] = ("companies",)
    elif create_missing is False:
        names = ()
    else:
        names = create_missing
    out = set()
    for name in names:
        obj = schema.object(name)
        named = obj.fields.get("name")
        if named is None or named.type != "TEXT":
            raise ValueError(f"stubs need a TEXT name field, and {obj.name_plural} has none")
        out.add(obj.name_plural)
    return out


def _make_stubs(
    jobs: list[_Job], data: dict[str, pd.DataFrame], objects: set[str], schema: WorkspaceSchema
) -> pd.DataFrame:
    """Stub rows for missing parents named by a name (not an email or a domain)."""
    records: list[dict[str, Any]] = []  # data[plural] gets the rows after its own relations
    for plural in sorted(objects):
        key_of = _company_key if schema.object(plural).name_singular == "company" else _text_key
        frame = data.get(plural)
        taken = set(frame[ROW].tolist()) if frame is not None else set()
        made: dict[str, dict[str, Any]] = {}
        for job in (j for j in jobs if j.natural_keys):
            counts = np.bincount(job.codes[job.codes >= 0], minlength=len(job.outcomes))
            keys = job.unique_keys()
            spelled = job.spellings()
            for u, (outcome, n) in enumerate(zip(job.outcomes, counts, strict=True)):
                if outcome.status != "missing" or outcome.target != plural:
                    continue
                if "@" in keys[u] or _looks_like_domain(keys[u]) or not key_of(keys[u]):
                    continue  # a name only: an email or a domain is not a company's name
                norm = str(key_of(keys[u]))
                if norm not in made:
                    row = f"stub-{len(made) + 1}"
                    while row in taken:
                        row += "'"
                    made[norm] = {"object": plural, "_row": row, "name": spelled[u]}
                    made[norm].update(keys=[], rows=0)
                stub = made[norm]
                if spelled[u] not in stub["keys"]:
                    stub["keys"].append(spelled[u])
                stub["rows"] += int(n)
                outcome.status, outcome.value = "stub", stub["_row"]
        records.extend(made.values())
    stubs = pd.DataFrame(records, columns=STUB_COLUMNS)
    stubs["keys"] = stubs["keys"].map(", ".join)
    return stubs
