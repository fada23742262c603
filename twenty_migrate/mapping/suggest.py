"""Suggest a :class:`~twenty_migrate.mapping.field_map.FieldMap` from headers, then sample values.

Headers decide first, after folding case, accents, spaces and punctuation: the export
dictionaries of Salesforce, HubSpot and Pipedrive (:mod:`twenty_migrate.mapping.vendors`), the
object's own field names and labels (custom fields included), then the names hand-made
spreadsheets use. Values are read only for headers that say nothing (``Column 7``,
``Field1``, a blank header), and never across kinds: a column of dates is not a phone, an
owner's email is not a second email. A header that names something the object has no
place for (``Contact Owner`` on people) stays unmapped, whatever its values look like.

Every column gets a :class:`~twenty_migrate.mapping.suggestion.Suggestion`: where it goes (or why
nowhere), the reason and a confidence; ``FieldMap.review()`` lists the least sure first.
A vendor's own record id column becomes ``FieldMap.source_id``; Salesforce custom fields
(``Region__c``) that the object lacks are proposed for preflight to create; a stage
column holding a vendor's default stages gets them as select options.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from twenty_migrate.mapping.field_map import DEFAULT_SUBFIELD, FieldMap, _resolve
from twenty_migrate.mapping.headers import (
    _COUNTRY_HEADERS,
    _DISTINCTIVE,
    _EXPECTED_KIND,
    _HANDLE_PREFIX,
    _KIND_WORDS,
    _LATE_HEADERS,
    _SKIP_TYPES,
    CONFIDENCE,
    HEADER_SYNONYMS,
    MAX_LABELS_SHOWN,
    SAMPLE_SIZE,
    VALUE_SHARE,
    _column_kinds,
    _duplicate_of,
    _id_like,
    _Kinds,
    _says_nothing,
    value_kind,
)
from twenty_migrate.mapping.suggestion import Suggestion
from twenty_migrate.mapping.vendors import (
    SOURCE_ID,
    VENDORS,
    VendorField,
    custom_field_name,
    detect_vendor,
    stage_options,
    vendor_field,
)
from twenty_migrate.twenty.errors import MappingError
from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.values.parsing import (
    option_key,
    split_list,
)
from twenty_migrate.values.payloads import REF_PREFIX, SOURCE_REF_PREFIX, TARGET_KEY_PATHS

__all__ = ["CONFIDENCE", "HEADER_SYNONYMS", "suggest", "suggest_mapping", "value_kind"]


class _Suggester:
    def __init__(self, df: pd.DataFrame, obj: ObjectSchema) -> None:
        self.df = df
        self.obj = obj
        self.writable = set(obj.writable_paths())
        self.mapping: dict[str, str] = {}
        self.taken: dict[str, str] = {}  # path (or "name.*") -> the column feeding it
        self.notes: list[str] = []
        self.decisions: dict[str, Suggestion] = {}
        self.transforms: dict[str, Any] = {}
        self.source_id: str | None = None
        self.schema_keys = self._schema_keys()
        self._kinds: dict[str, _Kinds] = {}

    def _schema_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for candidate in self.obj.fields.values():
            if not candidate.is_writable or candidate.is_system or candidate.type in _SKIP_TYPES:
                continue
            if candidate.join_column:
                path = REF_PREFIX + candidate.join_column
            elif candidate.type == "ADDRESS":
                continue
            elif DEFAULT_SUBFIELD.get(candidate.type):
                path = f"{candidate.name}.{DEFAULT_SUBFIELD[candidate.type]}"
            else:
                path = candidate.name
            for text in (candidate.name, candidate.label):
                keys.setdefault(option_key(text), path)
        return keys

    def kinds(self, column: str) -> _Kinds:
        if column not in self._kinds:
            self._kinds[column] = _column_kinds(self.df[column])
        return self._kinds[column]

    # ------------------------------------------------------------------ targets
    def resolve(self, target: str) -> str | None:
        """A concrete free path for a candidate, or None."""
        if target in TARGET_KEY_PATHS:  # several columns feed targets, joined by the map
            return target
        if target.startswith((REF_PREFIX, SOURCE_REF_PREFIX)):
            return None if target in self.taken else target
        if target.startswith("@"):
            wanted = target[1:]
            for join, related in self.obj.relations.items():
                path = REF_PREFIX + join
                if related == wanted and path not in self.taken:
                    return path
            return None
        name = target.split(".")[0]
        field = self.obj.fields.get(name)
        if field is None or not field.is_writable:
            return None
        if "." in target and target not in self.writable:
            return None
        if target.endswith(("additionalEmails", "additionalPhones", "secondaryLinks")):
            return target
        if field.type == "FULL_NAME" and "." not in target:
            return None if f"{name}.*" in self.taken else target
        return None if target in self.taken else target

    def _applicable(self, column: str, path: str) -> str | None:
        """Why this field map cannot take ``path`` on the object, or None when it can."""
        try:
            _resolve(column, path, self.obj)
        except MappingError as exc:
            return str(exc)
        return None

    def _kind_conflict(self, column: str, path: str) -> str | None:
        """Why the values refuse ``path`` (another distinctive kind), or None."""
        if path.startswith((REF_PREFIX, SOURCE_REF_PREFIX)):
            return None
        field = self.obj.fields.get(path.split(".")[0])
        if field is None or path.endswith(("CountryCode", "currencyCode")):
            return None
        expected = _EXPECTED_KIND.get(field.type)
        if field.type == "LINKS" and path.endswith("Label"):
            expected = "text"
        found = self.kinds(column)
        if expected is None or found.kind is None or found.kind == expected:
            return None
        if found.kind not in _DISTINCTIVE:
            return None
        return (
            f"the header suggests {path}, but {found.share:.0%} of the values look like "
            f"{_KIND_WORDS[found.kind]}, not {_KIND_WORDS[expected]}"
        )

    # ------------------------------------------------------------------ decisions
    def decide(self, suggestion: Suggestion) -> None:
        self.decisions[suggestion.column] = suggestion
        if suggestion.status == "mapped" and suggestion.path:
            self._take(suggestion.column, suggestion.path)

    def _take(self, column: str, path: str) -> None:
        self.mapping[column] = path
        field = self.obj.fields.get(path.split(".")[0])
        if field is not None and field.type == "FULL_NAME" and "." not in path:
            self.taken[f"{path}.*"] = column
        elif not path.endswith(("additionalEmails", "additionalPhones", "secondaryLinks")):
            self.taken[path] = column

    def try_paths(
        self,
        column: str,
        candidates: Sequence[str],
        reason: str,
        confidence: float,
        explained: bool = False,
    ) -> bool:
        """Map ``column`` to the first free candidate its values do not refuse."""
        refused: str | None = None
        busy: str | None = None
        for candidate in candidates:
            path = self.resolve(candidate)
            if path is None:
                fed = self.taken.get(candidate) or self.taken.get(f"{candidate.split('.')[0]}.*")
                busy = busy or (f"{candidate} is already fed by {fed!r}" if fed else None)
                continue
            conflict = self._kind_conflict(column, path)
            if conflict:
                refused = refused or conflict
                continue
            blocked = self._applicable(column, path)
            if blocked and path.startswith((SOURCE_REF_PREFIX, REF_PREFIX + "targets")):
                blocked = f"the field map cannot apply {path} (keep the column for linking)"
            if blocked:
                self.decide(
                    Suggestion(
                        column,
                        path,
                        f"{reason}; not mapped: {blocked}",
                        CONFIDENCE["taken"],
                        "unmapped",
                    )
                )
                return True
            if path.startswith(REF_PREFIX) and not explained:
                related = self.obj.relations.get(path[len(REF_PREFIX) :], "record")
                reason = f"{reason}; names the related {related}, resolved to ids later"
            self.decide(Suggestion(column, path, reason, confidence))
            return True
        if refused:
            self.decide(Suggestion(column, None, refused, CONFIDENCE["kinds"], "unmapped"))
            return True
        if busy:
            self.decide(
                Suggestion(column, None, f"{reason}; {busy}", CONFIDENCE["taken"], "unmapped")
            )
            return True
        return False

    def by_vendor(self, column: str, entry: VendorField) -> None:
        if not entry.paths:
            self.decide(Suggestion(column, None, entry.reason, CONFIDENCE["no_place"], "unmapped"))
            return
        if entry.paths == (SOURCE_ID,):
            if self.source_id is None:
                self.source_id = column
                reason = f"{entry.reason}: the record's own id, kept as the source id"
                self.decide(Suggestion(column, None, reason, CONFIDENCE["vendor"], "source_id"))
            else:
                reason = f"{entry.reason}: {self.source_id!r} already holds the source ids"
                self.decide(Suggestion(column, None, reason, CONFIDENCE["taken"], "unmapped"))
            return
        explained = bool(entry.note)
        if not self.try_paths(column, entry.paths, entry.reason, CONFIDENCE["vendor"], explained):
            missing = ", ".join(entry.paths)
            self.decide(
                Suggestion(
                    column,
                    entry.paths[0],
                    f"{entry.reason}; not mapped: {self.obj.name_plural} has no {missing}",
                    CONFIDENCE["taken"],
                    "unmapped",
                )
            )

    def by_custom_field(self, column: str) -> None:
        """A Salesforce custom field: the object's field of that name, or one to create."""
        name, label = custom_field_name(column)
        existing = self.obj.fields.get(name) or next(
            (f for f in self.obj.fields.values() if option_key(f.label) == option_key(label)),
            None,
        )
        if existing is not None and existing.is_writable:
            path = self.schema_keys.get(option_key(existing.name), existing.name)
            reason = f"Salesforce custom field {column}: the field {existing.name!r}"
            if self.try_paths(column, [path], reason, CONFIDENCE["custom"]):
                return
        field_type, path = self._type_for_new_field(column, name)
        reason = (
            f"Salesforce custom field {column}: {self.obj.name_plural} has no field {name!r}; "
            f"preflight proposes creating it as {field_type} ({label!r}), then suggest again; "
            f"for another type pass fields={{{self.obj.name_plural!r}: {{{name!r}: "
            "FieldSpec('NUMBER')}} to preflight"
        )
        self.decide(Suggestion(column, path, reason, CONFIDENCE["create"], "create", field_type))

    def _type_for_new_field(self, column: str, name: str) -> tuple[str, str]:
        kind = self.kinds(column).kind
        if kind == "email":
            return "EMAILS", f"{name}.primaryEmail"
        if kind == "url":
            return "LINKS", f"{name}.primaryLinkUrl"
        if kind == "phone":
            return "PHONES", f"{name}.primaryPhoneNumber"
        if kind == "date":
            return "DATE", name
        if kind == "number":
            return "NUMBER", name
        values = {option_key(v) for v in self.df[column].dropna().astype(str) if v.strip()}
        if values and values <= {"true", "false", "yes", "no", "1", "0"}:
            return "BOOLEAN", name
        return "TEXT", name

    def by_header(self, column: str) -> bool:
        """Map by the object's own names, then common synonyms; True when the header spoke."""
        key = option_key(column)
        direct = self.schema_keys.get(key)
        if direct:
            field = direct.removeprefix(REF_PREFIX).split(".")[0]
            reason = f"header matches the field {field!r} by name or label"
            if self.try_paths(column, [direct], reason, CONFIDENCE["field"]):
                return True
        candidates = HEADER_SYNONYMS.get(key, ())
        if not candidates:
            return False
        late = key in _LATE_HEADERS
        reason = "a common header for " + (
            "a phone number" if late else " or ".join(c.lstrip("@") for c in candidates[:2])
        )
        confidence = CONFIDENCE["synonym"]
        if late and self.resolve(candidates[0]) == candidates[0]:
            confidence = CONFIDENCE["late"]
            reason += "; the main phone, as no other column holds one"
        if self.try_paths(column, candidates, reason, confidence):
            return True
        named = " or ".join(c.lstrip("@") for c in candidates)
        why = (
            f"the header names {named}, which {self.obj.name_plural} has no place for "
            "(or another column already feeds); its values are not read to guess another field"
        )
        if "@workspaceMember" in candidates:
            why = (
                f"an owner column; {self.obj.name_plural} has no owner (workspace member) "
                "relation in Twenty, and an owner's email is not the record's email"
            )
        self.decide(Suggestion(column, None, why, CONFIDENCE["synonym"], "unmapped"))
        return True

    def by_values(self, column: str) -> bool:
        found = self.kinds(column)
        options: dict[str, tuple[str, ...]] = {
            "email": ("emails.primaryEmail", "emails.additionalEmails", "@person"),
            "phone": ("phones.primaryPhoneNumber", "phones.additionalPhones"),
        }
        sample = self.df[column].dropna().astype(str).str.strip()
        sample = sample[sample != ""].head(SAMPLE_SIZE)
        if found.kind == "url":
            if float(sample.map(lambda v: "linkedin." in v.lower()).mean()) >= VALUE_SHARE:
                options["url"] = ("linkedinLink.primaryLinkUrl",)
                label = "LinkedIn URLs"
            elif (
                float(sample.map(lambda v: bool(re.search(r"(twitter|x)\.com/", v.lower()))).mean())
                >= VALUE_SHARE
            ):
                options["url"] = ("xLink.primaryLinkUrl",)
                label = "X/Twitter URLs"
            else:
                options["url"] = ("domainName.primaryLinkUrl",)
                label = "web addresses"
        else:
            label = _KIND_WORDS.get(found.kind or "", "")
        if found.kind not in options:
            return False
        reason = (
            f"the header says nothing; {found.share:.0%} of {found.sampled} sampled values "
            f"look like {label}"
        )
        return self.try_paths(column, options[found.kind], reason, CONFIDENCE["values"])

    # ------------------------------------------------------------------ stages
    def add_stage_options(self) -> None:
        for column, path in list(self.mapping.items()):
            field = self.obj.fields.get(path.split(".")[0])
            if field is None or field.type != "SELECT" or field.name != "stage":
                continue
            vendor, labels = stage_options(self.df[column].dropna().astype(str))
            if vendor is None:
                continue
            existing = set(field.option_values)
            present = {label: value for label, value in labels.items() if value in existing}
            if present:
                self.transforms[path] = present
            missing = {label: value for label, value in labels.items() if value not in existing}
            old = self.decisions[column]
            extra = f"; the values are {VENDORS[vendor]}'s default stages"
            if missing:
                extra += (
                    f": preflight adds {len(set(missing.values()))} missing options "
                    f"({', '.join(sorted(set(missing.values())))}), then suggest again"
                )
            self.decisions[column] = Suggestion(
                column, path, old.reason + extra, old.confidence, old.status, options=missing
            )

    def add_transforms(self) -> dict[str, Any]:
        transforms: dict[str, Any] = {}
        paths = set(self.mapping.values())
        country = next(
            (str(c) for c in self.df.columns if option_key(str(c)) in _COUNTRY_HEADERS), None
        )
        if country and any(p.startswith("phones.") for p in paths):
            transforms["phones"] = {"region_column": country}
            self.notes.append(f"phones: numbers without a country code are read in {country!r}")
        for (object_name, field_name), prefix in _HANDLE_PREFIX.items():
            if object_name == self.obj.name_singular and f"{field_name}.primaryLinkUrl" in paths:
                transforms[field_name] = {"handle_prefix": prefix}
        for column, path in self.mapping.items():
            field = self.obj.fields.get(path.split(".")[0])
            if field is not None and field.type in ("SELECT", "MULTI_SELECT", "RATING"):
                self._note_labels(column, path, field.type == "MULTI_SELECT")
        return transforms

    def _note_labels(self, column: str, path: str, multi: bool) -> None:
        field = self.obj.fields[path.split(".")[0]]
        known = {option_key(str(o["value"])) for o in field.options}
        known |= {option_key(str(o.get("label") or "")) for o in field.options}
        decision = self.decisions.get(column)
        proposed = {**(decision.options if decision else {}), **self.transforms.get(path, {})}
        known |= {option_key(label) for label in proposed}
        values = self.df[column].dropna().astype(str).str.strip()
        labels = sorted(
            {item for v in values.unique() for item in (split_list(v) if multi else [v]) if item}
        )
        unknown: dict[str, str] = {}
        for label in labels:
            if option_key(label) not in known:
                unknown.setdefault(option_key(label), label)  # one spelling per label
        if unknown:
            shown = ", ".join(repr(u) for u in list(unknown.values())[:MAX_LABELS_SHOWN])
            extra = len(unknown) - MAX_LABELS_SHOWN
            more = f" and {extra} more" if extra > 0 else ""
            self.notes.append(
                f"{column!r} -> {path}: {len(unknown)} labels are not options "
                f"({', '.join(field.option_values)}): {shown}{more}. Map them with "
                f".with_transform({path!r}, {{label: option value or None}})"
            )


def suggest(df: pd.DataFrame, object_schema: ObjectSchema) -> FieldMap:
    """A first field map for ``df`` onto ``object_schema``; review it before applying.

    Example:
        fmap = suggest(pd.read_csv("sample_data/people.csv", dtype=str), people)
        fmap.review()          # the least sure decisions first
    """
    work = _Suggester(df, object_schema)
    columns = [str(c) for c in df.columns if not str(c).startswith("_")]
    vendor = detect_vendor(columns)
    declared = {str(k): str(v) for k, v in (df.attrs.get("duplicate_headers") or {}).items()}
    entries: dict[str, VendorField] = {}
    rest: list[str] = []
    for column in columns:
        copy_of = _duplicate_of(column, columns, declared)
        if copy_of is not None:
            work.decide(
                Suggestion(
                    column,
                    None,
                    f"a second column headed {copy_of!r} in the file; not read as another "
                    f"value of {copy_of!r}. Check which one holds the data, then map it with "
                    ".with_column(...)",
                    CONFIDENCE["duplicate"],
                    "unmapped",
                )
            )
            continue
        entry = vendor_field(column, object_schema.name_plural, vendor)
        if entry is not None:
            entries[column] = entry
        else:
            rest.append(column)

    def vendor_order(column: str) -> tuple[int, int]:
        entry = entries[column]
        better_key = any(w in entry.note for w in ("by domain", "by email", "own id"))
        key = option_key(column)
        late = key in _LATE_HEADERS or any(w in key for w in ("mobile", "home", "other"))
        return (0 if better_key else 1, 1 if late else 0)

    for column in sorted(entries, key=vendor_order):
        work.by_vendor(column, entries[column])
    leftovers: list[str] = []
    late = [c for c in rest if option_key(c) in _LATE_HEADERS]
    for column in [c for c in rest if c not in late] + late:
        if column.endswith("__c"):
            work.by_custom_field(column)
            continue
        if _id_like(column) and option_key(column) not in work.schema_keys:
            work.decide(
                Suggestion(
                    column,
                    None,
                    "source ids and export timestamps are not Twenty fields (keep ids in a "
                    "custom field if you need them later)",
                    CONFIDENCE["bookkeeping"],
                    "unmapped",
                )
            )
            continue
        if not work.by_header(column):
            leftovers.append(column)
    for column in leftovers:
        if _says_nothing(column) and work.by_values(column):
            continue
        key = option_key(column)
        if "related" in key or "regarding" in key:
            reason = (
                "links to other records (task and note targets) are separate records, "
                "created after this import"
            )
            confidence = CONFIDENCE["synonym"]
        elif _says_nothing(column):
            found = work.kinds(column)
            kind = _KIND_WORDS.get(found.kind or "", "mixed values")
            reason = (
                f"the header says nothing and the values ({kind}) fit no field of "
                f"{object_schema.name_plural}; map it with .with_column(...) if it matters"
            )
            confidence = CONFIDENCE["unknown"]
        else:
            reason = (
                f"no matching field on {object_schema.name_plural}; create a custom field in "
                "Twenty or map it with .with_column(...)"
            )
            confidence = CONFIDENCE["unknown"]
        work.decide(Suggestion(column, None, reason, confidence, "unmapped"))
    _links_by_id_win(work)
    work.add_stage_options()
    transforms = {**work.add_transforms(), **work.transforms}
    ordered = {c: work.mapping[c] for c in columns if c in work.mapping}
    suggestions = tuple(work.decisions[c] for c in columns if c in work.decisions)
    notes = [*(_note(s) for s in suggestions if s.status != "mapped" or s.confidence < 0.8)]
    notes += work.notes
    if vendor is not None:
        notes.insert(0, f"the headers look like a {VENDORS[vendor]} export")
    return FieldMap(
        object_schema.name_plural,
        ordered,
        transforms,
        tuple(notes),
        source_id=work.source_id,
        suggestions=suggestions,
    )


def _note(suggestion: Suggestion) -> str:
    if suggestion.status == "mapped":
        return f"{suggestion.column!r} -> {suggestion.path}: {suggestion.reason}"
    if suggestion.status == "source_id":
        return f"{suggestion.column!r} is the source id: {suggestion.reason}"
    if suggestion.status == "create":
        return f"{suggestion.column!r} -> {suggestion.path} (to create): {suggestion.reason}"
    return f"{suggestion.column!r} not mapped: {suggestion.reason}"


def suggest_mapping(df: pd.DataFrame, object_schema: ObjectSchema) -> FieldMap:
    """A first field map from the headers, then a sample of values; review it before use.

    Example:
        fmap = suggest_mapping(tm.load("contacts.csv"), people)
        fmap.review()        # least sure first, with reasons; edit with .with_column / .without
    """
    return suggest(df, object_schema)


def _links_by_id_win(work: _Suggester) -> None:
    """A related record named both by its source id and by name or email is linked by the
    id: the name column is left out, so one link is not made twice, perhaps differently."""
    by_id = {
        path[len(SOURCE_REF_PREFIX) :]: column
        for column, path in work.mapping.items()
        if path.startswith(SOURCE_REF_PREFIX) and path not in TARGET_KEY_PATHS
    }
    for column, path in list(work.mapping.items()):
        join = path[len(REF_PREFIX) :] if path.startswith(REF_PREFIX) else None
        if join is not None and join in by_id:
            reason = f"the record is linked by its source id in {by_id[join]!r} instead"
            del work.mapping[column]
            work.taken.pop(path, None)
            work.decide(Suggestion(column, None, reason, CONFIDENCE["vendor"], "unmapped"))
