"""The validator against the sandbox, value by value, in both directions.

The sandbox keeps its own copy of Twenty's rules (``twenty_migrate.sandbox.engine.jsvalues``,
``sandbox/phones.py``), written from Twenty's source, so it is an independent oracle of
the client's validator (``tm.validate``). For generated emails, phones, date-times, links,
numbers and amounts:

* the validator never passes what the sandbox refuses, and
* the validator never refuses what the sandbox stores,

on every Twenty profile where the rule differs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.errors import SandboxError
from twenty_migrate.sandbox.profiles import PROFILES, TwentyProfile
from twenty_migrate.twenty.client import TwentyClient
from twenty_migrate.twenty.schema import ObjectSchema, fetch_schema
from twenty_migrate.validation.validate import validate
from twenty_migrate.values.payloads import MISSING, to_json_value, unflatten

#: Rules where the validator is knowingly stricter than Twenty: Twenty stores any text as
#: a currency code, but cannot show such an amount as money.
STRICTER_ON_PURPOSE = frozenset({"unknown_currency"})

PROBE_FIELDS: tuple[dict[str, Any], ...] = (
    {"type": "NUMBER", "name": "score"},
    {"type": "NUMERIC", "name": "balance"},
    {"type": "DATE", "name": "birthday"},
    {"type": "DATE_TIME", "name": "lastSeen"},
    {"type": "CURRENCY", "name": "salary"},
    {"type": "EMAILS", "name": "contact"},
    {"type": "PHONES", "name": "phones"},
    {"type": "LINKS", "name": "site"},
)


def probe_sandbox(profile: TwentyProfile) -> Sandbox:
    """A workspace with a custom object ``probes``: one field per rule, none unique (a
    duplicate would be refused for another reason than its value)."""
    sandbox = Sandbox(profile=profile, throttle=False)
    probe = sandbox.registry.create_object(
        {
            "nameSingular": "probe",
            "namePlural": "probes",
            "labelSingular": "Probe",
            "labelPlural": "Probes",
        }
    )
    for data in PROBE_FIELDS:
        sandbox.registry.create_field({"objectMetadataId": probe.id, **data})
    return sandbox


@pytest.fixture(scope="module", params=PROFILES, ids=lambda p: p.name)
def oracle(request) -> tuple[Sandbox, ObjectSchema]:
    sandbox = probe_sandbox(request.param)
    client = TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
    )
    with client:
        return sandbox, fetch_schema(client).object("probes")


def sandbox_refusal(sandbox: Sandbox, row: dict[str, Any]) -> str | None:
    """None when the sandbox stores the row as the importer sends it, else its message."""
    flat = {k: to_json_value(v) for k, v in row.items() if k != "_row"}
    record = unflatten({k: v for k, v in flat.items() if v is not MISSING})
    try:
        sandbox.engine.create_one("probes", record)
    except SandboxError as exc:
        return exc.message
    return None


# --------------------------------------------------------------------------- values
DIGITS = "0123456789"
PUNCTUATION = st.sampled_from(["", " ", "-", ".", " - "])


@st.composite
def national_numbers(draw: st.DrawFn) -> str:
    """Digits as people type them, of any length, with spaces, dashes or brackets."""
    digits = draw(st.text(DIGITS, min_size=1, max_size=18))
    cut = draw(st.integers(0, len(digits)))
    sep = draw(PUNCTUATION)
    text = digits[:cut] + sep + digits[cut:]
    return f"({text[:3]}) {text[3:]}" if draw(st.booleans()) and len(text) > 4 else text


FICTIONAL = st.builds(
    lambda area, line, style: style.format(area=area, line=line),
    st.sampled_from(["212", "415", "800", "555", "201"]),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    st.sampled_from(
        ["{area}-555-{line}", "({area}) 555-{line}", "+1 {area} 555 {line}", "{area}555{line}",
         "555-{line}", "1{area}555{line}", "+1555{line}"]
    ),
)  # fmt: skip
INTERNATIONAL = st.builds(
    lambda code, rest, sep: f"{code}{sep}{rest}",
    st.sampled_from(["+1", "+44", "+33", "+49", "+91", "+81", "+55", "+61", "+7", "+999", "+800",
                     "+882", "00 33", "+"]),
    st.text(DIGITS, min_size=0, max_size=15),
    PUNCTUATION,
)  # fmt: skip
PHONE_NUMBER = st.one_of(
    national_numbers(),
    FICTIONAL,
    INTERNATIONAL,
    st.sampled_from(["+14155552671", "06 12 34 56 78", "+44 20 7946 0958", "0", "+", "abc",
                     "1-800-FLOWERS", "+1 (415) 555-2671 ext. 12", "", " "]),
)  # fmt: skip
COUNTRY = st.one_of(
    st.none(), st.sampled_from(["US", "CA", "GB", "FR", "DE", "IN", "JP", "BR", "AU", "XX", ""])
)
CALLING = st.one_of(
    st.none(), st.sampled_from(["+1", "+44", "+33", "+91", "+999", "1", "44", "", "+"])
)
PHONES = st.fixed_dictionaries(
    {
        "phones.primaryPhoneNumber": PHONE_NUMBER,
        "phones.primaryPhoneCountryCode": COUNTRY,
        "phones.primaryPhoneCallingCode": CALLING,
    }
)
ADDITIONAL_PHONES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={"number": st.one_of(st.none(), PHONE_NUMBER), "countryCode": COUNTRY,
                  "callingCode": CALLING},
    ),
    max_size=3,
).map(lambda items: {"phones.additionalPhones": items})  # fmt: skip

LABEL = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
DOMAIN = st.builds(
    lambda parts, tld, dots: ".".join(parts) + "." + tld + dots,
    st.lists(LABEL, min_size=1, max_size=2),
    st.sampled_from(["com", "LA", "de", "io", "x", "xn--p1ai", "museum"]),
    st.sampled_from(["", "", ".", "..", "。"]),
)
EMAIL = st.one_of(
    st.emails().map(str),
    st.builds(lambda local, dom, pad: f"{pad}{local}@{dom}{pad}", LABEL, DOMAIN,
              st.sampled_from(["", " ", "  "])),
    st.sampled_from(["  Admin@💩。LA.  ", "x@example.LA.", "jürgen@bücher.de", "a@b", "@b.co",
                     "a@@b.co", "a b@c.co", "a@b.c", "", "É@X.FR", "a@-b.co", "a@b.co."]),
)  # fmt: skip
EMAILS = st.one_of(
    EMAIL.map(lambda e: {"contact.primaryEmail": e}),
    st.lists(EMAIL, max_size=3).map(lambda es: {"contact.additionalEmails": es}),
)

DATES = st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(str),
    st.sampled_from(["2024-02-30", "2023-02-29", "0000-01-01", "24-01-15", "2024-1-5", ""]),
).map(lambda d: {"birthday": d})
ZONES = st.sampled_from(["", "Z", "+00:00", "+05:30", "-08:00", "+0200", " UTC", "+14:00"])


@st.composite
def datetimes(draw: st.DrawFn) -> dict[str, Any]:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    style = draw(st.integers(0, 4))
    if style == 0:
        text = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds"])))
    elif style == 1:
        text = moment.strftime("%Y%m%dT%H%M%S")
    elif style == 2:
        text = moment.strftime("%B %d, %Y %I:%M %p")
    elif style == 3:
        text = moment.date().isoformat()
    else:
        text = draw(st.text("0123456789-:T .Z+", max_size=24))
    return {"lastSeen": text + (draw(ZONES) if style in (0, 1) else "")}


LINK_URL = st.one_of(
    st.none(),
    st.sampled_from(["", "HTTPS://Example.COM/", "www.Acme.com/", "https://www.twenty.com/a%20b",
                     "acme.com", "ftp://x.org", "https://user@www.Twenty.com:8080/x"]),
    st.text(st.characters(codec="ascii", min_codepoint=33), max_size=12),
)  # fmt: skip
LINKS = st.fixed_dictionaries(
    {"site.primaryLinkUrl": LINK_URL},
    optional={
        "site.primaryLinkLabel": st.one_of(st.none(), LABEL),
        "site.secondaryLinks": st.lists(
            st.fixed_dictionaries({"url": LINK_URL, "label": st.one_of(st.none(), LABEL)}),
            max_size=3,
        ),
    },
)
NUMBER_TEXT = st.from_regex(r"\A ?[+-]?[0-9]{0,5}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})? ?\Z")
NUMBERS = st.one_of(
    st.one_of(
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        NUMBER_TEXT,
    ).map(lambda n: {"score": n}),
    st.one_of(
        st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False), NUMBER_TEXT
    ).map(lambda n: {"balance": n}),
)
CURRENCIES = st.fixed_dictionaries(
    {
        "salary.amountMicros": st.one_of(st.integers(-(10**15), 10**15), NUMBER_TEXT),
        "salary.currencyCode": st.sampled_from(["EUR", "USD", "usd", "XYZ", "", "JPY"]),
    }
)
CELLS = st.one_of(PHONES, ADDITIONAL_PHONES, EMAILS, DATES, datetimes(), LINKS, NUMBERS, CURRENCIES)


def disagreements(oracle: tuple[Sandbox, ObjectSchema], cells: list[dict[str, Any]]) -> list[str]:
    sandbox, probes = oracle
    rows = [{"_row": i, **cell} for i, cell in enumerate(cells)]
    frame = pd.DataFrame(rows).astype(object)
    frame = frame.where(frame.notna(), None)
    errors = validate(frame, probes).errors
    found = []
    for row in frame.to_dict("records"):
        sent = {k: v for k, v in row.items() if v is not None}
        rules = set(errors.loc[errors["_row"] == row["_row"], "rule"]) - STRICTER_ON_PURPOSE
        refusal = sandbox_refusal(sandbox, sent)
        if not rules and refusal is not None:
            found.append(f"validator passes what the sandbox refuses ({refusal}): {sent}")
        if rules and refusal is None:
            found.append(f"validator refuses ({sorted(rules)}) what the sandbox stores: {sent}")
    return found


# No shrinking: each step re-runs the validator; the failing rows are listed as they are.
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cells=st.lists(CELLS, min_size=1, max_size=40))
@example(
    cells=[
        {"contact.primaryEmail": "  Admin@💩。LA.  "},
        {"phones.primaryPhoneNumber": "555-0100", "phones.primaryPhoneCountryCode": "US"},
        {"phones.primaryPhoneNumber": "+1 212 555 0199"},
        {"phones.additionalPhones": [{}]},
        {"lastSeen": "0495-02-12T10:00:00Z"},
        {"birthday": "0495-02-12"},
        {"site.primaryLinkUrl": "", "site.secondaryLinks": [{"url": None}, {"url": "b.io"}]},
    ]
)
def test_the_validator_and_the_sandbox_agree_on_every_value(oracle, cells):
    assert disagreements(oracle, cells) == []


def test_the_oracle_sees_a_disagreement(oracle):
    """The check itself works: a sandbox stricter than the validator is caught."""
    sandbox, _ = oracle
    original = sandbox.engine.create_one

    def refuse_everything(*args: Any, **kwargs: Any) -> Any:
        raise SandboxError("refused")

    sandbox.engine.create_one = refuse_everything  # type: ignore[method-assign]
    try:
        assert disagreements(oracle, [{"score": 1}]) == [
            "validator passes what the sandbox refuses (refused): {'_row': 0, 'score': 1}"
        ]
    finally:
        sandbox.engine.create_one = original  # type: ignore[method-assign]


def test_dates_before_year_1000_round_trip(oracle):
    sandbox, _ = oracle
    moment = datetime(495, 2, 12, 10, tzinfo=timezone.utc) + timedelta(milliseconds=250)
    stored = sandbox.engine.create_one("probes", {"lastSeen": moment.isoformat()})["lastSeen"]
    assert stored == "0495-02-12T10:00:00.250Z"
    assert sandbox.engine.create_one("probes", {"lastSeen": stored})["lastSeen"] == stored
    assert disagreements(oracle, [{"lastSeen": stored}, {"birthday": "0495-02-12"}]) == []


# --------------------------------------------------------------------------- unique keys
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_in_file_company_domains_are_keyed_as_twenty_stores_them(profile):
    sandbox = Sandbox(profile=profile, throttle=False)
    client = TwentyClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
    )
    with client:
        companies = fetch_schema(client).object("companies")
    rows = [
        {"_row": 0, "name": "Acme", "domainName.primaryLinkUrl": "https://www.acme.com"},
        {"_row": 1, "name": "Acme Inc", "domainName.primaryLinkUrl": "acme.com"},
    ]
    # On 2.4x the field's links variant is "domain" (bare host): the two rows are one key.
    duplicates = set(validate(pd.DataFrame(rows), companies).errors["_row"])
    records = [unflatten({k: v for k, v in row.items() if k != "_row"}) for row in rows]
    try:
        sandbox.engine.create_many("companies", records)
        refused = set()
    except SandboxError:
        refused = {1}  # the second row holds a domain already taken
    # The validator names every row of a duplicated key (the first is kept at planning).
    assert duplicates == ({0, 1} if refused else set())
