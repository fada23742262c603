"""The test-batch notebook in JupyterLab, in a real browser, as a consultant uses it.

Notebooks ``01`` to ``03`` are run headlessly first (as in ``tests/test_notebooks.py``) to
leave the schema, the sandbox's records and the plan in a temporary work folder. The test
then starts JupyterLab on a copy of ``notebooks/``, opens ``04_test_batch`` in Chromium
(Playwright driving Debian's ``chromium``: no browser is downloaded), runs every cell from
the Run menu, clicks the test-batch widget's Preview and Send, and checks what the page
shows against the sandbox's SQLite file.

Without Chromium, Playwright or JupyterLab the test is skipped, except in CI (``CI`` set),
where it fails: CI installs them (``.ci/run``). ``CHROMIUM_PATH`` names another browser.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

import twenty_migrate as tm

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
EARLIER_NOTEBOOKS = ["01_connect_and_schema", "02_load_and_clean", "03_map_and_validate"]
TEST_BATCH_NOTEBOOK = "04_test_batch.ipynb"
TEST_BATCH = 15  # TEST_BATCH in the notebook's parameters cell
CELL_TIMEOUT = 300
SERVER_START_TIMEOUT_S = 90
RUN_ALL_TIMEOUT_MS = 180_000
CLICK_TIMEOUT_MS = 60_000
SUMMARY = re.compile(r"companies: (\d+) created, (\d+) updated, (\d+) failed")
# One line, so the editor's auto-indent and bracket closing have nothing to act on.
FRESH_WIDGET_CELL = (
    "fresh = tm.widgets.TestBatchReview(client, plan, n=TEST_BATCH, importer=importer); fresh"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, which must run this test."""
    if _in_ci():
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    _unavailable("no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)")


def _notebook_environ(work: Path) -> dict[str, str]:
    """What the notebooks' kernels see: no credentials (so the sandbox), the work folder."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWENTY_API_", "TWENTY_MIGRATE_"))
    }
    environ["TWENTY_MIGRATE_WORK"] = str(work)
    environ["TWENTY_MIGRATE_CACHE_DIR"] = str(work / "cache")  # server traits, not ~
    # The same roomy budget as tests/test_notebooks.py: no wait for Twenty's 100 calls a minute.
    environ["TWENTY_MIGRATE_LONG_LIMIT"] = "2000"
    # This checkout's package in the kernels, whatever is installed.
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return environ


@pytest.fixture
def work(tmp_path) -> Path:
    """A work folder as notebooks 01 to 03 leave it: schema, sandbox records, plan."""
    work = tmp_path / "work"
    work.mkdir()
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            env.delenv(name)
        for name, value in _notebook_environ(work).items():
            env.setenv(name, value)
        for name in EARLIER_NOTEBOOKS:
            notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
            NotebookClient(
                notebook,
                timeout=CELL_TIMEOUT,
                kernel_name="python3",
                resources={"metadata": {"path": str(work)}},
            ).execute()
    assert (work / "plan.json").is_file()
    return work


class JupyterLab:
    """A JupyterLab server in its own process group, its log kept in a file."""

    def __init__(self, root: Path, work: Path, home: Path) -> None:
        self.token = secrets.token_hex(16)
        self.log_path = home / "jupyterlab.log"
        self.url: str | None = None
        self._started = threading.Event()
        settings = home / "settings"
        # Every cell in the page (no windowing), the notebook's own kernel started without
        # asking, and no news or update pop-ups over the page.
        _write_settings(
            settings,
            "notebook-extension",
            "tracker",
            {"windowingMode": "none", "autoStartDefaultKernel": True},
        )
        _write_settings(
            settings,
            "apputils-extension",
            "notification",
            {"fetchNews": "false", "checkForUpdates": False},
        )
        environ = _notebook_environ(work)
        for name, folder in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("IPYTHONDIR", "ipython"),
        ):
            environ[name] = str(home / folder)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={_free_port()}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its kernels too are stopped with its process group
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        """Copy the server's output to the log; note the URL it says it serves at."""
        assert self.process.stdout is not None
        with self.process.stdout, self.log_path.open("w", encoding="utf-8") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                found = re.search(r"(http://127\.0\.0\.1:\d+)/lab\b", line)
                if found and self.url is None:
                    self.url = found[1]
                    self._started.set()
        self._started.set()  # the server ended: stop waiting

    def wait_until_serving(self) -> str:
        self._started.wait(SERVER_START_TIMEOUT_S)
        if self.url is None:
            pytest.fail(f"JupyterLab did not start:\n{self.log_tail()}")
        answer = httpx.get(f"{self.url}/api/status", params={"token": self.token})
        assert answer.status_code == 200, self.log_tail()
        return self.url

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the server's group (it shuts its kernels down), SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=5)


def _write_settings(folder: Path, extension: str, plugin: str, values: dict[str, Any]) -> None:
    path = folder / "@jupyterlab" / extension / f"{plugin}.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def jupyterlab(work, tmp_path) -> Iterator[JupyterLab]:
    """JupyterLab serving a copy of the notebooks, stopped whatever the test does."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root)
    server = JupyterLab(root, work, tmp_path / "jupyter")
    print(f"JupyterLab log: {server.log_path}; screenshot: {tmp_path / 'jupyterlab.png'}")
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (checked first: skips come before any work)."""
    executable = _chromium()
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _unavailable('JupyterLab is not installed (pip install -e ".[dev]")')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable('Playwright is not installed (pip install -e ".[dev]")')
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _companies(work: Path) -> list[dict[str, Any]]:
    """The companies in the sandbox's SQLite file (not soft-deleted)."""
    db = sqlite3.connect(work / "sandbox.sqlite")
    try:
        rows = db.execute("SELECT json FROM records WHERE object = 'company'").fetchall()
    finally:
        db.close()
    records = [json.loads(raw) for (raw,) in rows]
    return [r for r in records if not r.get("deletedAt")]


def _summary(text: str) -> tuple[int, int, int]:
    found = SUMMARY.search(text)
    assert found, f"no 'companies: N created, N updated, N failed' in {text!r}"
    created, updated, failed = (int(n) for n in found.groups())
    return created, updated, failed


def test_test_batch_notebook_in_jupyterlab(browser, jupyterlab, work, tmp_path):
    from playwright.sync_api import expect

    test_rows = tm.ImportPlan.load(work / "plan.json").head(TEST_BATCH).steps[0]
    assert test_rows.object == "companies"
    names = [payload["name"] for payload in test_rows.to_payloads()]
    before = len(_companies(work))

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(CLICK_TIMEOUT_MS)
    try:
        page.goto(f"{jupyterlab.url}/lab/tree/{TEST_BATCH_NOTEBOOK}?token={jupyterlab.token}")
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        expect(notebook.locator(".jp-Cell").first).to_be_visible()
        kernel_idle = page.get_by_role("button", name=re.compile(r"\| Idle$"))  # status bar
        expect(kernel_idle).to_be_visible()  # Run All before the kernel is connected is lost

        # Run -> Run All Cells, as a consultant runs the notebook.
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        expect(notebook.get_by_text(re.compile(r"Test batch \S+ -> kept"))).to_be_visible(
            timeout=RUN_ALL_TIMEOUT_MS
        )
        expect(kernel_idle).to_be_visible()
        prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        assert prompts and all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts), prompts
        text = notebook.inner_text()
        assert "Traceback" not in text
        # The notebook pressed Send from code (and printed the summary), then Keep.
        assert _summary(text) == (TEST_BATCH, 0, 0)
        assert len(_companies(work)) == before + TEST_BATCH
        widgets = notebook.locator(".twenty-test-batch")
        expect(widgets).to_have_count(1)
        kept = widgets.first
        expect(kept.locator(".twenty-test-batch-status")).to_contain_text(
            f"Kept {TEST_BATCH} records"
        )
        expect(kept.get_by_role("button", name=f"Send {TEST_BATCH} rows")).to_be_disabled()
        expect(kept.locator(".twenty-test-batch-view table")).to_contain_text(names[0])

        # A fresh widget in a new cell at the end, its buttons clicked.
        notebook.locator(".jp-Cell").last.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.insert_text(FRESH_WIDGET_CELL)
        page.keyboard.press("Shift+Enter")
        expect(widgets).to_have_count(2)
        fresh = widgets.last
        status = fresh.locator(".twenty-test-batch-status")
        view = fresh.locator(".twenty-test-batch-view")

        fresh.get_by_role("button", name="Preview", exact=True).click()
        expect(status).to_contain_text(f"{TEST_BATCH} companies records will be sent")
        for name in names:
            expect(view).to_contain_text(name)

        again = fresh.get_by_role("checkbox", name="Send again")
        if again.count():  # a widget that shows an earlier batch of these rows unless ticked
            again.check()
        at_send = len(_companies(work))
        fresh.get_by_role("button", name=f"Send {TEST_BATCH} rows", exact=True).click()
        expect(status).to_contain_text(SUMMARY)
        created, updated, failed = _summary(status.inner_text())
        assert created + updated == TEST_BATCH and failed == 0
        stored = _companies(work)
        assert len(stored) == at_send + created  # the counts shown are what Twenty holds
        stored_names = {r.get("name") for r in stored}
        table = view.locator("table")
        expect(table).to_be_visible()
        shown = table.inner_text()
        rows_shown = {int(r) for r in re.findall(r"^(\d+)\tname\t", shown, re.MULTILINE)}
        assert len(rows_shown) == TEST_BATCH
        for name in names:
            assert name in shown
            assert name in stored_names
        fresh.scroll_into_view_if_needed()
    finally:
        page.screenshot(path=str(tmp_path / "jupyterlab.png"))
        page.close()
