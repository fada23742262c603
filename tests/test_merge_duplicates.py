"""Duplicates without a unique key: flagged by name plus city or phone, merged, references
re-pointed (natural keys and source ids)."""

from __future__ import annotations

import pandas as pd
import pytest

import twenty_migrate as tm
from twenty_migrate.clean.duplicates import DUPLICATE_COLUMNS, find_duplicate_records
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.mapping.mapped import MappedFrame
from twenty_migrate.pipeline.migration import plan_migration
from twenty_migrate.relations.matching import _company_key
from twenty_migrate.relations.merging import (
    ALIAS_COLUMNS,
    MERGED_COLUMNS,
    REPOINTED_COLUMNS,
    find_duplicates,
    merge_duplicates,
)
from twenty_migrate.relations.resolve import resolve_relations


def companies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": [1, 2, 3, 4, 5, 6],
            "name": [
                "Fernhill Bakery",
                "Fernhil Bakery Ltd",  # a typo and a legal form: the same bakery
                "Acme",
                "Acme",
                "Harbour Books",
                "Harbour Books",
            ],
            "address.addressCity": ["Leeds", "leeds", "Paris", "Paris", "Hull", "York"],
            "domainName.primaryLinkUrl": [None, None, "acme.com", "acme.fr", None, None],
            "_source_id": ["001A", "001B", "001C", "001D", "001E", "001F"],
        }
    )


# --------------------------------------------------------------------------- finding
def test_names_must_be_confirmed_by_a_city_or_phone():
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4, 5],
            "name": ["Fernhill Bakery", "FERNHILL BAKERY LTD", "Fernhil Bakery", "Fernhill Bakery",
                     "Fernhill Bakery"],
            "city": ["Leeds", "Leeds ", "Leeds", "York", None],
            "phone": [None, None, None, "+44 113 496 0000", "0113 496 0000"],
        }
    )  # fmt: skip

    found = find_duplicate_records(frame, "name", confirm=["city", "phone"])

    assert found.columns.tolist() == DUPLICATE_COLUMNS
    pairs = {
        (a, b): (m, c)
        for a, b, m, c in found[["_row_a", "_row_b", "matched_on", "confidence"]].values
    }
    assert pairs == {
        (1, 2): ("city", "high"),  # same name key, same city
        (4, 5): ("phone", "high"),  # same name, the phone with and without its country code
        (1, 3): ("city", "medium"),  # a typo, same city
        (2, 3): ("city", "medium"),
    }
    assert found.loc[0, "reason"] == "same name and same city"
    assert found.loc[found["_row_b"] == 3, "reason"].iloc[0].startswith("similar names (0.9")


def test_rows_that_both_have_the_unique_key_are_left_to_twenty():
    found = find_duplicate_records(
        companies(), "name", confirm=["address.addressCity"], key="domainName.primaryLinkUrl"
    )

    assert found[["_row_a", "_row_b"]].values.tolist() == [[1, 2]]  # Acme x2 have domains


def test_names_alone_are_low_confidence_and_missing_columns_are_named():
    exact = find_duplicate_records(companies(), "name", threshold=1.0)
    similar = find_duplicate_records(companies(), "name")

    assert set(similar["confidence"]) == {"low"}
    assert exact[["_row_a", "_row_b"]].values.tolist() == [[3, 4], [5, 6]]
    assert similar[["_row_a", "_row_b"]].values.tolist() == [[3, 4], [5, 6], [1, 2]]
    with pytest.raises(KeyError, match=r"no columns \['Town'\].*'name'"):
        find_duplicate_records(companies(), "name", confirm=["Town"])


def test_find_duplicates_compares_companies_and_people_in_mapped_frames():
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "name.firstName": ["Jo", "jo", "Jo", "Al"],
            "name.lastName": ["Bloggs", "Bloggs", "Bloggs", "Inc"],
            "emails.primaryEmail": [None, None, "jo@bloggs.example", None],
            "city": ["Leeds", "Leeds", "Leeds", "Leeds"],
        }
    )
    tasks = pd.DataFrame({"_row": [1, 2], "title": ["Call", "Call"]})

    found = find_duplicates({"companies": companies(), "people": people, "tasks": tasks})

    assert found.columns.tolist() == ["object", *DUPLICATE_COLUMNS]
    assert found[["object", "_row_a", "_row_b"]].values.tolist() == [
        ["companies", 1, 2],
        ["people", 1, 2],  # one of them has an email: still a duplicate of the other
        ["people", 1, 3],
    ]
    only_exact = find_duplicates(
        {"companies": companies()},
        columns={"companies": {"confirm": [], "key": None}},
        threshold=1.0,
    )
    assert only_exact[["_row_a", "_row_b"]].values.tolist() == [[3, 4], [5, 6]]
    with pytest.raises(ValueError, match="unknown settings"):
        find_duplicates({"companies": companies()}, columns={"companies": {"town": "x"}})


# --------------------------------------------------------------------------- merging
def test_merge_drops_duplicates_and_repoints_references_by_name_domain_and_source_id():
    found = find_duplicates({"companies": companies()})
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "_ref.companyId": ["Fernhil Bakery Ltd", "Fernhill Bakery", "acme.com", None],
            "_sourceref.companyId": ["001B", "001A", "001C", "001B"],
        }
    )
    tasks = pd.DataFrame(
        {
            "_row": [1],
            "_ref.targets": ["jo@bloggs.example; FERNHIL BAKERY"],
            "_sourceref.targets": ["003X|001B"],
        }
    )

    merged = merge_duplicates({"companies": companies(), "people": people, "tasks": tasks}, found)

    assert merged.frames["companies"]["_row"].tolist() == [1, 3, 4, 5, 6]
    assert merged.merged.columns.tolist() == MERGED_COLUMNS
    (report,) = merged.merged.to_dict("records")
    assert (report["object"], report["_row"], report["kept_row"]) == ("companies", 2, 1)
    assert report["confidence"] == "medium" and "same address.addressCity" in report["reason"]
    out_people = merged.frames["people"]
    assert out_people["_ref.companyId"].fillna("-").tolist() == [
        "Fernhill Bakery",
        "Fernhill Bakery",
        "acme.com",
        "-",
    ]
    assert out_people["_sourceref.companyId"].tolist() == ["001A", "001A", "001C", "001A"]
    out_tasks = merged.frames["tasks"]
    assert out_tasks["_ref.targets"].tolist() == ["jo@bloggs.example; Fernhill Bakery"]
    assert out_tasks["_sourceref.targets"].tolist() == ["003X|001A"]
    assert merged.aliases.columns.tolist() == ALIAS_COLUMNS
    assert merged.aliases.values.tolist() == [["companies", "001B", "001A", 2, 1]]
    assert merged.alias_map("companies") == {"001B": "001A"}
    assert merged.repointed.columns.tolist() == REPOINTED_COLUMNS
    assert len(merged.repointed) == 5 and merged.repointed["after"].notna().all()
    assert "1 rows merged into 1" in merged.summary()


def test_the_kept_row_takes_the_values_it_lacks_whole_composites_at_a_time():
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name": ["Fernhill Bakery", "Fernhill Bakery", "Fernhill Bakery"],
            "domainName.primaryLinkUrl": [None, None, "fernhill.example"],
            "phones.primaryPhoneNumber": [None, "1134960000", "7700900123"],
            "phones.primaryPhoneCallingCode": [None, "+44", "+44"],
            "address.addressCity": ["Leeds", None, "Leeds"],
            "address.addressStreet1": [None, "1 Mill Lane", None],
        }
    )
    pairs = pd.DataFrame({"object": "companies", "_row_a": [1, 1], "_row_b": [2, 3]})
    people = pd.DataFrame({"_row": [1], "_ref.companyId": ["fernhill.example"]})

    merged = merge_duplicates({"companies": frame, "people": people}, pairs)

    (kept,) = merged.frames["companies"].to_dict("records")
    assert kept["domainName.primaryLinkUrl"] == "fernhill.example"  # from row 3
    assert kept["phones.primaryPhoneNumber"] == "1134960000"  # from row 2, with its code
    assert kept["phones.primaryPhoneCallingCode"] == "+44"
    # the address had a city: its street is not mixed in from another row
    assert kept["address.addressCity"] == "Leeds" and pd.isna(kept["address.addressStreet1"])
    assert merged.merged.set_index("_row")["filled"].to_dict() == {2: "phones", 3: "domainName"}
    # the domain now names the kept row itself: nothing to re-point
    assert merged.frames["people"]["_ref.companyId"].tolist() == ["fernhill.example"]
    assert merged.repointed.empty

    unfilled = merge_duplicates({"companies": frame}, pairs, fill_blanks=False)
    (kept,) = unfilled.frames["companies"].to_dict("records")
    assert pd.isna(kept["domainName.primaryLinkUrl"]) and unfilled.merged["filled"].eq("").all()


@pytest.mark.parametrize(
    ("keep", "kept"),
    [("first", 1), ("last", 3), ("most_complete", 2), (lambda rows: rows["_row"].iloc[1], 2)],
)
def test_which_row_is_kept(keep, kept):
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name": ["Acme", "Acme", "Acme"],
            "address.addressCity": [None, "Paris", None],
            "jobTitle": [None, "x", None],
        }
    )
    pairs = pd.DataFrame({"object": "companies", "_row_a": [1, 2], "_row_b": [2, 3]})

    merged = merge_duplicates({"companies": frame}, pairs, keep=keep, fill_blanks=False)

    assert merged.frames["companies"]["_row"].tolist() == [kept]
    assert set(merged.merged["kept_row"]) == {kept}


def test_chained_pairs_merge_into_one_row_and_say_through_which():
    frame = pd.DataFrame({"_row": ["a", "b", "c"], "name": ["Acme", "Acme Co", "ACME"]})
    pairs = pd.DataFrame(
        {"object": "companies", "_row_a": ["a", "b"], "_row_b": ["b", "c"], "score": [1.0, 0.95]}
    )

    merged = merge_duplicates({"companies": frame}, pairs)

    reasons = merged.merged.set_index("_row")["reason"].to_dict()
    assert reasons["b"] == "paired in duplicates"
    assert reasons["c"] == "paired in duplicates (with _row b, merged into the same row)"


def test_a_key_naming_another_surviving_row_is_left_as_written_and_reported():
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "name": ["Harbour Books", "Harbour Bookz", "Harbour Bookz"],
            "address.addressCity": ["Hull", "Hull", "York"],
        }
    )
    pairs = pd.DataFrame({"object": "companies", "_row_a": [1], "_row_b": [2]})
    people = pd.DataFrame({"_row": [1], "_ref.companyId": ["Harbour Bookz"]})

    merged = merge_duplicates({"companies": frame, "people": people}, pairs)

    assert merged.frames["people"]["_ref.companyId"].tolist() == ["Harbour Bookz"]
    (note,) = merged.repointed.to_dict("records")
    assert note["after"] is None and "also names _row 3; left as written" in note["note"]


def test_mapped_frames_stay_mapped_frames_and_source_ids_can_be_given(schema):
    fmap = FieldMap(
        "companies",
        {"Name": "name", "City": "address.addressCity", "Staff": "employees"},
    )
    mapped = fmap.apply(
        pd.DataFrame({"Name": ["Acme", "Acme"], "City": ["Paris", "Paris"], "Staff": ["9", "x"]}),
        schema.object("companies"),
    )
    assert mapped.problems["_row"].tolist() == [2]
    ids = pd.Series(["001X", "001Y"])

    merged = merge_duplicates(
        {"companies": mapped}, find_duplicates({"companies": mapped}), source_ids={"companies": ids}
    )

    kept = merged.frames["companies"]
    assert isinstance(kept, MappedFrame)
    assert len(kept) == 1 and kept.problems.empty  # the dropped row's problems went with it
    assert merged.alias_map("companies") == {"001Y": "001X"}


def test_bad_pairs_say_what_is_wrong():
    frame = companies()
    with pytest.raises(ValueError, match="need the columns object, _row_a, _row_b"):
        merge_duplicates({"companies": frame}, pd.DataFrame({"_row_a": [1], "_row_b": [2]}))
    with pytest.raises(ValueError, match="'people', which has no frame"):
        merge_duplicates(
            {"companies": frame}, pd.DataFrame({"object": ["people"], "_row_a": [1], "_row_b": [2]})
        )
    with pytest.raises(ValueError, match=r"rows the frame does not have: \[99\]"):
        merge_duplicates(
            {"companies": frame},
            pd.DataFrame({"object": ["companies"], "_row_a": [1], "_row_b": [99]}),
        )
    with pytest.raises(ValueError, match="_row values repeat"):
        merge_duplicates(
            {"companies": frame.assign(_row=1)},
            pd.DataFrame({"object": ["companies"], "_row_a": [1], "_row_b": [1]}),
        )
    with pytest.raises(ValueError, match="keep must be"):
        merge_duplicates(
            {"companies": frame},
            pd.DataFrame({"object": ["companies"], "_row_a": [1], "_row_b": [2]}),
            keep="best",  # type: ignore[arg-type]
        )


def test_references_are_compared_as_the_relation_resolver_compares_them():
    # "S.A." and "Sp. z o.o." are legal forms to the resolver: the merge reads them alike
    frame = pd.DataFrame(
        {
            "_row": [1, 2],
            "name": ["Kowalski Sp. z o.o.", "Kowalsky"],
            "address.addressCity": ["Łódź"] * 2,
        }
    )
    people = pd.DataFrame({"_row": [1], "_ref.companyId": ["KOWALSKY S.A."]})
    pairs = pd.DataFrame({"object": "companies", "_row_a": [1], "_row_b": [2]})

    merged = merge_duplicates({"companies": frame, "people": people}, pairs)

    assert _company_key("KOWALSKY S.A.") == _company_key("Kowalsky")
    assert merged.frames["people"]["_ref.companyId"].tolist() == ["Kowalski Sp. z o.o."]


# --------------------------------------------------------------------------- end to end
def test_duplicate_companies_without_domain_land_as_one_with_their_people(schema, client, importer):
    raw = pd.DataFrame(
        {
            "Account Name": ["Fernhill Bakery", "Fernhil Bakery Ltd", "Harbour Books"],
            "Billing City": ["Leeds", "Leeds", "Hull"],
        }
    )
    companies_map = tm.suggest_mapping(raw, schema.object("companies"))
    mapped_companies = companies_map.apply(raw, schema.object("companies"))
    people = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "emails.primaryEmail": ["jo@example.com", "al@example.com", "bo@example.com"],
            "_ref.companyId": ["Fernhil Bakery Ltd", "Fernhill Bakery", "Harbour Books"],
        }
    )
    frames = {"companies": mapped_companies, "people": people}

    found = tm.find_duplicates(frames)
    assert found[["object", "_row_a", "_row_b"]].values.tolist() == [["companies", 1, 2]]
    merged = tm.merge_duplicates(frames, found, schema=schema)
    rel = resolve_relations(merged.frames, schema, client=client)
    assert rel.problems.empty
    result = importer.run(plan_migration(rel, schema))

    assert result.failed == 0
    stored = {c["id"]: c["name"] for c in client.iter_records("companies", fields="id name")}
    assert sorted(stored.values()) == ["Fernhill Bakery", "Harbour Books"]
    links = {
        p["emails"]["primaryEmail"]: stored[p["companyId"]]
        for p in client.iter_records("people", fields="id companyId emails { primaryEmail }")
    }
    assert links == {
        "jo@example.com": "Fernhill Bakery",  # pointed at the dropped row
        "al@example.com": "Fernhill Bakery",
        "bo@example.com": "Harbour Books",
    }
