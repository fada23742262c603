"""The reads behind :mod:`twenty_migrate.verify.verify`: each object looked at in as few
calls as the server allows.

Every call asks for Twenty's per-call cap (``QUERY_MAX_RECORDS``) and selects only ids and
join columns. The cap comes from ``client.traits.max_records`` when calibrated; otherwise
the first page asks for :data:`PROBE_PAGE_SIZE` and the server's answer says its cap (a
page shorter than asked with more to come). Per object, the first unfiltered page gives
the workspace count and, on a small object, every record; past it the cheapest of three
ways finishes: the remaining pages, the run's records by id, or counts filtered by the
run's ids (one, plus one per link column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twenty_migrate.twenty.client import SAFE_CHUNK_SIZE
from twenty_migrate.twenty.errors import BadRequestError, TwentyAPIError
from twenty_migrate.twenty.queries import pascal_case

if TYPE_CHECKING:
    from twenty_migrate.twenty.client import TwentyClient

#: First page size when the cap is not calibrated: Twenty's largest QUERY_MAX_RECORDS
#: (10,000 since PR #15738, twenty-api.md §2.3). Twenty's find-many serves ``first`` as
#: asked, neither capped nor refused (``common-find-many-query-runner.service.ts``); should
#: a server refuse it anyway, the reader falls back to 60, the size every release takes.
PROBE_PAGE_SIZE = 10_000
#: Ids per counting filter: Postgres binds each id of an ``in`` filter as one parameter
#: (at most 65,535 per statement) and the request body grows by ~40 bytes per id.
COUNT_CHUNK = 5_000


@dataclass
class Page:
    """One findMany answer: the records, whether more follow, and the filtered count."""

    records: list[dict[str, Any]]
    has_next: bool
    end_cursor: str | None
    total: int


@dataclass
class ObjectFacts:
    """What verification learned of one object.

    Attributes:
        in_workspace: Records of the object in the workspace (soft-deleted ones aside).
        in_run: The run's ids Twenty holds; None when the run was not asked about.
        duplicated: Records returned more than once (only counted when records were read).
        linked: Per join column, the run's records (or all, with no run) where it is set.
        total: The records ``linked`` counts among.
        records: Every record of the object (id and join columns), when all were read.
    """

    in_workspace: int
    in_run: int | None = None
    duplicated: int = 0
    linked: dict[str, int] = field(default_factory=dict)
    total: int = 0
    records: list[dict[str, Any]] | None = None


class PageReader:
    """Reads pages at the server's cap and counts the calls it spent.

    Args:
        client: A connected client; ``client.traits.max_records`` is the cap when known.
    """

    def __init__(self, client: TwentyClient) -> None:
        self.client = client
        self.calls = 0
        self.cap: int | None = client.traits.max_records

    @property
    def page_size(self) -> int:
        """Records to ask for per call: the cap, or the probe until the cap is learned."""
        return self.cap or PROBE_PAGE_SIZE

    def page(
        self,
        plural: str,
        fields: str,
        filter: dict[str, Any] | None = None,
        *,
        first: int | None = None,
        after: str | None = None,
    ) -> Page:
        """One page of ``plural`` (``first`` defaults to :attr:`page_size`)."""
        asked = first or self.page_size
        try:
            page = self._call(plural, fields, filter, asked, after)
        except BadRequestError:
            # A server that refuses a page above its cap: ask for what every release takes.
            if self.cap is not None or asked <= SAFE_CHUNK_SIZE:
                raise
            self.cap = SAFE_CHUNK_SIZE
            asked = min(asked, self.cap)
            page = self._call(plural, fields, filter, asked, after)
        if self.cap is None and page.has_next and page.records:
            self.cap = len(page.records)  # the server served its cap and has more
        return page

    def _call(
        self, plural: str, fields: str, filter: dict[str, Any] | None, first: int, after: str | None
    ) -> Page:
        singular, plural = self.client.object_names(plural)
        variables: dict[str, Any] = {"first": first}
        declared = ["$first: Int"]
        if filter is not None:
            variables["filter"] = filter
            declared.append(f"$filter: {pascal_case(singular)}FilterInput")
        if after is not None:
            variables["after"] = after
            declared.append("$after: String")
        args = ", ".join(f"{name}: ${name}" for name in variables)
        query = (
            f"query VerifyPage({', '.join(declared)}) {{ {plural}({args}) {{ "
            f"edges {{ node {{ {fields} }} }} pageInfo {{ hasNextPage endCursor }} totalCount }} }}"
        )
        self.calls += 1
        data = self.client.graphql(query, variables, idempotent=True)
        found = data.get(plural) or {}
        info = found.get("pageInfo") or {}
        return Page(
            records=[edge["node"] for edge in found.get("edges") or []],
            has_next=bool(info.get("hasNextPage")),
            end_cursor=info.get("endCursor"),
            total=int(found.get("totalCount") or 0),
        )

    def rest_of(
        self, plural: str, fields: str, filter: dict[str, Any] | None, first: Page
    ) -> list[dict[str, Any]]:
        """The records of ``first`` and of every page after it."""
        records = list(first.records)
        page = first
        while page.has_next:
            after = page.end_cursor
            if not after:
                raise TwentyAPIError(f"Twenty's pagination of {plural} gave no cursor")
            page = self.page(plural, fields, filter, after=after)
            if page.has_next and page.end_cursor == after:
                raise TwentyAPIError(f"Twenty's pagination of {plural} did not advance")
            records.extend(page.records)
        return records

    def count(self, plural: str, filter: dict[str, Any]) -> int:
        """Records matching ``filter``, in one call."""
        return self.page(plural, "id", filter, first=1).total

    def by_ids(self, plural: str, fields: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The records with these ids, ``cap`` ids per call."""
        found: list[dict[str, Any]] = []
        start = 0
        while start < len(ids):
            chunk = list(ids[start : start + self.page_size])
            filter = {"id": {"in": chunk}}
            found.extend(self.rest_of(plural, fields, filter, self.page(plural, fields, filter)))
            start += len(chunk)
        return found


def read_object(
    reader: PageReader,
    plural: str,
    *,
    run_ids: Sequence[str] | None,
    joins: Sequence[str] = (),
    record_joins: Sequence[str] = (),
    incomplete_cost: int = 0,
) -> ObjectFacts:
    """Look at one object in as few calls as the server allows.

    Args:
        reader: Where the calls go.
        plural: The object.
        run_ids: The ids the run landed (None: the whole object, every record read).
        joins: Join columns whose coverage is wanted.
        record_joins: Join columns wanted on the records only (a target's owner column).
        incomplete_cost: Calls it costs later not to have every record (to look up the
            owners a target object links).
    """
    fields = " ".join(dict.fromkeys(["id", *joins, *record_joins]))
    first = reader.page(plural, fields)
    facts = ObjectFacts(in_workspace=first.total)
    if not first.has_next:
        return _from_records(facts, first.records, run_ids, joins)
    if run_ids is None:
        return _from_records(facts, reader.rest_of(plural, fields, None, first), run_ids, joins)
    cap = reader.page_size
    remaining_pages = math.ceil(first.total / cap) - 1
    by_id_calls = math.ceil(len(run_ids) / cap) + incomplete_cost
    count_calls = math.ceil(len(run_ids) / COUNT_CHUNK) * (1 + len(joins)) + incomplete_cost
    cheapest = min(remaining_pages, by_id_calls, count_calls)
    if cheapest == remaining_pages:
        return _from_records(facts, reader.rest_of(plural, fields, None, first), run_ids, joins)
    if cheapest == by_id_calls:
        facts = _from_records(facts, reader.by_ids(plural, fields, run_ids), run_ids, joins)
        facts.records = None  # only the run's records were read
        return facts
    facts.in_run = facts.total = 0
    facts.linked = dict.fromkeys(joins, 0)
    for start in range(0, len(run_ids), COUNT_CHUNK):
        of_run = {"id": {"in": list(run_ids[start : start + COUNT_CHUNK])}}
        found = reader.count(plural, of_run)
        facts.in_run += found
        facts.total += found
        for join in joins:
            linked = {"and": [of_run, {join: {"is": "NOT_NULL"}}]}
            facts.linked[join] += reader.count(plural, linked)
    return facts


def _from_records(
    facts: ObjectFacts,
    records: list[dict[str, Any]],
    run_ids: Sequence[str] | None,
    joins: Sequence[str],
) -> ObjectFacts:
    facts.records = records
    if run_ids is None:
        mine = records
    else:
        wanted = set(run_ids)
        mine = [r for r in records if str(r["id"]) in wanted]
    ids = [str(r["id"]) for r in mine]
    facts.duplicated = len(ids) - len(set(ids))
    facts.in_run = len(set(ids))
    unique = list({str(r["id"]): r for r in mine}.values())
    facts.total = len(unique)
    facts.linked = {join: sum(r.get(join) is not None for r in unique) for join in joins}
    return facts


def linked_owners(reader: PageReader, holder: str, join: str, owner_ids: Sequence[str]) -> set[str]:
    """The ids among ``owner_ids`` that some ``holder`` record points to through ``join``."""
    linked: set[str] = set()
    fields = f"id {join}"
    start = 0
    while start < len(owner_ids):
        chunk = list(owner_ids[start : start + reader.page_size])
        filter = {join: {"in": chunk}}
        for record in reader.rest_of(holder, fields, filter, reader.page(holder, fields, filter)):
            linked.add(str(record[join]))
        start += len(chunk)
    return linked & set(owner_ids)
