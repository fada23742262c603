"""ImportPlan / ObjectStep: payloads, batching, fingerprints, estimates, save and load."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twenty_migrate.plan.plan import ImportPlan, budget_seconds, build_plan
from twenty_migrate.plan.steps import ObjectStep, existing_ref
from twenty_migrate.twenty.ratelimit import RateLimit


def people(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_row": range(start, start + n),
            "name.firstName": [f"First{i}" for i in range(start, start + n)],
            "name.lastName": [f"Last{i}" for i in range(start, start + n)],
            "emails.primaryEmail": [f"p{i}@example.com" for i in range(start, start + n)],
        }
    )


def test_payloads_unflatten_paths_and_leave_out_empty_cells():
    df = pd.DataFrame(
        {
            "_row": ["a", "b", "c"],
            "name.firstName": ["Ada", None, "Grace"],
            "name.lastName": ["Lovelace", "X", np.nan],
            "emails.primaryEmail": ["ada@example.com", pd.NA, None],
            "amount.amountMicros": pd.array([1_500_000, None, 7], dtype="Int64"),
            "employees": np.array([3.0, np.nan, 2.5]),
            "tags": [["a", "b"], None, []],
            "isActive": [np.bool_(True), False, None],
        }
    )
    payloads = ObjectStep("people", df).to_payloads()
    assert payloads[0] == {
        "name": {"firstName": "Ada", "lastName": "Lovelace"},
        "emails": {"primaryEmail": "ada@example.com"},
        "amount": {"amountMicros": 1_500_000},
        "employees": 3.0,
        "tags": ["a", "b"],
        "isActive": True,
    }
    assert payloads[1] == {"name": {"lastName": "X"}, "isActive": False}
    assert payloads[2] == {
        "name": {"firstName": "Grace"},
        "amount": {"amountMicros": 7},
        "employees": 2.5,
        "tags": [],
    }
    # numpy scalars became Python scalars (JSON-serialisable, exact types)
    assert type(payloads[0]["amount"]["amountMicros"]) is int
    assert type(payloads[0]["isActive"]) is bool
    json.dumps(payloads)


def test_dates_and_timestamps_become_iso_strings():
    df = pd.DataFrame(
        {
            "_row": [1, 2],
            "closeDate": [dt.date(2026, 1, 2), pd.NaT],
            "createdAt": [pd.Timestamp("2026-01-02T03:04:05Z"), None],
        }
    )
    payloads = ObjectStep("opportunities", df).to_payloads()
    assert payloads == [
        {"closeDate": "2026-01-02", "createdAt": "2026-01-02T03:04:05+00:00"},
        {},
    ]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"name": ["x"]}), "_row"),
        (pd.DataFrame({"_row": [1, 1], "name": ["x", "y"]}), "unique"),
        (pd.DataFrame({"_row": [1, None], "name": ["x", "y"]}), "empty"),
        (pd.DataFrame({"_row": [1], "name": ["x"], "name.firstName": ["y"]}), "overlap"),
        (pd.DataFrame({"_row": [1], "a..b": ["x"]}), "invalid field path"),
    ],
)
def test_step_refuses_bad_frames(frame, message):
    with pytest.raises(ValueError, match=message):
        ObjectStep("people", frame)


def test_step_refuses_unknown_key_and_unsendable_values():
    with pytest.raises(ValueError, match="key"):
        ObjectStep("people", people(2), key="emails.other")
    with pytest.raises(TypeError, match="_row=0 blob"):
        ObjectStep("people", pd.DataFrame({"_row": [0], "blob": [object()]}))
    with pytest.raises(ValueError, match="infinite"):
        ObjectStep("people", pd.DataFrame({"_row": [0], "n": [np.inf]}))


def test_step_copies_its_frame():
    df = people(3)
    step = ObjectStep("people", df)
    df.loc[0, "name.firstName"] = "Changed"
    assert step.to_payloads()[0]["name"]["firstName"] == "First0"


def test_batches_have_stable_ids_and_respect_count():
    plan = ImportPlan(
        [
            ObjectStep("companies", pd.DataFrame({"_row": range(70), "name": ["c"] * 70})),
            ObjectStep("people", people(130)),
        ],
        batch_size=60,
    )
    batches = plan.batches()
    assert [b.batch_id for b in batches] == [
        "companies-b00001",
        "companies-b00002",
        "people-b00001",
        "people-b00002",
        "people-b00003",
    ]
    assert [len(b) for b in batches] == [60, 10, 60, 60, 10]
    assert [b.step for b in batches] == [0, 0, 1, 1, 1]
    assert plan.batches()[2].rows[:2] == (0, 1)
    frame = plan.to_frame()
    assert list(frame["records"]) == [60, 10, 60, 60, 10]
    assert frame.loc[4, "first_row"] == 120 and frame.loc[4, "last_row"] == 129


def test_batches_respect_bytes():
    df = pd.DataFrame({"_row": range(10), "bodyV2.markdown": ["x" * 300] * 10})
    plan = build_plan(df, "notes", batch_size=60)
    big = ImportPlan(plan.steps, batch_size=60, max_batch_bytes=1000)
    assert len(plan.batches()) == 1
    assert [len(b) for b in big.batches()] == [2, 2, 2, 2, 2]
    assert all(b.n_bytes <= 1000 for b in big.batches())
    # a record larger than the limit still goes, alone
    alone = ImportPlan(plan.steps, max_batch_bytes=10)
    assert [len(b) for b in alone.batches()] == [1] * 10


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=150), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=80),
    max_bytes=st.integers(min_value=50, max_value=5000),
)
def test_batches_cover_every_row_exactly_once(sizes, batch_size, max_bytes):
    steps = []
    start = 0
    for n in sizes:
        frame = people(n, start).assign(note=["y" * (i % 40) for i in range(n)])
        steps.append(ObjectStep("people", frame))
        start += n
    plan = ImportPlan(steps, batch_size=batch_size, max_batch_bytes=max_bytes)
    batches = plan.batches()
    rows = [r for b in batches for r in b.rows]
    assert rows == list(range(start))  # all rows, once, in order
    assert all(0 < len(b) <= batch_size for b in batches)
    assert all(b.n_bytes <= max_bytes or len(b) == 1 for b in batches)
    assert len({b.batch_id for b in batches}) == len(batches)
    # deterministic: the same plan again gives the same batches
    again = ImportPlan(steps, batch_size=batch_size, max_batch_bytes=max_bytes).batches()
    assert [(b.batch_id, b.rows) for b in again] == [(b.batch_id, b.rows) for b in batches]


def test_fingerprint_is_stable_and_sensitive():
    a = build_plan(people(100), "people", key="emails.primaryEmail")
    b = build_plan(people(100), "people", key="emails.primaryEmail")
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    changed = people(100)
    changed.loc[5, "name.firstName"] = "Other"
    assert (
        build_plan(changed, "people").fingerprint()
        != build_plan(people(100), "people").fingerprint()
    )
    assert build_plan(people(100), "people", batch_size=30).fingerprint() != a.fingerprint()
    assert (
        build_plan(people(100), "people", upsert=False).fingerprint()
        != build_plan(people(100), "people").fingerprint()
    )
    # column order and the plan's display name do not change what is sent
    reordered = people(100)[["_row", "emails.primaryEmail", "name.lastName", "name.firstName"]]
    assert build_plan(reordered, "people", key="emails.primaryEmail", name="x").fingerprint() == (
        a.fingerprint()
    )


def test_save_and_load_round_trip(tmp_path):
    df = people(5).assign(**{"amount.amountMicros": [1.0, None, 3.0, 4.0, 5.0]})
    source = pd.DataFrame({"_row": range(5), "Full name": [f"F{i} L{i}" for i in range(5)]})
    companies = pd.DataFrame({"_row": ["c1", "c2"], "name": ["Acme", "Globex"]})
    plan = ImportPlan(
        [
            ObjectStep("companies", companies, upsert=False),
            ObjectStep("people", df, key="emails.primaryEmail", source=source),
        ],
        batch_size=2,
        api="rest",
        name="crm",
    )
    path = plan.save(tmp_path / "plans" / "crm.json")
    loaded = ImportPlan.load(path)
    assert loaded.fingerprint() == plan.fingerprint()
    assert loaded.api == "rest" and loaded.batch_size == 2 and loaded.name == "crm"
    assert loaded.steps[0].upsert is False and loaded.steps[1].key == "emails.primaryEmail"
    assert loaded.steps[1].sources()[3] == {"_row": 3, "Full name": "F3 L3"}
    assert [b.batch_id for b in loaded.batches()] == [b.batch_id for b in plan.batches()]
    with pytest.raises(ValueError, match="not a twenty_migrate plan"):
        ImportPlan.from_json({"steps": []})


def test_sources_default_to_the_step_columns():
    step = ObjectStep("people", people(2).assign(note=[None, "x"]))
    assert step.sources()[0] == {
        "_row": 0,
        "name.firstName": "First0",
        "name.lastName": "Last0",
        "emails.primaryEmail": "p0@example.com",
        "note": None,
    }


def test_budget_seconds_burst_then_sustained():
    assert budget_seconds(0) == 0
    assert budget_seconds(100) == 0  # the burst
    assert budget_seconds(160) == pytest.approx(60 * 60 / 100)
    tight = RateLimit(short_limit=10, short_window=1.0, long_limit=50, long_window=60.0, jitter=0)
    assert budget_seconds(10, tight) == 0
    assert budget_seconds(50, tight) == pytest.approx(4.0)  # the short window binds first
    assert budget_seconds(150, tight) == pytest.approx(100 * 60 / 50)


def test_describe_and_dry_run_text():
    plan = ImportPlan(
        [
            ObjectStep("companies", pd.DataFrame({"_row": range(120), "name": ["c"] * 120})),
            ObjectStep("people", people(6000)),
        ],
    )
    # the server's cap not known yet: counted at the largest cap, 200, and said so
    assert list(plan.estimate()["calls"]) == [1, 30]
    assert "up to 200 records per call (the server's cap, not calibrated yet)" in str(plan)
    # a server known to take 60 per call (client.traits.max_records)
    estimate = plan.estimate(RateLimit(jitter=0), max_records=60)
    assert list(estimate["calls"]) == [2, 100]
    assert estimate["est_seconds"].iloc[0] == 0
    assert estimate["est_seconds"].iloc[1] == pytest.approx(2 * 0.6, abs=0.1)
    text = plan.describe(max_records=60)
    assert "up to 60 records per call (the server's cap)" in text
    assert "companies: 120 rows in 2 calls (upsert)" in text
    assert "people: 6000 rows in 100 calls" in text
    assert "102 calls" in text and plan.fingerprint()[:12] in text
    assert plan.dry_run().startswith("Dry run, nothing sent.")
    assert "<table" in plan._repr_html_()
    # a user's batch_size is never exceeded, whatever the server takes
    small = ImportPlan(plan.steps, batch_size=50)
    assert "up to 50 records per call (batch_size)" in small.describe(max_records=200)


def test_head_is_a_small_test_plan():
    plan = ImportPlan(
        [
            ObjectStep("people", people(100), key="emails.primaryEmail"),
            ObjectStep("companies", pd.DataFrame({"_row": [1], "name": ["x"]})),
        ],
        name="crm",
    )
    test = plan.head(5)
    assert [s.object for s in test.steps] == ["people"]
    assert test.steps[0].rows == (0, 1, 2, 3, 4)
    assert test.label == "crm-test"
    assert test.steps[0].key == "emails.primaryEmail"


def test_plan_refuses_bad_settings():
    step = ObjectStep("people", people(2))
    with pytest.raises(ValueError, match="batch_size"):
        ImportPlan([step], batch_size=0)
    with pytest.raises(ValueError, match="api"):
        ImportPlan([step], api="soap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one step"):
        ImportPlan([])
    with pytest.raises(ValueError, match="two steps"):
        ImportPlan([step, ObjectStep("people", people(1))])


def test_refs_become_markers_and_must_point_to_an_earlier_step():
    companies = ObjectStep("companies", pd.DataFrame({"_row": ["c1"], "name": ["Acme"]}))
    staff = pd.DataFrame({"_row": [1, 2], "companyId": ["c1", None], "name.firstName": ["A", "B"]})
    step = ObjectStep("people", staff, refs={"companyId": "companies"})
    assert step.to_payloads() == [
        {"companyId": {"$ref": ["companies", "c1"]}, "name": {"firstName": "A"}},
        {"name": {"firstName": "B"}},
    ]
    plan = ImportPlan([companies, step])
    assert ImportPlan.from_json(plan.to_json()).steps[1].refs == {"companyId": "companies"}
    with pytest.raises(ValueError, match="not an earlier step"):
        ImportPlan([step, companies])
    with pytest.raises(ValueError, match="ref 'ownerId'"):
        ObjectStep("people", staff, refs={"ownerId": "workspaceMembers"})


def test_refs_cells_may_name_records_already_in_twenty(tmp_path):
    existing = "3f2a9c1b-0d4e-4a1b-9c8d-7e6f5a4b3c2d"
    companies = ObjectStep("companies", pd.DataFrame({"_row": ["c1"], "name": ["Acme"]}))
    staff = pd.DataFrame(
        {
            "_row": [1, 2, 3],
            "companyId": ["c1", existing_ref(existing), None],
            "jobTitle": ["twenty: not a ref", "CEO", None],
        }
    )
    step = ObjectStep("people", staff, refs={"companyId": "companies"})
    assert step.to_payloads() == [
        {"companyId": {"$ref": ["companies", "c1"]}, "jobTitle": "twenty: not a ref"},
        {"companyId": existing, "jobTitle": "CEO"},
        {},
    ]
    assert step.row_refs == {"companyId": "companies"}
    plan = ImportPlan([companies, step])
    loaded = ImportPlan.load(plan.save(tmp_path / "plan.json"))
    assert loaded.fingerprint() == plan.fingerprint()
    assert loaded.steps[1].to_payloads() == step.to_payloads()
    assert loaded.steps[1].records["companyId"].tolist() == ["c1", f"twenty:{existing}", None]

    # Only Twenty ids: the target object need not be a step of the plan at all.
    only = ObjectStep("people", staff.iloc[1:], refs={"companyId": "companies"})
    assert only.row_refs == {}
    assert ImportPlan([only]).steps[0].to_payloads()[0]["companyId"] == existing


def test_existing_refs_must_hold_a_uuid():
    assert existing_ref(uuid.UUID(int=5)) == f"twenty:{uuid.UUID(int=5)}"
    with pytest.raises(ValueError, match="not a Twenty record id"):
        existing_ref("acme")
    bad = pd.DataFrame({"_row": [1], "companyId": ["twenty:acme"]})
    with pytest.raises(ValueError, match="existing_ref"):
        ObjectStep("people", bad, refs={"companyId": "companies"})


@pytest.mark.parametrize("twenty_version", ["1", "2.4"])
@pytest.mark.parametrize("budget", [(100, 1, 100, 60), (10, 1, 30, 60)], ids=["default", "small"])
def test_estimate_counts_validation_and_verification_reads(twenty_version, budget, tmp_path):
    """The plan's estimate covers the whole migration (validation reads, writes and
    verification reads) and is not below the simulated time by more than a margin."""
    from conftest import FakeClock, sandbox_client

    from twenty_migrate.run.importer import Importer
    from twenty_migrate.sandbox import Sandbox
    from twenty_migrate.ui.demo import add_sample_members, sample_spec
    from twenty_migrate.verify.verify import verify_run

    short, short_window, long, long_window = budget
    clock = FakeClock()
    sandbox = Sandbox(
        twenty_version=twenty_version,
        clock=clock,
        sleep=clock.sleep,
        short_limit=short,
        short_ttl_ms=short_window * 1000,
        long_limit=long,
        long_ttl_ms=long_window * 1000,
    )
    add_sample_members(sandbox)
    rate = RateLimit(
        short_limit=short, short_window=short_window, long_limit=long, long_window=long_window
    )
    with sandbox_client(sandbox, clock, rate_limit=rate) as client:
        start = clock.now
        prepared = sample_spec().prepare(client)
        plan = prepared.plan
        assert plan is not None and plan.validation_reads == client.stats.calls > 0
        text = plan.describe(client.limiter.rate_limit, server=client.traits)
        result = Importer(client, runs_dir=tmp_path, progress=None, clock=clock).run(plan)
        check = verify_run(client, result.run_id, runs_dir=tmp_path, schema=prepared.schema)
        simulated = clock.now - start
    assert f"validation reads: {plan.validation_reads} calls" in text
    assert "verification reads: about " in text
    reads = int(text.split("verification reads: about ")[1].split()[0])
    assert check.calls <= reads <= 2 * check.calls
    total_calls = int(text.split("total: ")[1].split()[0])
    estimate = budget_seconds(total_calls, client.limiter.rate_limit)
    assert estimate >= 0.75 * simulated, (estimate, simulated, text)
    if simulated == 0:
        return  # all within the burst
    # The writes alone would have said far less: the reads are most of this migration.
    writes = int(
        plan.estimate(client.limiter.rate_limit, max_records=client.traits.max_records)[
            "calls"
        ].sum()
    )
    assert budget_seconds(writes, client.limiter.rate_limit) < 0.75 * simulated


def test_describe_without_reads():
    plan = ImportPlan([ObjectStep("people", people(10))])
    assert "validation reads" not in plan.describe()
    assert "verification reads: about 1 calls" in plan.describe()
    assert "verification reads" not in plan.describe(verify=False)
    assert "validation reads: 150 calls" in plan.describe(validation_reads=150)
    assert "at least 30 s" in plan.describe(validation_reads=150)
