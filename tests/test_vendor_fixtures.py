"""The vendor-shaped exports under sample_data/vendors and their answer key agree.

The generator reproduces the committed files; ``truth.json`` names a target for every column,
and each target exists on the sandbox's standard objects in every release profile; every
reference resolves to a row of the file it points at, except those broken on purpose.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from twenty_migrate import WorkspaceSchema

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ROOT / "sample_data" / "vendors"
TRUTH = json.loads((VENDORS / "truth.json").read_text(encoding="utf-8"))
FILES: dict[str, Any] = TRUTH["files"]
OWNER_TARGETS = {"_ref.accountOwnerId", "_ref.ownerId", "_ref.assigneeId"}
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def read_rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(VENDORS / name, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def salesforce_18(value: str) -> str:
    """Salesforce's 18-character form of a 15- or 18-character id (checksum recomputed)."""
    id15 = value[:15]
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def reference_key(value: str, kind: str) -> str:
    if kind == "salesforce_id":
        return salesforce_18(value)
    if kind == "email":
        return value.strip().lower()
    return value.strip()


def test_the_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(VENDORS / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(VENDORS).as_posix()
        for p in VENDORS.rglob("*")
        if p.is_file()
        and p.name not in ("generate.py", "README.md")
        and "__pycache__" not in p.parts
    )
    assert made == committed
    for name in made:
        assert (tmp_path / name).read_bytes() == (VENDORS / name).read_bytes(), name


def test_files_are_small_and_the_answer_key_covers_every_column() -> None:
    on_disk = sorted(
        p.relative_to(VENDORS).as_posix() for p in VENDORS.glob("*/*.csv") if p.is_file()
    )
    assert sorted(FILES) == on_disk
    for name, entry in FILES.items():
        header, rows = read_rows(name)
        assert list(entry["columns"]) == header, name
        assert entry["rows"] == len(rows), name
        if entry["import"]:
            assert 20 <= len(rows) <= 80, name
        split = entry.get("split")
        if split:
            for columns in split["columns"].values():
                assert list(columns) == header, name
            values = {row[split["column"]] for row in rows}
            assert values <= set(split["objects"]), name
            assert sum(split["expected"]["records"].values()) == len(rows)


def test_salesforce_ids_carry_a_correct_case_checksum() -> None:
    for name, entry in FILES.items():
        if entry["vendor"] != "salesforce":
            continue
        _, rows = read_rows(name)
        for row in rows:
            assert row["Id"] == salesforce_18(row["Id"]), (name, row["Id"])


def _targets(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(object, column, target) of every mapped column of a file, split objects included."""
    found = [(entry["object"], c, t) for c, t in entry["columns"].items() if t]
    for obj, columns in entry.get("split", {}).get("columns", {}).items():
        found += [(obj, c, t) for c, t in columns.items() if t]
    return found


def test_every_target_exists_on_the_standard_objects(schema: WorkspaceSchema) -> None:
    checked = 0
    for name, entry in FILES.items():
        for obj_name, column, target in _targets(entry):
            obj = schema.object(obj_name)
            where = f"{name} {column!r} -> {target!r} on {obj_name}"
            if target == "source_id":
                assert entry["columns"][column] == "source_id", where
            elif target.startswith(("_ref.", "_sourceref.")):
                join = target.split(".", 1)[1]
                if join == "targets":
                    assert f"{obj.name_singular}Targets" in schema.objects, where
                else:
                    assert join in obj.relations, where
                    is_owner = obj.relations[join] == "workspaceMember"
                    assert is_owner == (target in OWNER_TARGETS), where
                    if is_owner:  # owners are named by email or name, never by source id
                        assert target.startswith("_ref."), where
            else:
                whole = obj.fields.get(target)
                assert target in obj.writable_paths() or (
                    whole is not None and whole.type == "FULL_NAME"
                ), where
            checked += 1
    assert checked > 80


def test_each_file_has_one_source_id_and_owners_only_where_twenty_has_them() -> None:
    for name, entry in FILES.items():
        targets = list(entry["columns"].values())
        expected_ids = 0 if name.endswith("hubspot-activities.csv") else 1
        assert targets.count("source_id") == expected_ids, name
        if entry["object"] == "people":  # a person has no owner in Twenty's standard objects
            assert not OWNER_TARGETS & set(targets), name


def _users() -> dict[str, dict[str, str]]:
    with open(VENDORS / "users.csv", newline="", encoding="utf-8") as handle:
        by_vendor: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(handle):
            by_vendor.setdefault(row["vendor"], {})[row["source"]] = row["member_email"]
    return by_vendor


def test_the_user_map_names_only_members() -> None:
    members = {member["email"] for member in TRUTH["members"]}
    users = _users()
    assert sorted(users) == ["hubspot", "pipedrive", "salesforce"]
    for mapping in users.values():
        assert set(mapping.values()) == members
    _, sf_users = read_rows("salesforce/User.csv")
    emails = {row["Id"]: row["Email"] for row in sf_users}
    for user_id, email in users["salesforce"].items():
        assert emails[user_id] == email


def _row_objects(entry: dict[str, Any], rows: list[dict[str, str]]) -> list[str]:
    split = entry.get("split")
    if not split:
        return [entry["object"]] * len(rows)
    return [split["objects"][row[split["column"]]] for row in rows]


def test_references_resolve_except_the_broken_ones() -> None:
    keys: dict[tuple[str, str, str], set[str]] = {}
    for name, entry in FILES.items():
        _, rows = read_rows(name)
        objects = _row_objects(entry, rows)
        unresolved: dict[str, int] = {}
        resolved = 0
        for column, ref in entry["references"].items():
            cache_key = (",".join(ref["files"]), ref["key"], ref["kind"])
            if cache_key not in keys:
                keys[cache_key] = {
                    reference_key(row[ref["key"]], ref["kind"])
                    for file in ref["files"]
                    for row in read_rows(file)[1]
                    if row[ref["key"]]
                }
            for row, obj in zip(rows, objects, strict=True):
                value = row[column]
                if not value:
                    continue
                if reference_key(value, ref["kind"]) in keys[cache_key]:
                    # A mapped reference counts as a relation of its row's object.
                    columns = entry.get("split", {}).get("columns", {}).get(obj, entry["columns"])
                    resolved += columns[column] is not None
                else:
                    unresolved[column] = unresolved.get(column, 0) + 1
        assert unresolved == entry["broken_references"], name
        assert resolved == entry["expected"]["relations"], name


def test_some_references_use_the_15_character_salesforce_id() -> None:
    short = 0
    for name, entry in FILES.items():
        if entry["vendor"] != "salesforce":
            continue
        _, rows = read_rows(name)
        for column in [*entry["references"], "OwnerId"]:
            short += sum(1 for row in rows if len(row.get(column) or "") == 15)
    assert short >= 20


def test_expected_owners_count_the_owner_cells_that_map_to_a_member() -> None:
    users = _users()
    for name, entry in FILES.items():
        if not entry["import"]:
            continue
        _, rows = read_rows(name)
        objects = _row_objects(entry, rows)
        mapping = users[entry["vendor"]]
        if entry["vendor"] == "salesforce":  # the map holds 18-character ids
            mapping = {salesforce_18(k): v for k, v in mapping.items()}
        owners = 0
        for row, obj in zip(rows, objects, strict=True):
            columns = entry.get("split", {}).get("columns", {}).get(obj, entry["columns"])
            for column, target in columns.items():
                if target in OWNER_TARGETS and row[column]:
                    user = row[column]
                    if entry["vendor"] == "salesforce":
                        user = salesforce_18(user)
                    owners += user in mapping
        assert owners == entry["expected"]["owners"], name


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_mess_real_exports_carry_is_there(name: str) -> None:
    """Blank optional cells everywhere; fictional phone numbers; a few bad emails."""
    header, rows = read_rows(name)
    entry = FILES[name]
    if not entry["import"]:
        return
    assert any(not row[c] for row in rows for c in header)
    phones = [row[c] for row in rows for c in header if "Phone" in c and row[c]]
    emails = [
        row[c]
        for row in rows
        for c, t in entry["columns"].items()
        if t == "emails.primaryEmail" and row[c]
    ]
    if phones:
        assert all("555" in p or "7946" in p or "23125" in p or "99 00" in p for p in phones)
    if emails:
        bad = [e for e in emails if e.count("@") != 1 or " " in e or "." not in e.split("@")[-1]]
        assert 1 <= len(bad) <= 4, (name, bad)
