"""Mistakes a new user makes, each told in one sentence with the next step, never a traceback.

The CLI runs in process against a sandbox served over HTTP on a loopback port, as a real
workspace would be reached.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import FakeClock, sandbox_client

import twenty_migrate as tm
from twenty_migrate.plan.plan import build_plan
from twenty_migrate.sandbox import Sandbox
from twenty_migrate.sandbox.profiles import PROFILES
from twenty_migrate.ui.cli import main


@pytest.fixture
def served(monkeypatch) -> Iterator[Sandbox]:
    """A sandbox on a loopback port, with TWENTY_API_URL / TWENTY_API_KEY pointing at it."""
    sandbox = Sandbox(twenty_version="1", long_limit=10_000)
    with sandbox, sandbox.serve() as server:
        monkeypatch.setenv("TWENTY_API_URL", server.url)
        monkeypatch.setenv("TWENTY_API_KEY", sandbox.api_key)
        monkeypatch.setenv("TWENTY_MIGRATE_LONG_LIMIT", "10000")
        yield sandbox


@pytest.fixture
def plan_file(tmp_path) -> Path:
    people = pd.DataFrame(
        {
            "_row": range(1, 6),
            "name.firstName": [f"Ada{i}" for i in range(5)],
            "emails.primaryEmail": [f"ada{i}@example.com" for i in range(5)],
        }
    )
    return build_plan(people, "people", key="emails.primaryEmail").save(tmp_path / "plan.json")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_sentence(err: str, *words: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in err, (word, err)


def people_in(sandbox: Sandbox) -> int:
    return len(sandbox.engine.all_records("people"))


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------ connection settings


def test_a_wrong_key_names_the_setting_to_fix(served, plan_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "not-the-key-0123")

    code, _, err = run_cli(capsys, "import", str(plan_file), "--runs-dir", str(tmp_path / "r"))

    assert code == 2
    assert_one_sentence(err, "key was refused", "TWENTY_API_KEY", "APIs & Webhooks")
    assert "No payload" not in err and "not-the-key-0123" not in err
    assert people_in(served) == 0


def test_an_unreachable_url_names_the_setting_to_fix(plan_file, tmp_path, capsys, monkeypatch):
    url = f"http://127.0.0.1:{free_loopback_port()}"
    monkeypatch.setenv("TWENTY_API_URL", url)
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")

    code, _, err = run_cli(capsys, "import", str(plan_file), "--runs-dir", str(tmp_path / "r"))

    assert code == 2
    assert_one_sentence(err, url, "could not be reached", "TWENTY_API_URL")


def test_connect_with_a_wrong_key_raises_one_line(clock: FakeClock):
    sandbox = Sandbox(twenty_version="1")
    with pytest.raises(tm.WorkspaceUnavailableError) as caught:
        tm.connect(
            base_url=sandbox.base_url,
            api_key="wrong-key-0123456789",
            transport=sandbox.transport(),
            env_file=None,
        )
    error = caught.value
    assert "\n" not in str(error)
    assert "refused" in str(error) and "TWENTY_API_KEY" in str(error)
    assert "wrong-key" not in str(error) + repr(error)
    assert isinstance(error, tm.ConfigError)
    # IPython shows these lines instead of the library's frames.
    assert error._render_traceback_() == [f"WorkspaceUnavailableError: {error}"]
    assert error.__cause__ is None and error.__suppress_context__


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_connect_with_a_good_key_checks_with_one_metadata_read(profile, clock):
    sandbox = Sandbox(profile=profile)
    client = tm.connect(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        transport=sandbox.transport(),
        env_file=None,
        clock=clock,
        sleep=clock.sleep,
    )
    with client:
        assert client.stats.calls == 1
        assert [r.path for r in sandbox.requests] == ["/rest/metadata/objects"]


def test_connect_to_an_unreachable_url_raises_one_line():
    url = f"http://127.0.0.1:{free_loopback_port()}"
    with pytest.raises(tm.WorkspaceUnavailableError, match="could not be reached") as caught:
        tm.connect(base_url=url, api_key="some-key-0123456789", env_file=None)
    assert "TWENTY_API_URL" in str(caught.value) and "\n" not in str(caught.value)


def test_building_a_client_sends_nothing():
    sandbox = Sandbox(twenty_version="1")
    client = sandbox_client(sandbox, FakeClock(), api_key="wrong-key-0123456789")
    assert client.stats.calls == 0 and not sandbox.requests


# ------------------------------------------------------------------ files


def test_a_missing_file_is_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")
    code, _, err = run_cli(capsys, "import", str(tmp_path / "nope.json"))
    assert code == 2
    assert_one_sentence(err, "no file at", "nope.json", "MigrationSpec.save")


def test_malformed_json_is_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")
    bad = tmp_path / "plan.json"
    bad.write_text('{"format": ', encoding="utf-8")
    code, _, err = run_cli(capsys, "import", str(bad))
    assert code == 2
    assert_one_sentence(err, "not valid JSON", "line 1", "ImportPlan.save")


def test_json_that_is_no_plan_is_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")
    other = tmp_path / "package.json"
    other.write_text('{"name": "x"}', encoding="utf-8")
    code, _, err = run_cli(capsys, "import", str(other))
    assert code == 2
    assert_one_sentence(err, "not a twenty-migrate plan or migration spec")


@pytest.mark.parametrize("name", ["people.csv", "people.xlsx"])
def test_a_data_file_passed_to_import_is_one_sentence(name, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")
    data = tmp_path / name
    data.write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    for command in ("import", "validate"):
        code, _, err = run_cli(capsys, command, str(data))
        assert code == 2
        assert_one_sentence(err, "is a data file", "not a plan", "migration spec")


@pytest.mark.parametrize("command", ["resume", "rollback", "logs"])
def test_an_unknown_run_id_is_one_sentence(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWENTY_API_KEY", "some-key-0123456789")
    runs = str(tmp_path / "runs")
    code, _, err = run_cli(capsys, command, "no-such-run", "--runs-dir", runs)
    assert code == 2
    assert_one_sentence(err, "no run 'no-such-run'", f"twenty-migrate runs --runs-dir {runs}")


def test_an_unwritable_output_file_is_one_sentence(tmp_path, capsys, monkeypatch):
    def unwritable(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out.csv"))

    monkeypatch.setattr("twenty_migrate.ui.cli._cmd_runs", unwritable)
    code, _, err = run_cli(capsys, "runs")
    assert code == 2
    assert_one_sentence(err, "Permission denied", "out.csv", "check the path")


def test_an_unexpected_error_keeps_its_traceback_and_asks_for_a_report(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("internal slip")

    monkeypatch.setattr("twenty_migrate.ui.cli._cmd_runs", broken)
    code, _, err = run_cli(capsys, "runs")
    assert code == 3
    assert "Traceback" in err and "internal slip" in err and "please report it" in err


# ------------------------------------------------------------------ runs


def test_ctrl_c_during_an_import_names_the_run_and_how_to_finish_it(
    served, plan_file, tmp_path, capsys, monkeypatch
):
    runs = str(tmp_path / "runs")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("twenty_migrate.run.importer.Session", interrupted)
        code, _, err = run_cli(capsys, "import", str(plan_file), "--runs-dir", runs)

    assert code == 130
    (run_id,) = [p.name for p in Path(runs).iterdir()]
    command = f"twenty-migrate resume {run_id} --runs-dir {runs}"
    assert command in err and "RUN" not in err and "Traceback" not in err
    assert people_in(served) == 0
    # The printed command finishes the run.
    assert run_cli(capsys, *command.split()[1:])[0] == 0
    assert people_in(served) == 5


def test_rollback_asks_first_and_runs_shows_rolled_back(
    served, plan_file, tmp_path, capsys, monkeypatch
):
    runs = str(tmp_path / "runs")
    assert run_cli(capsys, "import", str(plan_file), "--runs-dir", runs, "--no-progress")[0] == 0
    (run_id,) = [p.name for p in Path(runs).iterdir()]

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal to ask on
    code, _, err = run_cli(capsys, "rollback", run_id, "--runs-dir", runs)
    assert code == 2
    assert_one_sentence(err, "--yes", run_id)
    assert people_in(served) == 5

    terminal = io.StringIO("n\n")
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", terminal)
    code, out, err = run_cli(capsys, "rollback", run_id, "--runs-dir", runs)
    assert code == 2 and "nothing was deleted" in err
    assert f"Roll back run {run_id} in http://127.0.0.1:" in out and "soft-delete" in out
    assert people_in(served) == 5

    code, out, _ = run_cli(capsys, "rollback", run_id, "--runs-dir", runs, "--yes")
    assert code == 0 and "5 soft-deleted" in out
    assert people_in(served) == 0
    code, out, _ = run_cli(capsys, "runs", "--runs-dir", runs)
    assert code == 0 and "rolled back" in out
    assert tm.list_runs(runs)["status"].tolist() == ["rolled back"]


def test_import_into_a_workspace_lacking_a_field_lists_it_and_sends_nothing(
    served, tmp_path, capsys
):
    people = pd.DataFrame(
        {
            "_row": [1, 2],
            "emails.primaryEmail": ["a@example.com", "b@example.com"],
            "favouriteColour": ["red", "blue"],
        }
    )
    plan_file = build_plan(people, "people").save(tmp_path / "plan.json")
    runs = tmp_path / "runs"

    code, _, err = run_cli(capsys, "import", str(plan_file), "--runs-dir", str(runs))

    assert code == 2 and "Traceback" not in err
    assert "favouriteColour" in err and "--create-missing" in err
    assert people_in(served) == 0 and not runs.exists()

    code, out, _ = run_cli(
        capsys, "import", str(plan_file), "--runs-dir", str(runs), "--create-missing"
    )
    assert code == 0, out
    assert people_in(served) == 2
    stored = {r["emails"]["primaryEmail"]: r for r in served.engine.all_records("people")}
    assert stored["a@example.com"]["favouriteColour"] == "red"


def test_rollback_of_the_full_run_keeps_the_test_batch_unless_asked(
    served, plan_file, tmp_path, capsys
):
    runs = str(tmp_path / "runs")
    base = ["--runs-dir", runs, "--no-progress"]
    assert run_cli(capsys, "import", str(plan_file), "--test-batch", "2", *base)[0] == 0
    assert run_cli(capsys, "import", str(plan_file), *base)[0] == 0
    full = tm.list_runs(runs).query("kind == 'run'")["run_id"].item()

    code, out, _ = run_cli(capsys, "rollback", full, *base, "--yes")
    assert code == 0 and "3 soft-deleted" in out
    assert people_in(served) == 2

    code, out, _ = run_cli(capsys, "rollback", full, *base, "--yes", "--include-test-batch")
    assert code == 0 and "2 soft-deleted" in out
    assert people_in(served) == 0


NOTEBOOK_CELL = """
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
shell = start_ipython()
with capture_output() as shown:
    shell.run_cell(
        "import twenty_migrate as tm\\n"
        "from twenty_migrate.sandbox import Sandbox\\n"
        "sandbox = Sandbox(twenty_version='1')\\n"
        "tm.connect(base_url=sandbox.base_url, api_key='wrong-key-0123456789',\\n"
        "           transport=sandbox.transport(), env_file=None)\\n"
    )
print(shown.stdout, end="")
"""


def test_a_wrong_key_renders_as_one_line_in_a_notebook(tmp_path):
    pytest.importorskip("IPython")
    shown = subprocess.run(
        [sys.executable, "-c", NOTEBOOK_CELL],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],  # this checkout's package first
        env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")},
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "WorkspaceUnavailableError: the key was refused by http://sandbox.twenty.local: "
        "set TWENTY_API_KEY (Settings → APIs & Webhooks)."
    ]
