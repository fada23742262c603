"""Record owners: which Twenty workspace member each source user becomes.

Source exports name a record's owner by the source system's user: a Salesforce ``OwnerId``
(``005...``), an email, or a name (``Company Owner``, ``Deal Owner``, ``Assigned To``).
Mapped to ``_ref.<memberJoinColumn>`` (``_ref.accountOwnerId`` on companies,
``_ref.assigneeId`` on tasks, ``_ref.ownerId`` on opportunities where the release has it),
they are resolved to workspace members by :func:`~twenty_migrate.resolve_relations`:

1. **The user map first**, when one is given: a small table the consultant fills in, of
   ``source`` (a source user id, email or name) -> ``member_email`` (the member's login
   email in Twenty). Salesforce ids match in either their 15- or 18-character form.
2. **Then the member's email, then the member's full name** (case, accents and word order
   ignored), as for every relation to workspace members.
3. **An owner that matches no member leaves the field empty** and is reported (status
   ``owner unmatched`` in :attr:`ResolvedRelations.problems`, a ``unmatched_owner`` warning
   in the validation report). The record itself is imported, unless the migration asks for
   ``strict_owners``.

Building the map::

    members = tm.fetch_members(client)                 # id, email, firstName, lastName, name
    suggested = tm.suggest_user_map(companies["Company Owner"], members)
    suggested.to_csv("users.csv", index=False)         # review, fill in the blanks
    rel = tm.resolve_relations(frames, schema, client=client, user_map="users.csv")

or ``"user_map": "users.csv"`` in ``migration.json`` (relative to the spec file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.clean.duplicates import name_key
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.values.parsing import canonical_email
from twenty_migrate.values.salesforce import salesforce_id18

if TYPE_CHECKING:
    from twenty_migrate.relations.jobs import _Job
    from twenty_migrate.relations.matching import _Outcome, _Resolver
    from twenty_migrate.twenty.client import TwentyClient

__all__ = [
    "MEMBER_COLUMNS",
    "OWNER_UNMATCHED",
    "SUGGESTION_COLUMNS",
    "USER_MAP_COLUMNS",
    "fetch_members",
    "load_user_map",
    "suggest_user_map",
]

#: Status of an owner no workspace member matches (a warning: the field is left empty).
OWNER_UNMATCHED = "owner unmatched"
#: The object owners point to.
MEMBER_OBJECT = "workspaceMember"
#: Columns of :func:`fetch_members`.
MEMBER_COLUMNS = ["id", "email", "firstName", "lastName", "name"]
#: Columns a user map must have (others are ignored).
USER_MAP_COLUMNS = ["source", "member_email"]
#: Columns of :func:`suggest_user_map` (a user map to review: its ``member_email`` is the
#: suggestion, empty when there is none).
SUGGESTION_COLUMNS = ["source", "member_email", "reason", "confidence"]

UserMapSource = str | os.PathLike[str] | pd.DataFrame | Mapping[str, str]

_USER_MAP_EXAMPLE = "source,member_email\n005A0000001AbCd,jane@acme.com\nJohn Smith,john@acme.com"


# --------------------------------------------------------------------------- keys
_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\],;]+@[^\s<>()\[\],;]+")


def _email(text: str) -> str | None:
    """The email of ``text``: an address, ``Name <address>``, or ``Name (address)``."""
    email = canonical_email(text)
    if "@" in email and " " not in email:
        return email
    found = _EMAIL_IN_TEXT.findall(text)
    if len(found) == 1:
        email = canonical_email(found[0])
        return email if "@" in email else None
    return None


def _user_key(text: Any) -> str | None:
    """How a source user is compared: Salesforce id (18 chars), email, or name key."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    value = " ".join(str(text).split())
    if not value:
        return None
    sf = salesforce_id18(value)
    if sf is not None:
        return f"sf:{sf}"
    email = _email(value)
    if email is not None:
        return f"email:{email}"
    key = name_key(value, ())
    return f"name:{key}" if key else None


# --------------------------------------------------------------------------- members
def fetch_members(client: TwentyClient) -> pd.DataFrame:
    """The workspace's members: ``id, email, firstName, lastName, name`` (one call).

    Example:
        members = tm.fetch_members(client)
        members[["name", "email"]]
    """
    records = client.iter_records(
        "workspaceMembers", fields="id userEmail name { firstName lastName }"
    )
    return _members_frame(list(records))


def _members_frame(members: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Members in :data:`MEMBER_COLUMNS`, from :func:`fetch_members` or Twenty's records."""
    if isinstance(members, pd.DataFrame):
        if "email" not in members.columns:
            raise ValueError(
                "members must be tm.fetch_members(client) (columns id, email, firstName, "
                f"lastName, name), not a frame with columns {list(members.columns)}"
            )
        frame = members.copy()
    else:
        rows = []
        for record in members:
            name = record.get("name") or {}
            rows.append(
                {
                    "id": record.get("id"),
                    "email": record.get("userEmail") or record.get("email"),
                    "firstName": name.get("firstName") if isinstance(name, Mapping) else None,
                    "lastName": name.get("lastName") if isinstance(name, Mapping) else None,
                }
            )
        frame = pd.DataFrame(rows, columns=MEMBER_COLUMNS[:4])
    for column in MEMBER_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    parts = frame[["firstName", "lastName"]].fillna("").astype(str)
    full = (parts["firstName"] + " " + parts["lastName"]).str.strip()
    frame["name"] = frame["name"].where(frame["name"].notna(), full.where(full != "", None))
    return frame[MEMBER_COLUMNS].sort_values("name", na_position="last").reset_index(drop=True)


# --------------------------------------------------------------------------- suggestions
def suggest_user_map(
    source_owner_values: Iterable[Any], members: pd.DataFrame | Iterable[Mapping[str, Any]]
) -> pd.DataFrame:
    """A user map to review: each distinct source owner and the member it likely is.

    Args:
        source_owner_values: The owner column(s) of the export (ids, emails or names;
            repeats and blanks are fine).
        members: :func:`fetch_members` (or workspace member records as Twenty returns them).

    Returns:
        ``source, member_email, reason, confidence``, one row per distinct value: the same
        email (1.0), the same full name, case, accents and word order ignored (0.9), the
        email's name part matching a member's name or email name (0.6, to check); otherwise
        ``member_email`` is empty and ``reason`` says what to fill in. Save it, fill in and
        correct ``member_email``, and give the file as ``user_map``.

    Example:
        tm.suggest_user_map(companies["Company Owner"], tm.fetch_members(client))
    """
    frame = _members_frame(members)
    by_email: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    by_local: dict[str, list[str]] = {}
    for email, name in zip(frame["email"], frame["name"], strict=True):
        canonical = _email(str(email)) if isinstance(email, str) else None
        if canonical is None:
            continue
        by_email[canonical] = canonical
        if isinstance(name, str) and name_key(name, ()):
            by_name.setdefault(name_key(name, ()), []).append(canonical)
        by_local.setdefault(name_key(canonical.split("@")[0], ()), []).append(canonical)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for value in source_owner_values:
        key = _user_key(value)
        if key is None or key in seen:
            continue
        seen.add(key)
        suggestion = _suggest(key, by_email, by_name, by_local)
        rows.append({"source": " ".join(str(value).split()), **suggestion})
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


def _suggest(
    key: str,
    by_email: dict[str, str],
    by_name: dict[str, list[str]],
    by_local: dict[str, list[str]],
) -> dict[str, Any]:
    kind, _, text = key.partition(":")
    none = {"member_email": None, "confidence": 0.0}
    if kind == "sf":
        return {
            **none,
            "reason": "a Salesforce user id: fill in the member's email (Salesforce's user "
            "export lists each user's id and email)",
        }
    if kind == "email":
        if text in by_email:
            return {"member_email": text, "reason": "same email", "confidence": 1.0}
        local = name_key(text.split("@")[0], ())
        found = list(dict.fromkeys(by_name.get(local, []) + by_local.get(local, [])))
        if len(found) == 1:
            return {
                "member_email": found[0],
                "reason": "the email's name part matches this member (check it)",
                "confidence": 0.6,
            }
        if found:
            return {**none, "reason": f"several members could be it: {', '.join(found)}"}
        return {**none, "reason": "no member has this email or its name: fill in the email"}
    found = by_name.get(text, [])
    if len(found) == 1:
        return {"member_email": found[0], "reason": "same name", "confidence": 0.9}
    if found:
        return {**none, "reason": f"{len(found)} members have this name: {', '.join(found)}"}
    return {**none, "reason": "no member has this name: fill in the member's email"}


# --------------------------------------------------------------------------- user map
def load_user_map(source: UserMapSource) -> pd.DataFrame:
    """Read and check a user map: ``source`` -> ``member_email``.

    Args:
        source: A CSV or Excel file, a DataFrame (e.g. :func:`suggest_user_map`'s, filled
            in), or a dict ``{source: member_email}``. Its ``source`` column names a source
            user by id (Salesforce ``005...``, 15 or 18 characters), email or name; its
            ``member_email`` the workspace member's email. Other columns are ignored, and
            so are rows whose ``member_email`` is empty (owners left unmatched).

    Returns:
        ``source, member_email``, one row per source user.

    Raises:
        ConfigError: No such file, a column missing, an ``member_email`` that is not an
            email, or a source user given two different members; the message says which
            row and what to write.
    """
    where, from_file = "the user map", False
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, Mapping):
        frame = pd.DataFrame({"source": list(source), "member_email": list(source.values())})
    elif isinstance(source, (str, os.PathLike)):
        frame, where, from_file = _read_user_map(Path(source)), str(source), True
    else:
        raise ConfigError(
            "user_map must be a CSV or Excel file, a DataFrame or a dict of source user -> "
            f"member email, not {type(source).__name__}"
        )
    columns = {" ".join(str(c).replace("_", " ").split()).casefold(): c for c in frame.columns}
    missing = [c for c in USER_MAP_COLUMNS if c.replace("_", " ") not in columns]
    if missing:
        raise ConfigError(
            f"{where} needs the columns {USER_MAP_COLUMNS} (source user id, email or name -> "
            f"the workspace member's email); it has {[str(c) for c in frame.columns]}, "
            f"missing {missing}. For example:\n{_USER_MAP_EXAMPLE}"
        )
    picked = frame[[columns[c.replace("_", " ")] for c in USER_MAP_COLUMNS]]
    picked.columns = pd.Index(USER_MAP_COLUMNS)
    out: dict[str, tuple[str, str]] = {}
    for number, (given, email) in enumerate(picked.itertuples(index=False), start=2):
        if _blank(email):
            continue
        row = f"{where}, row {number}" if from_file else f"the user map, entry {number - 1}"
        member = _email(str(email))
        if member is None:
            raise ConfigError(
                f"{row}: member_email {email!r} is not an email; write the workspace "
                "member's login email (tm.fetch_members(client) lists them)"
            )
        key = _user_key(given)
        if key is None:
            raise ConfigError(
                f"{row}: 'source' is empty; write the source user's id, email or name"
            )
        if key in out and out[key][1] != member:
            raise ConfigError(
                f"{row}: {given!r} is mapped twice, to {out[key][1]} and {member}; keep one"
            )
        out[key] = (" ".join(str(given).split()), member)
    return pd.DataFrame(list(out.values()), columns=USER_MAP_COLUMNS)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip()


def _read_user_map(path: Path) -> pd.DataFrame:
    from twenty_migrate.loading.load import load

    if not path.is_file():
        raise ConfigError(
            f"no user map at {path}; write a CSV with the columns source,member_email "
            "(tm.suggest_user_map(...).to_csv(path, index=False) starts one)"
        )
    try:
        return load(path).drop(columns=["_row"], errors="ignore")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the user map {path}: {exc}") from None


class UserLookup:
    """A loaded user map, looked up by a source owner's id, email or name."""

    def __init__(self, user_map: pd.DataFrame) -> None:
        self.members: dict[str, str] = {}
        for given, email in zip(user_map["source"], user_map["member_email"], strict=True):
            key = _user_key(given)
            if key is not None:
                self.members[key] = str(email)

    def __len__(self) -> int:
        return len(self.members)

    def member(self, key: str) -> str | None:
        """The member email a comparable user key (:func:`_user_key`) is mapped to."""
        return self.members.get(key)


def user_lookup(user_map: UserMapSource | None) -> UserLookup | None:
    """A :class:`UserLookup` of ``user_map`` (loaded and checked), or None."""
    return None if user_map is None else UserLookup(load_user_map(user_map))


# --------------------------------------------------------------------------- resolution
def is_owner_job(job: _Job) -> bool:
    """Whether a relation column points at workspace members (an owner or assignee)."""
    return len(job.targets) == 1 and job.targets[0].obj.name_singular == MEMBER_OBJECT


def resolve_owner_job(job: _Job, resolver: _Resolver, users: UserLookup | None) -> None:
    """Fill ``job.outcomes`` for an owner column: the user map, then email and name.

    Rows are re-keyed first so that Salesforce ids compare in their 18-character form (a
    15-character id is case-sensitive, and relation keys are otherwise compared without
    case). An owner that matches no member gets :data:`OWNER_UNMATCHED`.
    """
    from twenty_migrate.relations.matching import _Outcome

    texts = job.text
    keys = [_user_key(t) if isinstance(t, str) else None for t in texts]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    job.codes, job.uniques = codes, uniques
    spelled: dict[int, str] = {}  # how each owner's first row wrote it
    for code, text in zip(codes, texts, strict=True):
        if code >= 0:
            spelled.setdefault(int(code), str(text))
    target = job.targets[0]
    outcomes: list[_Outcome | None] = [None] * len(uniques)
    asked: list[str] = []
    asked_for: list[tuple[int, str | None]] = []
    for u, key in enumerate(str(k) for k in uniques):
        text = spelled[u]
        if " ".join(text.casefold().split()) in resolver.ignored:
            outcomes[u] = _Outcome("ignored", target.name)
            continue
        mapped = users.member(key) if users is not None else None
        if mapped is None and key.startswith("sf:"):
            outcomes[u] = _Outcome(
                OWNER_UNMATCHED,
                target.name,
                message="a Salesforce user id that the user map does not name: add it "
                "(source -> the member's email)",
            )
            continue
        if mapped is None and key.startswith("email:"):
            mapped_or_key = key[len("email:") :]  # "Jane (jane@x.com)" is looked up by email
        else:
            mapped_or_key = mapped or " ".join(text.casefold().split())
        asked.append(mapped_or_key)
        asked_for.append((u, mapped))
    found = resolver.resolve(asked, job.targets) if asked else []
    for (u, mapped), outcome in zip(asked_for, found, strict=True):
        if outcome.status in ("missing", "ambiguous"):
            outcome = _unmatched(outcome, mapped)
        outcomes[u] = outcome
    resolved = [o for o in outcomes if o is not None]
    assert len(resolved) == len(uniques), "every owner key gets an outcome"
    job.outcomes = resolved


def _unmatched(outcome: _Outcome, mapped: str | None) -> _Outcome:
    from twenty_migrate.relations.matching import _Outcome

    if mapped is not None:
        why = (
            f"the user map names {mapped}, which several members match"
            if outcome.status == "ambiguous"
            else f"the user map names {mapped}, and no workspace member has that email"
        )
        message = f"{why}: correct the user map"
    else:
        message = f"{outcome.message}: add this owner to the user map (source -> member email)"
    return _Outcome(OWNER_UNMATCHED, outcome.target, message=message, candidates=outcome.candidates)
