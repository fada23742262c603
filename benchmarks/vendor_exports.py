"""How well the toolkit migrates real vendor exports with its suggestions only.

For every file of ``sample_data/vendors`` (Salesforce, HubSpot, Pipedrive exports; see
``truth.json`` there for the right target of each column):

1. ``tm.load`` it and ``tm.suggest_mapping`` against the sandbox's schema, with no edits;
   compare each column's suggestion with the truth: right, wrong (mapped somewhere else),
   missed (left unmapped), wrong maps into a field of another kind (a phone into a text
   field, a name into a relation...), and the hand edits needed (columns whose suggestion
   differs from the truth).
2. Apply those edits to the suggestion (``with_column`` / ``without``, the suggested
   transforms kept), then ``MigrationSpec.prepare`` and ``Importer.run`` the vendor's files
   into a fresh sandbox, and count the records set aside before the import, the records the
   sandbox rejected, the relations and the owners set, against the numbers ``truth.json``
   expects.

Targets the toolkit cannot take yet (references by source id ``_sourceref.*``, task and note
targets beyond one column, a user map, splitting a mixed activity file) are reported as "not
supported yet" and left out of the import; each is probed at run time, so a capability counts
as soon as it lands.

Run from the repository root: ``python benchmarks/vendor_exports.py`` (``--vendor hubspot``,
``--twenty-version 1.x``, ``--verbose`` for every column). The last line is::

    TOTAL mapped_right=..% wrong_kind=N edits_per_file=.. set_aside=N rejected=N
    relations=a/b owners=a/b   (on one line)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import inspect
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

import twenty_migrate as tm  # noqa: E402
from twenty_migrate.sandbox import Sandbox  # noqa: E402

# The package serves these on first use (typed ``object`` by its ``__getattr__``).
load: Any = tm.load
suggest_mapping: Any = tm.suggest_mapping
FieldMap: Any = tm.FieldMap
MigrationSpec: Any = tm.MigrationSpec
SourceSpec: Any = tm.SourceSpec

VENDORS_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "vendors"
VENDOR_ORDER = ("salesforce", "hubspot", "pipedrive")
OWNER_TARGETS = ("_ref.accountOwnerId", "_ref.ownerId", "_ref.assigneeId")
NOT_SUPPORTED = "not supported yet"
# Columns a split of a mixed activity file writes, and the task/note fields they feed.
SPLIT_COLUMNS = {
    "Title": "title",
    "Body": "bodyV2.markdown",
    "Due Date": "dueAt",
    "Status": "status",
}


# ------------------------------------------------------------------------------ scoring


@dataclass
class MappingScore:
    """How a file's suggested mapping compares with the truth."""

    file: str
    columns: int = 0
    right: int = 0
    wrong: int = 0
    missed: int = 0
    wrong_kind: int = 0
    details: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)

    @property
    def edits(self) -> int:
        return self.wrong + self.missed


def suggested_targets(fmap: Any, columns: Sequence[str]) -> dict[str, str | None]:
    """Each column's suggested target, the source id column included when the field map
    names one (``FieldMap.source_id``)."""
    out: dict[str, str | None] = {c: fmap.mapping.get(c) for c in columns}
    source_id = getattr(fmap, "source_id", None)
    if source_id in out:
        out[source_id] = "source_id"
    return out


def target_kind(target: str | None, obj: Any) -> str:
    """What sort of value a target holds: a field type, a relation, the row's id, nothing."""
    if target is None:
        return "NONE"
    if target == "source_id":
        return "SOURCE_ID"
    if target.startswith(("_ref.", "_sourceref.")):
        join = target.split(".", 1)[1]
        return "OWNER" if obj.relations.get(join) == "workspaceMember" else "RELATION"
    if target in obj.relations:
        return "OWNER" if obj.relations[target] == "workspaceMember" else "RELATION"
    found = obj.fields.get(target.split(".", 1)[0])
    return str(found.type) if found is not None else f"UNKNOWN:{target}"


def score_mapping(
    name: str, suggested: Mapping[str, str | None], truth: Mapping[str, str | None], obj: Any
) -> MappingScore:
    score = MappingScore(name, columns=len(truth))
    for column, right in truth.items():
        given = suggested.get(column)
        if given == right:
            score.right += 1
            verdict = "right"
        elif given is None:
            score.missed += 1
            verdict = "missed"
        else:
            score.wrong += 1
            verdict = "wrong"
            # A wrong map into another kind of field (truth None: any map is a stray one,
            # counted as wrong but not as another kind).
            if right is not None and target_kind(given, obj) != target_kind(right, obj):
                score.wrong_kind += 1
                verdict = "wrong kind"
        score.details.append((column, given, right, verdict))
    return score


# ------------------------------------------------------------------------------ capabilities


def field_map_accepts(object_name: str, path: str, obj: Any) -> bool:
    """Whether a field map of this release takes ``path`` on ``obj``."""
    try:
        FieldMap(object_name, {"column": path}).resolve(obj)
    except (tm.MappingError, ValueError, KeyError):
        return False
    return True


def spec_takes(option: str) -> bool:
    return option in {f.name for f in dataclasses.fields(MigrationSpec)}


def sandbox_takes_members() -> bool:
    return "members" in inspect.signature(Sandbox.__init__).parameters


# ------------------------------------------------------------------------------ importing


@dataclass
class ImportScore:
    records_expected: int = 0
    records_landed: int = 0
    set_aside: int = 0
    rejected: int = 0
    relations: int = 0
    relations_expected: int = 0
    owners: int = 0
    owners_expected: int = 0
    unsupported: list[str] = field(default_factory=list)
    set_aside_by_field: dict[str, int] = field(default_factory=dict)
    #: Per object: the same counts (``landed``, ``records_expected``, ``set_aside``...).
    per_object: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None

    def add(self, obj: str, key: str, value: int) -> None:
        counts = self.per_object.setdefault(obj, {})
        counts[key] = counts.get(key, 0) + value


def edited_map(fmap: Any, truth: Mapping[str, str | None]) -> Any:
    """The suggestion with the hand edits that make it the truth (transforms kept)."""
    for column, target in truth.items():
        given = fmap.mapping.get(column)
        if target is None or target == "source_id":
            if given is not None:
                fmap = fmap.without(column)
        elif given != target:
            fmap = fmap.with_column(column, target)
    return fmap


def vendor_files(truth: Mapping[str, Any], vendor: str) -> list[str]:
    return [name for name, entry in truth["files"].items() if entry["vendor"] == vendor]


def prepare_sources(
    truth: Mapping[str, Any],
    vendor: str,
    schema: Any,
    work: Path,
    score: ImportScore,
) -> list[Any]:
    """Per file: the truth mapping (as far as this release takes it) saved beside a copy of
    the file, and the source spec that reads them."""
    sources = []
    for name in vendor_files(truth, vendor):
        entry = truth["files"][name]
        if not entry["import"]:
            continue
        frame = load(VENDORS_DIR / name)
        parts: list[tuple[str, pd.DataFrame, dict[str, str | None]]] = []
        split = entry.get("split")
        if split is not None:
            parts = split_parts(frame, entry, score)
        else:
            parts = [(entry["object"], frame, dict(entry["columns"]))]
        for obj_name, part, columns in parts:
            obj = schema.object(obj_name)
            kept: dict[str, str | None] = {}
            targets: list[str] = []
            source_id = None
            for column, target in columns.items():
                if target is None:
                    kept[column] = None
                elif target == "source_id":
                    source_id = column
                    kept[column] = None
                elif target.endswith(".targets") and not field_map_accepts(obj_name, target, obj):
                    if target.startswith("_ref.") and not targets:
                        targets.append(column)  # one natural-key column: the spec's targets
                    else:
                        score.unsupported.append(f"{name} {column!r} -> {target}")
                    kept[column] = None
                elif field_map_accepts(obj_name, target, obj):
                    kept[column] = target
                else:
                    score.unsupported.append(f"{name} {column!r} -> {target}")
                    kept[column] = None
            data_cols = [c for c in part.columns if c != "_row"]
            fmap = edited_map(suggest_mapping(part[data_cols], obj), kept)
            stem = f"{Path(name).stem}.{obj_name}"
            file = str(VENDORS_DIR / name)
            if split is not None:  # the part is written out; a whole file is read as it is
                file = f"{stem}.csv"
                part[data_cols].to_csv(work / file, index=False)
            fmap.save(work / f"{stem}.mapping.json")
            sources.append(
                SourceSpec(
                    object=obj_name,
                    file=file,
                    mapping=f"{stem}.mapping.json",
                    targets=targets[0] if targets else None,
                    source_id=source_id,
                )
            )
    return sources


def split_parts(
    frame: pd.DataFrame, entry: Mapping[str, Any], score: ImportScore
) -> list[tuple[str, pd.DataFrame, dict[str, str | None]]]:
    """A mixed activity file as tasks and notes: by ``tm.split_activities`` when the release
    has it, else only the rows of the file's own object (the others are counted as not
    supported)."""
    split = entry["split"]
    splitter = getattr(tm, "split_activities", None)
    if splitter is not None:
        try:
            result = splitter(frame, type_column=split["column"])
            parts = []
            for obj_name, part in (("tasks", result.tasks), ("notes", result.notes)):
                truth_cols = split["columns"].get(obj_name, entry["columns"])
                columns = {c: t for c, t in truth_cols.items() if c in part.columns}
                columns |= {c: t for c, t in SPLIT_COLUMNS.items() if c in part.columns}
                parts.append((obj_name, part.reset_index(drop=True), columns))
            return parts
        except Exception as exc:  # a changed API must not stop the other vendors
            score.unsupported.append(f"activity split failed ({type(exc).__name__}: {exc})")
    own = entry["object"]
    objects = frame[split["column"]].map(split["objects"])
    others = int((objects != own).sum())
    score.unsupported.append(f"activity split: {others} rows of other objects left out")
    return [(own, frame[objects == own].reset_index(drop=True), dict(entry["columns"]))]


def user_map_rows(vendor: str) -> list[dict[str, str]]:
    with open(VENDORS_DIR / "users.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["vendor"] == vendor]


def run_import(truth: Mapping[str, Any], vendor: str, twenty_version: str | None) -> ImportScore:
    score = ImportScore()
    for name in vendor_files(truth, vendor):
        entry = truth["files"][name]
        expected = entry["expected"]
        score.records_expected += expected["records"]
        score.relations_expected += expected["relations"]
        score.owners_expected += expected["owners"]
        if not entry["import"]:
            continue
        if "split" in entry:
            by_object = entry["split"]["expected"]
            for what in ("records", "relations", "owners"):
                for obj_name, value in by_object[what].items():
                    score.add(obj_name, f"{what}_expected", value)
        else:
            for what in ("records", "relations", "owners"):
                score.add(entry["object"], f"{what}_expected", expected[what])
    members = [
        {"name": {"firstName": m["firstName"], "lastName": m["lastName"]}, "userEmail": m["email"]}
        for m in truth["members"]
    ]
    options: dict[str, Any] = {"twenty_version": twenty_version, "throttle": False}
    if sandbox_takes_members():
        options["members"] = members
    else:
        score.unsupported.append("sandbox members: " + NOT_SUPPORTED)
    sandbox = Sandbox(**options)
    with (
        tempfile.TemporaryDirectory() as tmp,
        tm.TwentyClient(
            base_url=sandbox.base_url,
            api_key=sandbox.api_key,
            transport=sandbox.transport(),
            env_file=None,
            traits_path=None,
        ) as client,
    ):
        work = Path(tmp)
        schema = tm.fetch_schema(client)
        sources = prepare_sources(truth, vendor, schema, work, score)
        extra: dict[str, Any] = {}
        if spec_takes("user_map"):
            users = pd.DataFrame(user_map_rows(vendor))[["source", "member_email"]]
            users.to_csv(work / "users.csv", index=False)
            extra["user_map"] = "users.csv"
        else:
            score.unsupported.append("user map: " + NOT_SUPPORTED)
        spec = MigrationSpec(
            name=f"vendor-{vendor}", sources=tuple(sources), base_dir=work, **extra
        )
        try:
            prepared = spec.prepare(client)
        except Exception as exc:  # the benchmark reports, it does not stop
            score.error = f"prepare failed: {type(exc).__name__}: {exc}"
            return score
        score.set_aside = len(prepared.excluded)
        if not prepared.excluded.empty:  # "stage: 'Closed Won' is not an option..." -> stage
            fields = prepared.excluded["reason"].astype(str).str.split(":").str[0]
            fields = fields.where(fields.str.fullmatch(r"[\w.]+"), "other (a row it needs)")
            score.set_aside_by_field = {str(k): int(v) for k, v in fields.value_counts().items()}
            for obj_name, count in prepared.excluded["object"].value_counts().items():
                score.add(str(obj_name), "set_aside", int(count))
        if prepared.plan is None:
            return score
        importer = tm.Importer(client, runs_dir=work / "runs", progress=None)
        result = importer.run(prepared.plan)
        score.rejected = len(result.failures)
        if not result.failures.empty:
            for obj_name, count in result.failures["object"].value_counts().items():
                score.add(str(obj_name), "rejected", int(count))
        landed = {s.object: 0 for s in sources}
        for obj_name, counts in result.counts.items():
            if obj_name in landed:
                landed[obj_name] = int(counts.get("created", 0)) + int(counts.get("updated", 0))
                score.add(obj_name, "records", landed[obj_name])
        score.records_landed = sum(landed.values())
        count_links(client, schema, sorted(landed), score)
    return score


def count_links(client: Any, schema: Any, objects: Sequence[str], score: ImportScore) -> None:
    """Relations and owners set on the imported records (the sandbox held none before)."""
    for obj_name in objects:
        obj = schema.object(obj_name)
        records = tm.fetch_records(client, obj_name)
        for join, target in obj.relations.items():
            if join not in records.columns:
                continue
            filled = int(records[join].notna().sum())
            kind = "owners" if target == "workspaceMember" else "relations"
            score.add(obj_name, kind, filled)
        link_object = f"{obj.name_singular}Targets"
        if link_object in schema.objects:
            score.add(obj_name, "relations", len(tm.fetch_records(client, link_object)))
    score.relations = sum(c.get("relations", 0) for c in score.per_object.values())
    score.owners = sum(c.get("owners", 0) for c in score.per_object.values())


# ------------------------------------------------------------------------------ report


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def report_vendor(
    truth: Mapping[str, Any], vendor: str, schema: Any, twenty_version: str | None, verbose: bool
) -> tuple[list[MappingScore], ImportScore]:
    print(f"== {vendor}")
    scores = []
    for name in vendor_files(truth, vendor):
        entry = truth["files"][name]
        obj = schema.object(entry["object"])
        frame = load(VENDORS_DIR / name)
        columns = [c for c in frame.columns if c != "_row"]
        fmap = suggest_mapping(frame[columns], obj)
        score = score_mapping(name, suggested_targets(fmap, columns), entry["columns"], obj)
        scores.append(score)
        print(
            f"  {name} -> {entry['object']}: right {score.right}/{score.columns}, "
            f"wrong {score.wrong} (other kind {score.wrong_kind}), missed {score.missed}, "
            f"edits {score.edits}"
        )
        for column, given, right, verdict in score.details:
            if verbose or verdict != "right":
                print(f"      {verdict:<10} {column!r}: suggested {given} / truth {right}")
    imported = run_import(truth, vendor, twenty_version)
    if imported.error:
        print(f"  import: {imported.error}")
    print(
        f"  import: {imported.records_landed}/{imported.records_expected} records landed, "
        f"set aside {imported.set_aside}, rejected by the sandbox {imported.rejected}, "
        f"relations {imported.relations}/{imported.relations_expected}, "
        f"owners {imported.owners}/{imported.owners_expected}"
    )
    for obj_name, c in imported.per_object.items():
        print(
            f"    {obj_name}: {c.get('records', 0)}/{c.get('records_expected', 0)} landed, "
            f"set aside {c.get('set_aside', 0)}, rejected {c.get('rejected', 0)}, "
            f"relations {c.get('relations', 0)}/{c.get('relations_expected', 0)}, "
            f"owners {c.get('owners', 0)}/{c.get('owners_expected', 0)}"
        )
    if imported.set_aside_by_field:
        reasons = ", ".join(f"{k} {v}" for k, v in imported.set_aside_by_field.items())
        print(f"  set aside, by the field that failed: {reasons}")
    for item in imported.unsupported:
        print(f"  {NOT_SUPPORTED}: {item}" if NOT_SUPPORTED not in item else f"  {item}")
    return scores, imported


def summary(label: str, scores: Sequence[MappingScore], imported: Sequence[ImportScore]) -> str:
    columns = sum(s.columns for s in scores)
    right = sum(s.right for s in scores)
    edits = sum(s.edits for s in scores) / len(scores) if scores else 0.0
    return (
        f"{label} mapped_right={percent(right, columns)} "
        f"wrong_kind={sum(s.wrong_kind for s in scores)} edits_per_file={edits:.1f} "
        f"set_aside={sum(i.set_aside for i in imported)} "
        f"rejected={sum(i.rejected for i in imported)} "
        f"relations={sum(i.relations for i in imported)}/"
        f"{sum(i.relations_expected for i in imported)} "
        f"owners={sum(i.owners for i in imported)}/{sum(i.owners_expected for i in imported)}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", choices=VENDOR_ORDER, action="append")
    parser.add_argument("--twenty-version", default=None, help="sandbox profile (default: newest)")
    parser.add_argument("--verbose", action="store_true", help="print every column")
    args = parser.parse_args(argv)
    truth = json.loads((VENDORS_DIR / "truth.json").read_text(encoding="utf-8"))
    sandbox = Sandbox(twenty_version=args.twenty_version)
    with tm.TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
        traits_path=None,
    ) as client:
        schema = tm.fetch_schema(client)
    lines: list[str] = []
    all_scores: list[MappingScore] = []
    all_imports: list[ImportScore] = []
    for vendor in args.vendor or VENDOR_ORDER:
        scores, imported = report_vendor(truth, vendor, schema, args.twenty_version, args.verbose)
        all_scores += scores
        all_imports.append(imported)
        lines.append(summary(vendor, scores, [imported]))
    print()
    for line in lines:
        print(line)
    print(summary("TOTAL", all_scores, all_imports))


if __name__ == "__main__":
    main()
