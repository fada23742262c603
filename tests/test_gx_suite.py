"""The validation suite is great_expectations' own: GX's expectations where GX says the rule,
Twenty's as GX expectations for the rest; a user adds theirs and sees their failures per row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import twenty_migrate as tm
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.schema import ObjectSchema, WorkspaceSchema, fetch_schema
from twenty_migrate.validation.suites import build_suite, load_suite
from twenty_migrate.validation.validate import FAILURE_COLUMNS, validate

with warnings.catch_warnings():  # GX's own imports raise deprecation warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    import great_expectations as gx
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        MulticolumnMapExpectation,
    )

    from twenty_migrate.validation import expectations as twenty


@pytest.fixture(scope="module")
def schema() -> WorkspaceSchema:
    """The sandbox's workspace, people with a required ``badge`` and a select ``tier``."""
    sandbox = Sandbox(throttle=False)
    person = sandbox.registry.by_singular("person")
    assert person is not None
    sandbox.registry.create_field(
        {"objectMetadataId": person.id, "type": "TEXT", "name": "badge", "isNullable": False}
    )
    sandbox.registry.create_field(
        {
            "objectMetadataId": person.id,
            "type": "SELECT",
            "name": "tier",
            "options": [{"value": "GOLD", "label": "Gold"}, {"value": "SILVER", "label": "Silver"}],
        }
    )
    with TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
    ) as client:
        return fetch_schema(client)


@pytest.fixture(scope="module")
def people(schema: WorkspaceSchema) -> ObjectSchema:
    return schema.object("people")


def people_rows() -> pd.DataFrame:
    text = "str"
    return pd.DataFrame(
        {
            "_row": ["p1", "p2", "p3", "p4"],
            "badge": pd.Series(["B-1", None, "B-3", "B-4"], dtype=text),
            "tier": pd.Series(["GOLD", "SILVER", "BRONZE", None], dtype=text),
            "jobTitle": pd.Series(["CEO", "Head of Sales", None, "VP"], dtype=text),
            "emails.primaryEmail": pd.Series(
                ["ada@example.com", "not-an-email", "bob@example.com", "ada@example.com"],
                dtype=text,
            ),
            "phones.primaryPhoneNumber": pd.Series(
                ["2025550123", None, "612345678", None], dtype=text
            ),
            "phones.primaryPhoneCountryCode": pd.Series(["US", None, "XX", None], dtype=text),
            "linkedinLink.primaryLinkUrl": pd.Series(
                ["linkedin.com/in/ada", None, None, None], dtype=text
            ),
        }
    )


def kinds(suite: Any) -> set[tuple[type, str]]:
    out = set()
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        out.add((type(expectation), kwargs.get("column") or ", ".join(kwargs["column_list"])))
    return out


def failures_of(report: tm.ValidationReport) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in report.failures[["_row", "column", "rule", "message"]].to_numpy()]


# --------------------------------------------------------------------------- the suite
def test_people_and_companies_suites_are_gx_and_twenty_expectations(schema, people):
    suite = build_suite(people_rows(), people)
    phones = ", ".join(f"phones.{part}" for part in twenty.PHONE_PARTS)
    assert {
        (gx.expectations.ExpectColumnValuesToNotBeNull, "badge"),
        (gx.expectations.ExpectColumnValuesToBeInSet, "tier"),
        (gx.expectations.ExpectColumnValuesToBeUnique, "_key.emails.primaryEmail"),
        (twenty.ExpectColumnValuesToBeTwentyEmails, "emails.primaryEmail"),
        (twenty.ExpectColumnsToBeTwentyPhones, phones),
        (twenty.ExpectColumnValuesToBeTwentyLinks, "linkedinLink.primaryLinkUrl"),
    } <= kinds(suite)
    companies = pd.DataFrame(
        {
            "_row": [1],
            "name": pd.Series(["Acme"], dtype="str"),
            "domainName.primaryLinkUrl": pd.Series(["acme.com"], dtype="str"),
            "annualRecurringRevenue.amountMicros": [5_000_000_000],
            "annualRecurringRevenue.currencyCode": pd.Series(["EUR"], dtype="str"),
        }
    )
    suite = build_suite(companies, schema.object("companies"))
    assert {
        (gx.expectations.ExpectColumnValuesToBeUnique, "_key.domainName.primaryLinkUrl"),
        (twenty.ExpectColumnValuesToBeTwentyLinks, "domainName.primaryLinkUrl"),
        (twenty.ExpectColumnValuesToBeTwentyCurrencyCodes, "annualRecurringRevenue.currencyCode"),
        (gx.expectations.ExpectColumnValuesToBeBetween, "annualRecurringRevenue.amountMicros"),
    } <= kinds(suite)
    # Twenty's own are GX 1.x map expectations, with metrics GX runs.
    assert issubclass(twenty.ExpectColumnValuesToBeTwentyEmails, ColumnMapExpectation)
    assert issubclass(twenty.ExpectColumnValuesToBeTwentyCurrencyCodes, ColumnMapExpectation)
    assert issubclass(twenty.ExpectColumnsToBeTwentyPhones, MulticolumnMapExpectation)


def test_dates_and_uuids_are_gxs_own_expectations_with_twentys_message():
    sandbox = Sandbox(throttle=False)
    company = sandbox.registry.by_singular("company")
    assert company is not None
    sandbox.registry.create_field(
        {"objectMetadataId": company.id, "type": "DATE", "name": "founded"}
    )
    with TwentyClient(
        base_url=sandbox.base_url, api_key=sandbox.api_key, transport=sandbox.transport(),
        env_file=None,
    ) as client:  # fmt: skip
        companies = fetch_schema(client).object("companies")
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "founded": pd.Series(
                ["2024-02-29", "2023-02-29", "2024-1-5", "2024-01-05\n"], dtype="str"
            ),
            "id": pd.Series(
                ["not-a-uuid", None, None, "5f0a8f6e-1b8e-4d8a-9c65-8b1f2e3d4c5b"], dtype="str"
            ),
        }
    )
    report = validate(frame, companies)
    kinds_run = {type(e) for e in report.suite.expectations}
    assert gx.expectations.ExpectColumnValuesToMatchStrftimeFormat in kinds_run
    assert gx.expectations.ExpectColumnValuesToMatchRegex in kinds_run
    assert failures_of(report) == [
        (1, "id", "invalid_uuid", 'Value "not-a-uuid" is not a valid UUID'),
        (2, "founded", "invalid_date",
         "Invalid value '2023-02-29' for date field \"founded\". Expected format: 'YYYY-MM-DD'"),
        (3, "founded", "invalid_date",
         "Invalid value '2024-1-5' for date field \"founded\". Expected format: 'YYYY-MM-DD'"),
        (4, "founded", "invalid_date",
         "Invalid value '2024-01-05\n' for date field \"founded\". Expected format: 'YYYY-MM-DD'"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- failures from GX
def test_failures_are_gxs_unexpected_rows_with_twentys_messages(people):
    report = validate(people_rows(), people)
    assert list(report.failures.columns) == FAILURE_COLUMNS
    by_type = {r.expectation_config.type: r for r in report.gx_result.results}
    emails = by_type["expect_column_values_to_be_twenty_emails"]
    assert emails.result["unexpected_index_list"] == [1]  # position of p2
    phones = by_type["expect_columns_to_be_twenty_phones"]
    assert phones.result["unexpected_index_list"] == [2]
    duplicate = (
        "A duplicate entry was detected: emails.primaryEmail 'ada@example.com' is on 2 rows of "
        "this file (_row p1, p4). Keep one: Twenty refuses the second record in one call and "
        "overwrites the first from a later call"
    )
    assert failures_of(report) == [
        ("p1", "emails.primaryEmail", "duplicate_in_file", duplicate),
        ("p2", "badge", "required", "Field badge is not nullable and has no default value."),
        ("p2", "emails.primaryEmail", "invalid_email",
         'Invalid string value \'not-an-email\' for email field "emails.primaryEmail"'),
        ("p3", "tier", "not_in_options", "Invalid value 'BRONZE' for field \"tier\""),
        ("p3", "phones.primaryPhoneCountryCode", "invalid_country_code", "Invalid country code XX"),
        ("p4", "emails.primaryEmail", "duplicate_in_file", duplicate),
    ]  # fmt: skip


def test_a_users_expectation_fails_rows_in_the_report_and_its_html(people, tmp_path):
    rows = people_rows()
    suite = build_suite(rows, people)
    suite.add_expectation(
        gx.expectations.ExpectColumnValueLengthsToBeBetween(
            column="jobTitle", max_value=5, description="job title longer than 5 characters"
        )
    )
    report = validate(rows, people, suite=suite)
    mine = report.failures[report.failures["column"] == "jobTitle"]
    assert mine[["_row", "rule", "value", "message", "severity"]].to_numpy().tolist() == [
        ["p2", "expect_column_value_lengths_to_be_between", "Head of Sales",
         "job title longer than 5 characters", "error"],
    ]  # fmt: skip
    assert "p2" in report.invalid["_row"].tolist()
    page = report.to_html(tmp_path / "people.html").read_text(encoding="utf-8")
    assert "job title longer than 5 characters" in page
    assert "expect_column_value_lengths_to_be_between" in page


def test_extra_expectations_of_a_bare_gx_suite_run_with_twentys(people):
    gx.get_context(mode="ephemeral")  # GX's suites need a context
    bare = gx.ExpectationSuite(name="the client's rules")
    bare.add_expectation(
        gx.expectations.ExpectColumnValuesToMatchRegex(column="jobTitle", regex=r"^[A-Z]+$")
    )
    report = validate(people_rows(), people, suite=bare)
    rules = report.failures.groupby("rule")["_row"].agg(list).to_dict()
    assert rules["expect_column_values_to_match_regex"] == ["p2"]
    assert rules["invalid_email"] == ["p2"] and rules["required"] == ["p2"]


# --------------------------------------------------------------------------- saved suites
def test_the_saved_suite_is_gx_json_that_reloads(people, tmp_path):
    rows = people_rows()
    report = validate(rows, people)
    path = report.save_suite(tmp_path / "suite_people.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["name"] == "twenty_migrate.people"
    types = {e["type"] for e in saved["expectations"]}
    assert {
        "expect_column_values_to_be_twenty_emails",
        "expect_columns_to_be_twenty_phones",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
    } <= types
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = gx.ExpectationSuite(name=saved["name"], expectations=saved["expectations"])
    assert [e.configuration.to_json_dict() for e in plain.expectations] == [
        e.configuration.to_json_dict() for e in report.suite.expectations
    ]
    loaded = load_suite(path)
    loaded.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="jobTitle"))
    again = validate(rows, people, suite=loaded)
    extra = again.failures["rule"] == "expect_column_values_to_not_be_null"
    assert again.failures[extra]["_row"].tolist() == ["p3"]
    pd.testing.assert_frame_equal(
        again.failures[~extra].reset_index(drop=True), report.failures.reset_index(drop=True)
    )


def test_a_file_that_is_no_suite_is_refused(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(tm.ConfigError, match="not a saved suite"):
        load_suite(path)


# --------------------------------------------------------------------------- import cost
def test_gx_is_imported_by_the_first_validation_only():
    code = (
        "import sys, twenty_migrate as tm, twenty_migrate.validation.validate\n"
        "tm.validate, tm.build_suite, tm.ValidationReport\n"
        "print('great_expectations' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == "False"


def test_numbers_are_finite_by_gxs_between(people):
    frame = pd.DataFrame({"_row": [1, 2], "badge": ["a", "b"], "position": [1.5, np.inf]})
    report = validate(frame, people)
    assert failures_of(report) == [
        (2, "position", "invalid_position", 'Invalid position value Infinity for field "position"')
    ]
