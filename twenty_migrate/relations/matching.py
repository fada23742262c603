"""How natural keys are matched to records: normalised keys, this run's rows, then Twenty.

The machinery behind :func:`~twenty_migrate.resolve_relations` (its module doc
says what is matched and how): the comparable form of each kind of key (email, domain,
company or other name, workspace member), the ways each object's records can be found
(:class:`_Matcher`), one object's records in this run and in Twenty (:class:`_Target`,
looked up in batches through the client), and the outcome of each key (:class:`_Resolver`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twenty_migrate.clean.duplicates import LEGAL_SUFFIXES, name_key
from twenty_migrate.plan.steps import existing_ref
from twenty_migrate.twenty.schema import ObjectSchema, WorkspaceSchema
from twenty_migrate.values.parsing import canonical_email, domain_key

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

ROW = "_row"
#: Keys looked up per call: Twenty returns at most 60 records per page on every version.
LOOKUP_BATCH = 60
_WORD = re.compile(r"[^\W_]+")
_COMPANY_FORMS = LEGAL_SUFFIXES | {"z", "oo"}  # "Sp. z o.o."
_DOMAIN_SPELLINGS = ("{}", "www.{}", "https://{}", "https://www.{}", "http://{}", "http://www.{}")


# --------------------------------------------------------------------------- keys
def _text_key(text: str) -> str | None:
    return " ".join(text.casefold().split()) or None


def _company_key(text: str) -> str | None:
    """:func:`~twenty_migrate.clean.duplicates.name_key` for company names, with "S.A." and
    "S.r.l." read as legal forms (dots dropped); written for speed (once per key)."""
    text = text.replace(".", "").replace("&", " and ")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = _WORD.findall(text.casefold())
    kept = [w for w in words if w not in _COMPANY_FORMS] or words
    kept.sort()
    return " ".join(kept) or None


def _person_key(text: str) -> str | None:
    return name_key(text, ()) or None


def _email_key(text: str) -> str | None:
    email = canonical_email(text)
    return email if "@" in email else None


def _looks_like_domain(text: str) -> bool:
    # Keys have their spaces collapsed, so one space test is enough.
    return "." in text and " " not in text and "@" not in text and domain_key(text) is not None


def _name_pattern(text: str) -> str:
    """An ``ilike`` pattern finding ``text``'s spellings: its words in order, anything
    (legal forms, punctuation) between and after them."""
    words = [w for w in re.split(r"[\W_]+", text.replace(".", "").casefold()) if w]
    kept = [w for w in words if w not in _COMPANY_FORMS and w != "and"] or words
    return "%".join(kept) + "%"


def _like_literal(text: str) -> str:
    # LIKE wildcards in a name match any character; the result is filtered afterwards.
    return text.replace("%", "_")


@dataclass(frozen=True)
class _Matcher:
    """One way to find records of an object from a key (by email, domain or name)."""

    kind: str  # email | domain | name
    columns: tuple[str, ...]  # field paths whose values are matched (joined by a space)
    key: Callable[[str], str | None]  # key text (or stored value) -> comparable form
    filter: str  # how Twenty is asked: in | domains | pattern | literal | scan

    @cached_property
    def id(self) -> str:
        return f"{self.kind}:{','.join(self.columns)}"

    @property
    def selection(self) -> str:
        parts: dict[str, list[str]] = {}
        for path in self.columns:
            name, _, sub = path.partition(".")
            parts.setdefault(name, []).extend([sub] if sub else [])
        return "id " + " ".join(f"{n} {{ {' '.join(s)} }}" if s else n for n, s in parts.items())

    def lookup(self, keys: list[tuple[str, str]]) -> dict[str, Any] | None:
        """The filter finding these ``(comparable form, key text)`` pairs; None: all."""
        name, _, sub = self.columns[0].partition(".")
        if self.filter == "scan":
            return None
        if self.filter in ("in", "domains"):
            values = [k for k, _ in keys]
            if self.filter == "domains":
                values = [s.format(k) for k in values for s in _DOMAIN_SPELLINGS]
            return {name: {sub: {"in": values}} if sub else {"in": values}}
        pattern = _name_pattern if self.filter == "pattern" else _like_literal
        return {"or": [{name: {"ilike": pattern(text)}} for _, text in keys]}

    def text(self, rows: pd.DataFrame | dict[str, Any]) -> Any:
        """The matched text of in-run rows (a Series) or of one Twenty record (str/None)."""
        if isinstance(rows, dict):
            parts = [_sub(rows, c) for c in self.columns]
            return " ".join(p for p in parts if p) or None
        if not all(c in rows.columns for c in self.columns):
            return None
        if len(self.columns) == 1:
            return rows[self.columns[0]]
        parts_s = [rows[c].fillna("").astype(str) for c in self.columns]
        joined = parts_s[0].str.cat(parts_s[1:], sep=" ").str.strip()  # type: ignore[arg-type]
        return joined.where(joined != "", None)


def _sub(record: dict[str, Any], path: str) -> str | None:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def _matchers(obj: ObjectSchema) -> list[_Matcher]:
    """How records of ``obj`` can be found: unique emails, unique domains, then the name."""
    scan = obj.is_system  # workspace members: few, read once
    emails, domains = [], []
    for f in obj.fields.values():
        if not f.is_active:
            continue
        if f.type == "EMAILS" and f.is_unique:
            emails.append(_Matcher("email", (f"{f.name}.primaryEmail",), _email_key, "in"))
        elif scan and f.type == "TEXT" and f.name.endswith("Email"):
            emails.append(_Matcher("email", (f.name,), _email_key, "in"))
        elif f.type == "LINKS" and f.is_unique:
            domains.append(_Matcher("domain", (f"{f.name}.primaryLinkUrl",), domain_key, "domains"))
    out = emails + domains
    name = obj.fields.get("name")
    if name is not None and name.type == "TEXT":
        company = obj.name_singular == "company"
        key = _company_key if company else _text_key
        out.append(_Matcher("name", ("name",), key, "pattern" if company else "literal"))
    elif name is not None and name.type == "FULL_NAME" and scan:
        out.append(_Matcher("name", ("name.firstName", "name.lastName"), _person_key, "scan"))
    if scan:
        out = [_Matcher(m.kind, m.columns, m.key, "scan") for m in out]
    return out


# --------------------------------------------------------------------------- outcomes
class _Outcome:
    """What one key resolved to."""

    __slots__ = ("candidates", "message", "status", "target", "value")

    def __init__(
        self,
        status: str,
        target: str,
        *,
        value: Any = None,
        message: str = "",
        candidates: str = "",
    ) -> None:
        self.status = status  # run | twenty | stub | missing | ambiguous | ignored
        self.target = target
        self.value = value  # a _row of the run, or existing_ref(id)
        self.message = message
        self.candidates = candidates


def _rows_text(rows: Iterable[Any]) -> str:
    return ", ".join(f"_row {r}" for r in rows)


def _where(outcome: _Outcome) -> str:
    if outcome.candidates:
        return outcome.candidates
    return str(outcome.value) if outcome.status == "twenty" else f"_row {outcome.value}"


Norms = dict[int, str]  # key position -> its comparable form for one matcher
_NONE = object()


class _Target:
    """The records of one object a key can point to: this run's rows, then Twenty's."""

    def __init__(self, obj: ObjectSchema, resolver: _Resolver) -> None:
        self.obj = obj
        self.name = obj.name_plural
        self.resolver = resolver
        self.matchers = _matchers(obj)
        self.label = obj.label_plural.lower()
        self._index: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {}
        self._found: dict[str, dict[str, list[str]]] = {m.id: {} for m in self.matchers}
        self._looked: dict[str, set[str]] = {m.id: set() for m in self.matchers}

    def norms(self, m: _Matcher, keys: list[str], kinds: list[str]) -> Norms:
        """Comparable forms of the keys ``m`` can take (emails, domain-like or names)."""
        wanted = ("email",) if m.kind == "email" else ("domain", "name")
        if m.kind == "domain":
            wanted = ("domain",)
        out: Norms = {}
        for i, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
            if kind in wanted:
                norm = m.key(key)
                if norm:
                    out[i] = norm
        return out

    # ---------------------------------------------------------------- this run
    def index(self, m: _Matcher) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """Comparable form -> the one row (or the several rows) of this run with it."""
        if m.id in self._index:
            return self._index[m.id]
        frame = self.resolver.frames.get(self.name)
        single: dict[str, Any] = {}
        multi: dict[str, list[Any]] = {}
        text = m.text(frame) if frame is not None else None
        if frame is not None and text is not None and len(frame):
            codes, uniques = pd.factorize(text)
            values = np.asarray(uniques, dtype=object)
            norms = np.array([m.key(str(u)) for u in values] + [None], dtype=object)
            ident = self._identity(frame)
            table = pd.DataFrame(
                {"norm": norms[codes], "row": frame[ROW].to_numpy(), "ident": ident}
            ).dropna(subset=["norm"])
            dup = table["norm"].duplicated(keep=False).to_numpy()
            first = table[~dup]
            single = dict(zip(first["norm"], first["row"], strict=True))
            for norm, group in table[dup].groupby("norm", sort=False):
                idents = group["ident"]
                if idents.notna().all() and idents.nunique() == 1:
                    single[str(norm)] = group["row"].iloc[0]  # one record after upsert
                else:
                    multi[str(norm)] = list(group["row"])
        self._index[m.id] = (single, multi)
        return single, multi

    def _identity(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        for paths in self.obj.unique_keys:
            if len(paths) == 1 and paths[0] in frame.columns:
                return frame[paths[0]].to_numpy(dtype=object)
        return np.full(len(frame), None, dtype=object)

    def in_run(self, m: _Matcher, norms: Norms, hits: dict[int, _Outcome]) -> None:
        """Record a hit for each key (not hit yet) that this run's rows match."""
        single, multi = self.index(m)
        for i, norm in norms.items():
            if i in hits:
                continue
            row = single.get(norm, _NONE)
            if row is not _NONE:
                hits[i] = _Outcome("run", self.name, value=row)
            elif norm in multi:
                rows = multi[norm]
                hits[i] = _Outcome(
                    "ambiguous",
                    self.name,
                    message=f"{len(rows)} {self.label} of this run match by {m.kind}; "
                    "de-duplicate them or name one by a unique key",
                    candidates=_rows_text(rows),
                )

    # ---------------------------------------------------------------- Twenty
    def look_up(self, m: _Matcher, wanted: dict[str, str]) -> None:
        """Find the records for these comparable forms (-> a key text) in Twenty."""
        client = self.resolver.client
        if client is None:
            return
        looked, found = self._looked[m.id], self._found[m.id]
        todo = [(n, t) for n, t in sorted(wanted.items()) if n not in looked]
        if not todo:
            return
        client.object_names(self.name)  # metadata, read once and not part of the lookups
        if m.filter == "scan":
            chunks: list[list[tuple[str, str]]] = [todo] if not looked else []
            looked.add("\0all")
        else:
            size = self.resolver.batch
            chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        for chunk in chunks:
            before = self.resolver.calls_so_far()
            for record in client.iter_records(
                self.name, filter=m.lookup(chunk), fields=m.selection, page_size=LOOKUP_BATCH
            ):
                stored = m.text(record)
                norm = m.key(stored) if stored else None
                if norm and str(record.get("id")) not in found.get(norm, []):
                    found.setdefault(norm, []).append(str(record["id"]))
            self.resolver.count_calls(before, 1)
        looked.update(n for n, _ in todo)

    def in_twenty(self, m: _Matcher, norms: Norms, hits: dict[int, _Outcome]) -> None:
        """Record a hit for each key (not hit yet) that records in Twenty match."""
        found = self._found[m.id]
        for i, norm in norms.items():
            ids = found.get(norm)
            if i in hits or not ids:
                continue
            if len(ids) == 1:
                hits[i] = _Outcome("twenty", self.name, value=existing_ref(ids[0]))
            else:
                hits[i] = _Outcome(
                    "ambiguous",
                    self.name,
                    message=f"{len(ids)} {self.label} in Twenty match by {m.kind}; "
                    "merge them in Twenty or name one by a unique key",
                    candidates=", ".join(existing_ref(i) for i in ids),
                )


# --------------------------------------------------------------------------- resolver
class _Resolver:
    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        schema: WorkspaceSchema,
        client: TwentyClient | None,
        batch: int,
        ignored: frozenset[str],
    ) -> None:
        self.frames = frames
        self.schema = schema
        self.client = client
        self.batch = batch
        self.ignored = ignored
        self.targets: dict[str, _Target] = {}
        self.calls = 0

    def target(self, name: str) -> _Target:
        obj = self.schema.object(name)
        if obj.name_plural not in self.targets:
            self.targets[obj.name_plural] = _Target(obj, self)
        return self.targets[obj.name_plural]

    def calls_so_far(self) -> int | None:
        stats = getattr(self.client, "stats", None)
        snapshot = getattr(stats, "snapshot", None)
        return int(snapshot()["calls"]) if callable(snapshot) else None

    def count_calls(self, before: int | None, fallback: int) -> None:
        after = self.calls_so_far()
        self.calls += after - before if before is not None and after is not None else fallback

    def resolve(self, keys: list[str], targets: list[_Target]) -> list[_Outcome]:
        """One outcome per (case-folded) key: this run first, every target, then Twenty."""
        kinds = [
            "ignored"
            if key in self.ignored
            else "email"
            if "@" in key
            else "domain"
            if "." in key and " " not in key
            else "name"
            for key in keys
        ]
        norms = [[t.norms(m, keys, kinds) for m in t.matchers] for t in targets]
        hits: list[dict[int, _Outcome]] = [{} for _ in targets]
        for t, per_matcher, found in zip(targets, norms, hits, strict=True):
            for m, n in zip(t.matchers, per_matcher, strict=True):
                t.in_run(m, n, found)
        out = self._combine(len(keys), hits)
        if self.client is not None:
            hits = [{} for _ in targets]
            for t, per_matcher, found in zip(targets, norms, hits, strict=True):
                for m, n in zip(t.matchers, per_matcher, strict=True):
                    # Earlier matchers' hits (a domain before a name) need no lookup.
                    wanted = {v: keys[i] for i, v in n.items() if i not in out and i not in found}
                    t.look_up(m, wanted)
                    t.in_twenty(m, {i: v for i, v in n.items() if i not in out}, found)
            out.update(self._combine(len(keys), hits, skip=out))
        where = "this run or in Twenty" if self.client is not None else "this run"
        extra = "" if self.client is not None else " (Twenty not searched: no client)"
        result = []
        for i, kind in enumerate(kinds):
            if i in out:
                result.append(out[i])
                continue
            able = [
                (t, [m.kind for m, n in zip(t.matchers, per, strict=True) if i in n])
                for t, per in zip(targets, norms, strict=True)
            ]
            able = [(t, ks) for t, ks in able if ks]
            if kind == "ignored":
                result.append(_Outcome("ignored", targets[0].name))
            elif not able:
                can = sorted({m.kind for t in targets for m in t.matchers}) or ["nothing"]
                labels = " or ".join(t.label for t in targets)
                result.append(
                    _Outcome(
                        "missing",
                        targets[0].name,
                        message=f"cannot name {labels}, which are matched by {' or '.join(can)}",
                    )
                )
            else:
                labels = " or ".join(t.label for t, _ in able)
                by = " or ".join(dict.fromkeys(k for _, ks in able for k in ks))
                result.append(
                    _Outcome(
                        "missing",
                        able[0][0].name,
                        message=f"no {labels} in {where} match by {by}{extra}",
                    )
                )
        return result

    @staticmethod
    def _combine(
        n: int, hits: list[dict[int, _Outcome]], skip: Collection[int] = ()
    ) -> dict[int, _Outcome]:
        """Each key's hit; hits in several objects make it ambiguous."""
        if len(hits) == 1:
            return {i: o for i, o in hits[0].items() if i not in skip}
        out: dict[int, _Outcome] = {}
        for i in range(n):
            found = [h[i] for h in hits if i in h]
            if i in skip or not found:
                continue
            if len(found) == 1:
                out[i] = found[0]
                continue
            names = " and ".join(o.target for o in found)
            out[i] = _Outcome(
                "ambiguous",
                found[0].target,
                message=f"records of {names} match; name the record by a unique key",
                candidates="; ".join(f"{o.target} {_where(o)}" for o in found),
            )
        return out
