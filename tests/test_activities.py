"""Mixed activity exports (HubSpot, Salesforce Task/Event) split into tasks and notes."""

from __future__ import annotations

import pandas as pd
import pytest

import twenty_migrate as tm
from twenty_migrate.clean.activities import SKIPPED_COLUMNS, split_activities
from twenty_migrate.mapping.suggest import suggest_mapping
from twenty_migrate.pipeline.migration import plan_migration
from twenty_migrate.relations.resolve import resolve_relations

NONE = None


def hubspot_activities() -> pd.DataFrame:
    """A HubSpot activity export: one title and body column per type, blanks elsewhere."""
    rows = [
        # type, call title, call notes, call status, meeting title, meeting description,
        # email subject, email body, notes/description, task title, task due, task status
        ("CALL", "Discovery call", "Talked budget", "COMPLETED", NONE, NONE, NONE, NONE, NONE,
         NONE, NONE, NONE),
        ("MEETING", NONE, NONE, NONE, "Kickoff", "<p>Agenda: <b>scope</b></p>", NONE, NONE,
         NONE, NONE, NONE, NONE),
        ("EMAIL", NONE, NONE, NONE, NONE, NONE, "Re: pricing", "See the attached quote",
         NONE, NONE, NONE, NONE),
        ("NOTE", NONE, NONE, NONE, NONE, NONE, NONE, NONE, "Met at the fair\nLikes oat bread",
         NONE, NONE, NONE),
        ("TASK", NONE, NONE, NONE, NONE, NONE, NONE, NONE, "Bring samples", "Send deck",
         "2026-04-01", "NOT_STARTED"),
        ("CALL", NONE, NONE, "SCHEDULED", NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE),
        ("CALL", "Follow-up call", NONE, "SCHEDULED", NONE, NONE, NONE, NONE, NONE, NONE, NONE,
         NONE),
        ("TASK", NONE, NONE, NONE, NONE, NONE, NONE, NONE, "  ", NONE, "2026-05-01",
         "COMPLETED"),
        ("NOTE", NONE, NONE, NONE, NONE, NONE, NONE, NONE, "<p> </p>", NONE, NONE, NONE),
        ("TASK", NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, "Renew contract",
         "2026-06-30", "COMPLETED"),
    ]  # fmt: skip
    columns = [
        "Activity Type",
        "Call Title",
        "Call Notes",
        "Call Status",
        "Meeting Title",
        "Meeting Description",
        "Email Subject",
        "Email Body",
        "Notes/Description",
        "Task Title",
        "Task Due Date",
        "Task Status",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame.insert(0, "Activity ID", [f"9{n:03d}" for n in range(len(frame))])
    frame.insert(2, "Activity Date", "2026-03-02")
    frame["Associated Contact Email"] = "jo@fernhill.example"
    frame["Associated Company"] = "Fernhill Bakery"
    return frame


# --------------------------------------------------------------------------- HubSpot
def test_hubspot_file_splits_by_type_with_titles_bodies_and_empty_rows_reported():
    split = split_activities(hubspot_activities())

    assert (split.vendor, split.type_column) == ("hubspot", "Activity Type")
    notes = split.notes.set_index("_row")
    assert notes.loc[1:4, "Title"].tolist() == [
        "Call: Discovery call",
        "Meeting: Kickoff",
        "Email: Re: pricing",
        "Met at the fair",  # a note without a title is titled by its first line
    ]
    assert notes.loc[1:4, "Body"].tolist() == [
        "Talked budget",
        "<p>Agenda: <b>scope</b></p>",  # kept as exported: the mapping makes it markdown
        "See the attached quote",
        "Met at the fair\nLikes oat bread",
    ]
    tasks = split.tasks.set_index("_row")
    assert tasks.index.tolist() == [5, 7, 10]
    assert tasks["Title"].tolist() == ["Send deck", "Call: Follow-up call", "Renew contract"]
    assert tasks["Body"].tolist() == ["Bring samples", None, None]
    assert tasks["Due Date"].tolist() == ["2026-04-01", "2026-03-02", "2026-06-30"]
    assert tasks["Status"].tolist() == ["TODO", "TODO", "DONE"]
    assert split.skipped.columns.tolist() == SKIPPED_COLUMNS
    assert split.skipped.values.tolist() == [
        [6, "CALL", "no title and no body: an empty record"],
        [8, "TASK", "no title and no body: an empty record"],
        [9, "NOTE", "no title and no body: an empty record"],
    ]
    counts = split.counts.set_index("type")
    assert counts.loc["CALL", ["rows", "tasks", "notes", "skipped"]].tolist() == [3, 1, 1, 1]
    assert counts.loc["TASK", ["rows", "tasks", "notes", "skipped"]].tolist() == [3, 2, 0, 1]
    assert "4 notes" in split.summary() and "3 rows skipped" in split.summary()


def test_references_and_other_columns_pass_through_unchanged():
    source = hubspot_activities()
    split = split_activities(source)

    for frame in (split.tasks, split.notes):
        kept = source.set_index(source.index + 1).loc[frame["_row"]]
        for column in ["Activity ID", "Activity Type", "Associated Contact Email"]:
            assert frame[column].tolist() == kept[column].tolist()
        # the columns read for titles and bodies compete for no field
        assert not {"Call Title", "Email Body", "Notes/Description"} & set(frame.columns)
    assert not {"Task Due Date", "Task Status", "Activity Date"} & set(split.tasks.columns)
    assert "Activity Date" in split.notes.columns  # notes keep the date they happened
    assert split.columns["title"]["call"] == ["Call Title"]
    split = split_activities(
        source.assign(**{"Associated Contact": "Jo Bloggs", "Associated Company IDs": "77"})
    )
    targets = split.targets()
    assert targets["tasks"].tolist() == ["jo@fernhill.example; Fernhill Bakery"] * 3
    assert targets["notes"].index.equals(split.notes.index)


def test_rows_keep_their_source_row_ids():
    source = hubspot_activities()
    source.insert(0, "_row", [f"activities.csv:{n}" for n in range(2, 12)])

    split = split_activities(source)

    assert split.tasks["_row"].tolist() == [
        "activities.csv:6",
        "activities.csv:8",
        "activities.csv:11",
    ]
    assert split.skipped["_row"].tolist()[0] == "activities.csv:7"


# --------------------------------------------------------------------------- Salesforce
def test_salesforce_task_export_uses_subtype_then_type_and_open_status():
    source = pd.DataFrame(
        {
            "Id": ["00T1", "00T2", "00T3", "00T4", "00T5", "00T6"],
            "WhoId": ["003A", "003B", None, "003A", "003C", None],
            "WhatId": ["001A", None, "006A", "001A", None, "001B"],
            "Subject": ["Call", "Email: Pricing", "Prepare quote", "Ring back", None, "Old todo"],
            "Description": ["Left a message", "Sent prices", None, None, None, "From 2019"],
            "ActivityDate": ["2026-01-05", "2026-01-06", "2026-02-01", "2026-02-03",
                             "2026-02-04", None],
            "Status": ["Completed", "Completed", "Not Started", "In Progress", "Completed",
                       "Waiting on someone else"],
            "TaskSubtype": ["Call", "Email", "Task", None, "Call", None],
            "Type": [None, None, None, "Call", None, None],
            "OwnerId": ["005A"] * 6,
        }
    )  # fmt: skip

    split = split_activities(source)

    assert (split.vendor, split.type_column) == ("salesforce", "TaskSubtype")
    notes = split.notes.set_index("_row")
    assert notes["Title"].to_dict() == {1: "Call", 2: "Email: Pricing"}  # no double prefix
    assert notes["Body"].to_dict() == {1: "Left a message", 2: "Sent prices"}
    tasks = split.tasks.set_index("_row")
    assert tasks["Title"].to_dict() == {3: "Prepare quote", 4: "Call: Ring back", 6: "Old todo"}
    assert tasks["Status"].to_dict() == {3: "TODO", 4: "IN_PROGRESS", 6: "TODO"}
    assert tasks["Due Date"].to_dict() == {3: "2026-02-01", 4: "2026-02-03", 6: None}
    assert tasks["WhatId"].to_dict() == {3: "006A", 4: "001A", 6: "001B"}
    assert split.tasks.columns.tolist().count("Status") == 1  # the source's was read
    assert split.skipped.values.tolist() == [[5, "Call", "no title and no body: an empty record"]]


def test_salesforce_event_rows_without_a_subtype_are_meetings():
    source = pd.DataFrame(
        {
            "Id": ["00U1", "00U2"],
            "Subject": ["Quarterly review", "Lunch"],
            "Description": ["Went well", None],
            "StartDateTime": ["2026-03-01T10:00:00Z", "2026-03-02T12:00:00Z"],
            "EndDateTime": ["2026-03-01T11:00:00Z", "2026-03-02T13:00:00Z"],
            "EventSubtype": [None, "Event"],
            "WhoId": ["003A", "003B"],
        }
    )

    split = split_activities(source)

    assert split.tasks.empty
    assert split.notes["Title"].tolist() == ["Meeting: Quarterly review", "Meeting: Lunch"]
    assert split.counts[["type", "kind", "notes"]].values.tolist() == [
        ["", "meeting", 1],
        ["Event", "meeting", 1],
    ]


# --------------------------------------------------------------------------- overrides
def test_route_prefixes_and_note_titles_can_be_changed():
    source = hubspot_activities()

    split = split_activities(
        source,
        route={"CALL": "task", "email": "skip"},
        prefixes={"call": "Phone call", "meeting": ""},
        note_titles_from_body=False,
    )

    assert split.tasks.set_index("_row").loc[1, "Title"] == "Phone call: Discovery call"
    assert split.notes.set_index("_row")["Title"].to_dict() == {2: "Kickoff", 4: None}
    assert [3, "EMAIL", "email rows are skipped (route)"] in split.skipped.values.tolist()


def test_unknown_types_become_notes_titled_by_their_label_and_blank_types_are_reported():
    source = pd.DataFrame(
        {
            "Activity Type": ["LINKEDIN_MESSAGE", None, "SMS"],
            "Notes/Description": ["Connected", "Orphan text", "On my way"],
        }
    )

    split = split_activities(source)

    assert split.notes["Title"].tolist() == ["Linkedin message", "Sms"]
    assert split.skipped.values.tolist() == [[2, "", "no activity type in 'Activity Type'"]]


def test_a_file_without_a_type_column_gets_an_error_naming_its_columns():
    source = pd.DataFrame({"Subject": ["x"], "Body": ["y"]})

    with pytest.raises(ValueError, match=r"activity type.*\['Subject', 'Body'\].*type_column"):
        split_activities(source)
    with pytest.raises(ValueError, match=r"no column 'Kind'.*\['Subject', 'Body'\]"):
        split_activities(source, type_column="Kind")
    with pytest.raises(ValueError, match="vendor must be one of"):
        split_activities(source, vendor="zoho")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="route values must be one of"):
        split_activities(hubspot_activities(), route={"call": "maybe"})  # type: ignore[dict-item]


def test_a_given_type_column_and_vendor_are_used():
    source = pd.DataFrame({"Kind": ["Call", "Task"], "Subject": ["Hi", "Do it"]})

    split = split_activities(source, type_column="Kind", vendor="generic")

    assert split.vendor == "generic"
    assert split.notes["Title"].tolist() == ["Call: Hi"]
    assert split.tasks["Title"].tolist() == ["Do it"]


# --------------------------------------------------------------------------- end to end
def test_hubspot_activities_land_as_tasks_and_notes(schema, client, importer):
    split = tm.split_activities(hubspot_activities())
    mapped = {}
    for name, frame in (("tasks", split.tasks), ("notes", split.notes)):
        fmap = suggest_mapping(frame, schema.object(name))
        assert {"Title": "title", "Body": "bodyV2.markdown"}.items() <= fmap.mapping.items()
        mapped[name] = fmap.apply(frame, schema.object(name))
    assert mapped["tasks"].field_map.mapping["Due Date"] == "dueAt"
    assert mapped["tasks"].field_map.mapping["Status"] == "status"
    assert not mapped["tasks"].has_problems and not mapped["notes"].has_problems
    companies = pd.DataFrame({"_row": [1], "name": ["Fernhill Bakery"]})
    people = pd.DataFrame({"_row": [1], "emails.primaryEmail": ["jo@fernhill.example"]})
    rel = resolve_relations(
        {**mapped, "companies": companies, "people": people},
        schema,
        client=client,
        targets=split.targets(),
    )
    assert rel.problems.empty

    result = importer.run(plan_migration(rel, schema))

    assert result.failed == 0
    tasks = list(client.iter_records("tasks", fields="id title dueAt status bodyV2 { markdown }"))
    notes = list(client.iter_records("notes", fields="id title bodyV2 { markdown }"))
    assert sorted(t["title"] for t in tasks) == [
        "Call: Follow-up call",
        "Renew contract",
        "Send deck",
    ]
    assert {t["title"]: t["status"] for t in tasks}["Renew contract"] == "DONE"
    by_title = {n["title"]: (n["bodyV2"] or {}).get("markdown") for n in notes}
    assert by_title == {
        "Call: Discovery call": "Talked budget",
        "Meeting: Kickoff": "Agenda: **scope**",
        "Email: Re: pricing": "See the attached quote",
        "Met at the fair": "Met at the fair\nLikes oat bread",
    }
    # each landed activity is linked to the contact and the company it was about
    assert len(list(client.iter_records("taskTargets", fields="id"))) == 2 * len(tasks)
    assert len(list(client.iter_records("noteTargets", fields="id"))) == 2 * len(notes)
