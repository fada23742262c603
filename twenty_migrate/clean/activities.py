"""Split a mixed activity export into tasks and notes: :func:`split_activities`.

CRMs export calls, meetings, emails, notes and tasks as one file with a type column:
HubSpot's activity export (``Activity Type`` = CALL, MEETING, EMAIL, NOTE, TASK and a
title and body column per type: ``Call Title``/``Call Notes``, ``Meeting Title``/``Meeting
Description``, ``Email Subject``/``Email Body``, ``Task Title``/``Task Due Date``...),
Salesforce's Task and Event exports (``TaskSubtype`` or ``Type`` = Call, Email, Task,
Meeting; ``Subject``, ``Description``, ``ActivityDate``, ``Status``, ``WhoId``,
``WhatId``). Twenty has two objects for them, tasks and notes::

    split = tm.split_activities(tm.load("activities.csv"))
    split.skipped           # _row, type, reason: rows that would land as empty records
    tasks = tm.suggest_mapping(split.tasks, schema.object("tasks")).apply(split.tasks, ...)
    notes = tm.suggest_mapping(split.notes, schema.object("notes")).apply(split.notes, ...)
    rel = tm.resolve_relations({...}, schema, targets=split.targets())

**Which rows become tasks** (the default ``route``; pass ``route={"call": "task"}`` and
so on to change it per type):

* TASK rows are tasks, NOTE rows are notes.
* CALL, MEETING and EMAIL rows record something that happened, so they become notes,
  unless their status says they are still to be done (not started, open, to do, in
  progress, scheduled, queued, waiting, deferred, pending, planned): then they are tasks.
  A date alone does not make a task: Salesforce gives logged calls an ``ActivityDate``.
* Other types (SMS, LinkedIn message, Other...) become notes.
* A route value is ``"task"``, ``"note"``, ``"open"`` (the rule above) or ``"skip"``.

**Titles and bodies** come from the row's own type columns first (``Call Title`` for a
call), then from the shared ones (``Subject``, ``Title``; ``Notes/Description``,
``Description``, ``Body``). Calls, meetings and emails are titled ``"Call: <title>"``
(``"Meeting: "``, ``"Email: "``; a title already starting so is not prefixed twice;
``prefixes=`` changes them), or just ``"Call"`` when they have a body but no title. A
note without a title takes the first line of its body (``note_titles_from_body=False``
leaves it empty). The body is kept as exported (HTML included): the mapping turns it
into the markdown of Twenty's rich-text body (``bodyV2``, RICH_TEXT_V2 before release
1.20 and RICH_TEXT since; twenty-api.md §13).

**Rows that would land as empty records** (no title and no body), rows without a type
(Salesforce rows without a subtype are tasks, or meetings in an Event export) and rows
routed to ``"skip"`` are not imported; :attr:`ActivitySplit.skipped` lists them.

**The produced frames** are ready for :func:`~twenty_migrate.mapping.field_map.suggest_mapping`:
``_row`` (the source row, kept), ``Title``, ``Body`` and, for tasks, ``Due Date`` and
``Status`` (Twenty's ``TODO``/``IN_PROGRESS``/``DONE`` when the source status reads as one
of them, else the source text, which the mapping reports), which map to ``title``,
``bodyV2``, ``dueAt`` and ``status`` (the task's fields in Twenty's
``packages/twenty-server/src/modules/task/standard-objects/task.workspace-entity.ts``; a
status that is not one of the workspace's options costs its cell, reported by the
mapping). Every other column is passed through unchanged: the references (``Associated
Contact Email``, ``Associated Company``, ``WhoId``, ``WhatId``), owners, ids and the type
column itself. The columns read for titles and bodies (and,
in the tasks frame, due dates and statuses) are left out, so no second column competes
for a field. Notes keep their activity date (``Activity Date``, ``ActivityDate``):
Twenty's notes have no date field, map it to a custom one if it matters.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from twenty_migrate.values.parsing import option_key, words

__all__ = [
    "DEFAULT_PREFIXES",
    "DEFAULT_ROUTE",
    "SKIPPED_COLUMNS",
    "ActivitySplit",
    "split_activities",
]

Vendor = Literal["hubspot", "salesforce", "generic"]
Route = Literal["task", "note", "open", "skip"]

ROW_COLUMN = "_row"
#: Columns of :attr:`ActivitySplit.skipped`.
SKIPPED_COLUMNS = ["_row", "type", "reason"]
#: Where each kind of activity goes (see the module doc); other kinds go to notes.
DEFAULT_ROUTE: Mapping[str, Route] = {
    "task": "task",
    "note": "note",
    "call": "open",
    "meeting": "open",
    "email": "open",
}
#: Title prefixes per kind ("" for none).
DEFAULT_PREFIXES: Mapping[str, str] = {"call": "Call", "meeting": "Meeting", "email": "Email"}
_ROUTES = frozenset({"task", "note", "open", "skip"})
_VENDORS = ("hubspot", "salesforce", "generic")

#: Type values (folded) -> kind. HubSpot's engagement types, Salesforce's TaskSubtype,
#: EventSubtype and Type picklists.
_KINDS: dict[str, str] = {
    **dict.fromkeys(words("call calls phonecall loggedcall logacall"), "call"),
    **dict.fromkeys(words("meeting meetings event events meetingevent"), "meeting"),
    **dict.fromkeys(
        words("email emails incomingemail forwardedemail listemail sentemail mail"), "email"
    ),
    **dict.fromkeys(words("note notes"), "note"),
    **dict.fromkeys(words("task tasks todo"), "task"),
}
#: Candidate type columns (folded), best first.
_TYPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "hubspot": words("activitytype engagementtype type"),
    "salesforce": words("tasksubtype eventsubtype type activitytype"),
    "generic": words("activitytype type activity kind engagementtype tasksubtype"),
}
#: Columns that only the vendor's exports have (folded).
_VENDOR_SIGNS: dict[str, frozenset[str]] = {
    "salesforce": frozenset(words("tasksubtype eventsubtype whoid whatid activitydate")),
    "hubspot": frozenset(
        words(
            "activitytype calltitle callnotes meetingtitle meetingdescription emailsubject "
            "emailbody tasktitle taskduedate notesdescription associatedcontactemail"
        )
    ),
}
#: Salesforce Event exports (their rows without a subtype are meetings).
_EVENT_SIGNS = frozenset(words("eventsubtype startdatetime enddatetime durationinminutes"))

# Columns read per kind and role (folded), best first; "*" applies to every kind.
_TITLES: dict[str, tuple[str, ...]] = {
    "call": words("calltitle callname callsubject"),
    "meeting": words("meetingtitle meetingname meetingsubject"),
    "email": words("emailsubject emailtitle"),
    "task": words("tasktitle taskname tasksubject"),
    "note": words("notetitle"),
    "*": words("activitytitle subject title"),
}
_BODIES: dict[str, tuple[str, ...]] = {
    "call": words("callnotes callbody calldescription"),
    "meeting": words("meetingdescription meetingnotes meetingbody internalmeetingnotes"),
    "email": words("emailbody emailtext"),
    "task": words("tasknotes taskbody taskdescription"),
    "note": words("notebody note notecontent"),
    "*": words(
        "notesdescription description body notes activitybody activitynotes "
        "activitydescription comments"
    ),
}
_DUES: dict[str, tuple[str, ...]] = {
    "task": words("taskduedate duedate"),
    "*": words("duedate activitydate startdatetime activitydatetime"),
}
_STATUSES: dict[str, tuple[str, ...]] = {
    "task": words("taskstatus"),
    "call": words("callstatus"),
    "meeting": words("meetingoutcome meetingstatus"),
    "email": words("emailstatus"),
    "*": words("status activitystatus"),
}
#: Source statuses (folded) of work still to be done, and Twenty's task status for each.
_OPEN_STATUSES: dict[str, str] = {
    **dict.fromkeys(
        words(
            "notstarted open todo scheduled queued deferred waiting waitingonsomeoneelse "
            "pending planned rescheduled new"
        ),
        "TODO",
    ),
    **dict.fromkeys(words("inprogress started ongoing"), "IN_PROGRESS"),
}
_DONE_STATUSES = frozenset(words("completed complete done closed finished"))
_TAG_RE = re.compile(r"<[^>]+>")
_TITLE_LENGTH = 80


@dataclass(frozen=True, eq=False)
class ActivitySplit:
    """The tasks and notes of a mixed activity file, and the rows left out.

    Attributes:
        tasks: ``_row, Title, Body, Due Date, Status`` and the passed-through columns.
        notes: ``_row, Title, Body`` and the passed-through columns.
        skipped: ``_row, type, reason`` of every row not imported.
        counts: Per type as written in the file: ``type, kind, rows, tasks, notes,
            skipped``.
        vendor: ``"hubspot"``, ``"salesforce"`` or ``"generic"``, as given or detected.
        type_column: The column the types were read from.
        columns: Per role (``title``, ``body``, ``due``, ``status``), kind -> the columns
            read for it, best first (a row takes the first that is not empty), so a
            surprising title can be traced to its column.
    """

    tasks: pd.DataFrame
    notes: pd.DataFrame
    skipped: pd.DataFrame
    counts: pd.DataFrame
    vendor: str
    type_column: str
    columns: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def targets(
        self, columns: Sequence[str] | None = None, *, separator: str = "; "
    ) -> dict[str, pd.Series[Any]]:
        """Per object, the natural keys of the records each row is about, for
        :func:`~twenty_migrate.relations.resolve.resolve_relations`'s ``targets=``.

        Args:
            columns: The columns naming related records by email, name or domain; default
                HubSpot's ``Associated ...`` columns but ids and contact names (a person
                is found by email): ``Associated Contact Email``, ``Associated Company``,
                ``Associated Deal``. Source-system ids (``WhoId``, ``WhatId``,
                ``Associated Company IDs``) are not natural keys: map them to
                ``_sourceref.targets``.
            separator: Joins several keys of one row.
        """
        if columns is None:
            columns = [
                str(c)
                for c in self.tasks.columns.union(self.notes.columns, sort=False)
                if _natural_key_column(str(c))
            ]
        out: dict[str, pd.Series[Any]] = {}
        for name, frame in (("tasks", self.tasks), ("notes", self.notes)):
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise KeyError(
                    f"{name} have no columns {missing}; they have {[str(c) for c in frame]}"
                )
            parts = frame[list(columns)].astype(object)
            out[name] = pd.Series(
                [
                    separator.join(_text(v) for v in row if _text(v)) or None
                    for row in parts.itertuples(index=False, name=None)
                ],
                index=frame.index,
                dtype=object,
            )
        return out

    def summary(self) -> str:
        """One line of totals, then one per type."""
        lines = [
            f"{len(self.tasks)} tasks, {len(self.notes)} notes, {len(self.skipped)} rows "
            f"skipped ({self.vendor} export, types in {self.type_column!r})"
        ]
        for c in self.counts.to_dict("records"):
            lines.append(
                f"  {c['type']} ({c['kind']}): {c['rows']} rows -> {c['tasks']} tasks, "
                f"{c['notes']} notes, {c['skipped']} skipped"
            )
        return "\n".join(lines)

    __str__ = summary
    __repr__ = summary

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + self.counts.to_html(index=False)


def split_activities(
    frame: pd.DataFrame,
    *,
    type_column: str | None = None,
    vendor: Vendor | None = None,
    route: Mapping[str, Route] | None = None,
    prefixes: Mapping[str, str] | None = None,
    note_titles_from_body: bool = True,
) -> ActivitySplit:
    """Split a mixed activity export by its type column into tasks and notes.

    The rules (which rows become tasks, where titles and bodies come from, what is
    skipped) are in the module doc of :mod:`twenty_migrate.clean.activities`.

    Args:
        frame: The export as loaded (cleaned or not); ``_row`` is kept, or added (1, 2,
            ...) when missing.
        type_column: The column holding each row's type; detected when None
            (``Activity Type``, ``TaskSubtype``, ``Type``...).
        vendor: ``"hubspot"``, ``"salesforce"`` or ``"generic"``; detected from the
            columns when None.
        route: Per kind (``call``, ``meeting``, ``email``, ``task``, ``note``, or a
            folded type label such as ``linkedinmessage``), ``"task"``, ``"note"``,
            ``"open"`` (a task while its status is open, else a note) or ``"skip"``;
            merged over :data:`DEFAULT_ROUTE`.
        prefixes: Per kind, the title prefix (``{"call": "Phone call"}``; ``""`` for none);
            merged over :data:`DEFAULT_PREFIXES`.
        note_titles_from_body: Title notes that have none with their body's first line.

    Returns:
        An :class:`ActivitySplit`.

    Raises:
        ValueError: The type column or vendor cannot be found or is unknown; the message
            names the columns the frame has.

    Example:
        split = split_activities(tm.load("hubspot_activities.csv"))
        split.counts
    """
    headers = {option_key(str(c)): str(c) for c in reversed(list(frame.columns))}
    if vendor is None:
        vendor = _detect_vendor(headers)
    elif vendor not in _VENDORS:
        raise ValueError(f"vendor must be one of {list(_VENDORS)} or None, not {vendor!r}")
    if type_column is None:
        type_column = _detect_type_column(headers, vendor, frame)
    elif type_column not in frame.columns:
        raise ValueError(
            f"no column {type_column!r} in the activity file; its columns are "
            f"{[str(c) for c in frame.columns]}"
        )
    routes = {**DEFAULT_ROUTE, **{option_key(k): v for k, v in (route or {}).items()}}
    bad = {k: v for k, v in routes.items() if v not in _ROUTES}
    if bad:
        raise ValueError(f"route values must be one of {sorted(_ROUTES)}; got {bad}")
    titles_prefix = {**DEFAULT_PREFIXES, **{option_key(k): v for k, v in (prefixes or {}).items()}}
    if ROW_COLUMN not in frame.columns:
        frame = frame.copy()
        frame.insert(0, ROW_COLUMN, np.arange(1, len(frame) + 1, dtype=np.int64))

    roles = {"title": _TITLES, "body": _BODIES, "due": _DUES, "status": _STATUSES}
    fallback = None
    if vendor == "salesforce" and option_key(type_column) != "type" and "type" in headers:
        fallback = headers["type"]
    blank_kind = None
    if vendor == "salesforce":
        blank_kind = "meeting" if _EVENT_SIGNS & set(headers) else "task"

    type_values = frame[type_column].to_numpy(dtype=object)
    fallback_values = frame[fallback].to_numpy(dtype=object) if fallback else None
    labels: list[str] = []
    kinds: list[str | None] = []
    for position, raw in enumerate(type_values):
        label = _text(raw)
        if not label and fallback_values is not None:
            label = _text(fallback_values[position])
        folded = option_key(label)
        kind = _KINDS.get(folded, folded) if folded else blank_kind
        labels.append(label)
        kinds.append(kind)

    used: dict[str, dict[str, list[str]]] = {role: {} for role in roles}
    cells: dict[str, dict[str, list[np.ndarray[Any, Any]]]] = {role: {} for role in roles}
    for kind in dict.fromkeys(k for k in kinds if k is not None):
        for role, table in roles.items():
            candidates = dict.fromkeys((*table.get(kind, ()), *table["*"]))
            columns = [headers[c] for c in candidates if c in headers]
            if columns:
                used[role][kind] = columns
                cells[role][kind] = [frame[c].to_numpy(dtype=object) for c in columns]

    rows = frame[ROW_COLUMN].to_numpy(dtype=object)
    task_rows: list[int] = []
    note_rows: list[int] = []
    task_values: dict[str, list[Any]] = {"Title": [], "Body": [], "Due Date": [], "Status": []}
    note_values: dict[str, list[Any]] = {"Title": [], "Body": []}
    skipped: list[tuple[Any, str, str]] = []
    outcome: list[str] = []
    for position, kind in enumerate(kinds):
        label = labels[position] or ""
        if kind is None:
            reason = f"no activity type in {type_column!r}"
            skipped.append((rows[position], label, reason))
            outcome.append("skipped")
            continue
        title = _cell(cells["title"], kind, position)
        body = _cell(cells["body"], kind, position)
        if not title and not _TAG_RE.sub("", body).strip():
            skipped.append((rows[position], label, "no title and no body: an empty record"))
            outcome.append("skipped")
            continue
        status = _cell(cells["status"], kind, position)
        choice = routes.get(kind, "note")
        if choice == "open":
            choice = "task" if option_key(status) in _OPEN_STATUSES else "note"
        if choice == "skip":
            skipped.append((rows[position], label, f"{kind} rows are skipped (route)"))
            outcome.append("skipped")
            continue
        title = _prefixed(title, titles_prefix.get(kind, _own_prefix(kind, label)))
        if choice == "task":
            task_rows.append(position)
            task_values["Title"].append(title or None)
            task_values["Body"].append(body or None)
            task_values["Due Date"].append(_cell(cells["due"], kind, position) or None)
            task_values["Status"].append(_task_status(status))
        else:
            if not title and note_titles_from_body:
                title = _first_line(body)
            note_rows.append(position)
            note_values["Title"].append(title or None)
            note_values["Body"].append(body or None)
        outcome.append(choice)

    read = {role: {c for cs in per_kind.values() for c in cs} for role, per_kind in used.items()}
    task_dues = {c for c in read["due"] if option_key(c) in _DUES["task"]}
    tasks = _frame(frame, task_rows, task_values, set().union(*read.values()))
    not_for_notes = read["title"] | read["body"] | read["status"] | task_dues
    notes = _frame(frame, note_rows, note_values, not_for_notes)
    counts = (
        pd.DataFrame(
            {
                "type": [label or "" for label in labels],
                "kind": [k or "" for k in kinds],
                "outcome": outcome,
            }
        )
        .assign(
            tasks=lambda d: d["outcome"].eq("task").astype(int),
            notes=lambda d: d["outcome"].eq("note").astype(int),
            skipped=lambda d: d["outcome"].eq("skipped").astype(int),
        )
        .groupby(["type", "kind"], sort=False)
        .agg(
            rows=("outcome", "size"),
            tasks=("tasks", "sum"),
            notes=("notes", "sum"),
            skipped=("skipped", "sum"),
        )
        .reset_index()
    )
    return ActivitySplit(
        tasks=tasks,
        notes=notes,
        skipped=pd.DataFrame(skipped, columns=SKIPPED_COLUMNS),
        counts=counts,
        vendor=vendor,
        type_column=type_column,
        columns={role: dict(sorted(per_kind.items())) for role, per_kind in used.items()},
    )


# --------------------------------------------------------------------------- helpers
def _natural_key_column(header: str) -> bool:
    folded = option_key(header)
    if not folded.startswith("associated") or re.search(r"(?:^|\W)ids?$", header, re.I):
        return False
    return not folded.startswith("associatedcontact") or "email" in folded


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value).strip()


def _cell(cells: Mapping[str, list[np.ndarray[Any, Any]]], kind: str, position: int) -> str:
    for column in cells.get(kind, ()):
        text = _text(column[position])
        if text:
            return text
    return ""


def _own_prefix(kind: str, label: str) -> str:
    """The title prefix of a type with none set: its label (``LINKEDIN_MESSAGE`` ->
    ``Linkedin message``); tasks and notes have none."""
    if kind in ("task", "note"):
        return ""
    return " ".join(label.replace("_", " ").split()).capitalize()


def _first_column(headers: Mapping[str, str], candidates: Sequence[str]) -> str | None:
    return next((headers[c] for c in candidates if c in headers), None)


def _detect_vendor(headers: Mapping[str, str]) -> Vendor:
    present = set(headers)
    scores = {v: len(signs & present) for v, signs in _VENDOR_SIGNS.items()}
    if any(h.startswith("associated") for h in present):
        scores["hubspot"] += 1
    best = max(scores, key=lambda v: scores[v])
    return best if scores[best] else "generic"  # type: ignore[return-value]


def _detect_type_column(headers: Mapping[str, str], vendor: str, frame: pd.DataFrame) -> str:
    column = _first_column(headers, _TYPE_COLUMNS[vendor])
    if column is None:
        column = _first_column(headers, _TYPE_COLUMNS["generic"])
    if column is None:
        raise ValueError(
            f"cannot tell which column holds the activity type of this {vendor} export "
            "(looked for Activity Type, TaskSubtype, EventSubtype, Type); its columns are "
            f"{[str(c) for c in frame.columns]}. Pass type_column='...'"
        )
    return column


def _prefixed(title: str, prefix: str) -> str:
    if not prefix:
        return title
    if not title:
        return prefix
    if re.match(rf"{re.escape(prefix)}(?:\b|:|$)", title, re.I):
        return title
    return f"{prefix}: {title}"


def _first_line(body: str) -> str:
    text = html.unescape(_TAG_RE.sub("\n", body))
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = line.lstrip("#>*-_ ").strip()
    if len(line) > _TITLE_LENGTH:
        line = line[: _TITLE_LENGTH - 1].rstrip() + "…"
    return line


def _task_status(status: str) -> str | None:
    folded = option_key(status)
    if not folded:
        return None
    if folded in _DONE_STATUSES:
        return "DONE"
    return _OPEN_STATUSES.get(folded, status)


def _frame(
    source: pd.DataFrame,
    positions: list[int],
    values: Mapping[str, list[Any]],
    consumed: set[str],
) -> pd.DataFrame:
    kept = [c for c in source.columns if c != ROW_COLUMN and str(c) not in consumed]
    clashing = [c for c in kept if str(c) in values]
    rest = source.iloc[positions][[c for c in kept if c not in clashing]].reset_index(drop=True)
    built = pd.DataFrame(
        {
            ROW_COLUMN: source[ROW_COLUMN].to_numpy()[positions],
            **{
                name: pd.Series(cells, index=rest.index, dtype=object)
                for name, cells in values.items()
            },
        },
        index=rest.index,
    )
    if clashing:  # a passed-through "Title" would compete with the built one
        rest = pd.concat(
            [rest, source.iloc[positions][clashing].add_prefix("Source ").reset_index(drop=True)],
            axis=1,
        )
    return pd.concat([built, rest], axis=1)
