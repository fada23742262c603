"""``tm.doctor`` and ``twenty-migrate doctor``: the key, what it may read, the release signals."""

from __future__ import annotations

import httpx
import pytest
from conftest import FakeClock, sandbox_client

import twenty_migrate as tm
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES, TwentyProfile
from twenty_migrate.twenty.discovery import ServerTraits
from twenty_migrate.twenty.schema import fetch_schema
from twenty_migrate.ui.cli import main

KEY = "doctor-secret-key-0123456789"


def _served_signals(sandbox: Sandbox) -> tuple[str, str]:
    """(metadata shape, rich-text type) as the sandbox serves them, read from its answers."""
    with sandbox.client() as http:
        answer = http.post(
            "/metadata", json={"query": '{ __type(name: "Object") { fields { name } } }'}
        ).json()
    names = {f["name"] for f in answer["data"]["__type"]["fields"]}
    task = sandbox.registry.by_singular("task")
    assert task is not None
    return ("1.x" if "isCustom" in names else "2.x"), task.fields["bodyV2"].type


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_doctor_reports_each_profiles_signals(profile: TwentyProfile):
    clock = FakeClock()
    sandbox = Sandbox(profile=profile, api_key=KEY, clock=clock, sleep=clock.sleep)
    client = sandbox_client(sandbox, clock)
    sandbox.fail_next(status=429)  # the first probe is throttled: its style is recorded
    report = tm.doctor(client)
    assert report.healthy and report.exit_code == 0
    assert report.key_works and report.metadata_readable
    assert {"people", "companies", "opportunities", "tasks", "notes"} <= set(
        report.readable_objects
    )
    shape, rich_text = _served_signals(sandbox)
    traits = report.traits
    assert traits.metadata_shape == shape
    assert traits.rich_text_type == rich_text
    assert traits.target_model == profile.target_model
    assert traits.throttle_style == profile.throttle_style
    text = str(report)
    for signal in (
        sandbox.base_url,
        f"task/note targets  {profile.target_model}",
        f"rich-text type     {rich_text}",
        f"throttle style     {profile.throttle_style}",
        f"metadata shape     {shape}",
        "per-call cap       not calibrated yet",
        "healthy: ready to migrate",
    ):
        assert signal in text, (signal, text)
    html = report._repr_html_()
    assert "<table>" in html and profile.target_model in html
    for shown in (text, html, repr(client)):
        assert KEY not in shown and KEY[-6:] not in shown
    assert client.traits_path is not None and KEY not in client.traits_path.read_text()
    # nothing was written: only reads (GraphQL POSTs whose root fields are queries)
    roots = {root for record in sandbox.requests for root in record.root_fields}
    assert not any(root.startswith(("create", "update", "delete", "destroy")) for root in roots)
    assert "people" in roots


def test_doctor_shows_a_known_cap_and_budget(client):
    client.traits.max_records = 60
    client.traits.rate_limit_per_minute = 100
    text = str(tm.doctor(client))
    assert "per-call cap       60" in text and "rate budget        100/min" in text


def test_a_refused_key_says_what_to_do():
    sandbox = Sandbox(twenty_version="1", api_key=KEY)
    wrong = "wrong-key-abcdefghijkl"
    client = sandbox_client(sandbox, FakeClock(), api_key=wrong)
    report = tm.doctor(client)
    assert not report.healthy and report.exit_code == 1 and report.key_works is False
    text = str(report)
    assert text.splitlines()[-1] == (
        f"not ready: the key was refused by {sandbox.base_url}; "
        "set TWENTY_API_KEY (Settings → APIs & Webhooks)"
    )
    assert wrong not in text and wrong not in report._repr_html_()


def test_metadata_hidden_from_the_key_is_reported_and_objects_still_checked():
    sandbox = Sandbox(twenty_version="1")
    inner = sandbox.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metadata":
            body = {"errors": [{"message": "Forbidden", "extensions": {"code": "FORBIDDEN"}}]}
            return httpx.Response(403, json=body)
        return inner.handle_request(request)

    client = sandbox_client(sandbox, FakeClock(), transport=httpx.MockTransport(handler))
    report = tm.doctor(client)
    assert report.exit_code == 1 and report.metadata_readable is False and report.key_works
    assert "people" in report.readable_objects
    assert "the key may not read the data model" in str(report)
    assert "Settings → Roles" in str(report)


def test_an_unreachable_server_is_one_sentence():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    clock = FakeClock()
    client = tm.TwentyClient(
        base_url="https://crm.example.com",
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        env_file=None,
        clock=clock,
        sleep=clock.sleep,
    )
    report = tm.doctor(client)
    assert report.exit_code == 1 and report.key_works is None
    assert "https://crm.example.com could not be reached" in str(report)
    assert "check TWENTY_API_URL" in str(report)


def test_doctor_reports_what_the_caches_say_that_the_server_contradicts(tmp_path):
    old = sandbox_client(Sandbox(twenty_version="1"), FakeClock(), traits_path=None)
    fetch_schema(old, cache=tmp_path / "schema.json")  # a cache from a 1.x server
    sandbox = Sandbox(twenty_version="2")
    client = sandbox_client(sandbox, FakeClock())
    client.traits.update(ServerTraits(target_model="plain"))
    report = tm.doctor(client, schema_cache=tmp_path / "schema.json")
    assert report.healthy  # disagreements are news, not failures
    found = "\n".join(report.disagreements)
    assert "saved traits say target_model: plain -> morph" in found
    assert "schema cache has taskTargets.person, the server does not" in found
    assert "schema cache says target_model: plain -> morph" in found
    assert "cache disagrees" in str(report)


def test_the_doctor_command(monkeypatch, capsys):
    with Sandbox(twenty_version="2", api_key=KEY).serve() as server:
        monkeypatch.setenv("TWENTY_API_URL", server.url)
        monkeypatch.setenv("TWENTY_API_KEY", KEY)
        assert main(["doctor"]) == 0
        out, err = capsys.readouterr()
        assert "healthy: ready to migrate" in out and "task/note targets  morph" in out
        assert KEY not in out + err
        monkeypatch.setenv("TWENTY_API_KEY", "not-the-key-0000")
        assert main(["doctor"]) == 1
        out, err = capsys.readouterr()
    assert f"the key was refused by {server.url}; set TWENTY_API_KEY" in out
    assert "Traceback" not in out + err and "not-the-key" not in out + err
