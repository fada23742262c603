"""The guided notebooks run top to bottom, in order, against the sandbox, with no credentials.

The series ``01`` to ``06`` is one migration: each notebook reads what the earlier ones left
in the shared ``WORK`` folder (``TWENTY_MIGRATE_WORK``), so the notebooks are executed once,
in order, by a module fixture, and each test then checks one notebook's outcome.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import FakeClock, sandbox_client
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import twenty_migrate as tm
from twenty_migrate.mapping.field_map import FieldMap
from twenty_migrate.sandbox import DEFAULT_API_KEY, Sandbox
from twenty_migrate.ui.demo import SAMPLE_SPEC, sample_spec

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SERIES = [
    "00_quickstart",
    "01_connect_and_schema",
    "02_load_and_clean",
    "03_map_and_validate",
    "04_test_batch",
    "05_full_import",
    "06_verify_and_export",
]
OBJECTS = ["companies", "people", "opportunities", "tasks", "notes"]
CELL_TIMEOUT = 300


class Executed:
    """One notebook after execution: its cells, the error that stopped it, the work folder."""

    def __init__(self, notebook: Any, error: CellExecutionError | None, work: Path) -> None:
        self.notebook = notebook
        self.error = error
        self.work = work

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [o for c in self.notebook.cells if c.cell_type == "code" for o in c.outputs]

    def text(self) -> str:
        """Everything the notebook printed or displayed as text."""
        parts = []
        for output in self.outputs:
            if output["output_type"] == "stream":
                parts.append(output["text"])
            elif output["output_type"] in ("execute_result", "display_data"):
                parts.append(str(output.get("data", {}).get("text/plain", "")))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, Executed]:
    """Run every notebook in order in one temporary folder, as a consultant would."""
    work = tmp_path_factory.mktemp("work")
    cwd = tmp_path_factory.mktemp("cwd")
    results: dict[str, Executed] = {}
    with pytest.MonkeyPatch.context() as env:
        # The kernel inherits this environment: no credentials, so connect() uses the sandbox.
        for name in list(os.environ):
            if name.startswith(("TWENTY_API_", "TWENTY_MIGRATE_")):
                env.delenv(name)
        env.setenv("TWENTY_MIGRATE_WORK", str(work))
        env.setenv("TWENTY_MIGRATE_CACHE_DIR", str(work / "cache"))  # server traits, not ~
        env.setenv("PYTHONPATH", str(NOTEBOOK_DIR.parent))  # the kernel imports this checkout
        # A roomier budget for the rehearsal workspace (client and sandbox agree on it), so
        # reading every object back does not wait out Twenty's 100 calls a minute.
        env.setenv("TWENTY_MIGRATE_LONG_LIMIT", "2000")
        for path in NOTEBOOKS:
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=CELL_TIMEOUT,
                kernel_name="python3",
                resources={"metadata": {"path": str(cwd)}},
            )
            started = time.monotonic()
            try:
                client.execute()
            except CellExecutionError as exc:
                results[path.stem] = Executed(notebook, exc, work)
            else:
                results[path.stem] = Executed(notebook, None, work)
            print(f"{path.name}: {time.monotonic() - started:.1f} s")
    return results


def test_the_series_is_complete():
    assert [p.stem for p in NOTEBOOKS] == SERIES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: clear the outputs before committing"
            assert cell["execution_count"] is None, f"{path.name}: clear the execution counts"


def _sample_names() -> set[str]:
    """What only the sample knows: its file names, its columns and its select labels."""
    spec = sample_spec()
    names = {Path(source.file).name for source in spec.sources} | {SAMPLE_SPEC}
    for source in spec.sources:
        names |= {source.source_id or "", source.targets or ""}
        if source.mapping:
            field_map = FieldMap.load(spec.path(source.mapping))
            names |= set(field_map.mapping)
            for transform in field_map.transforms.values():
                if isinstance(transform, dict):
                    names |= {k for k in transform if isinstance(k, str)}
    return names - {""}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_starts_with_its_parameters(path):
    """One parameters cell (papermill's tag) right after the title, with the sample as default;
    below it, nothing names the sample's files, columns or labels: it all flows from there."""
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"
    first = notebook.cells[1]
    assert first.cell_type == "code" and first.metadata.get("tags") == ["parameters"]
    assert "WORK = None" in first.source
    if path.stem != "00_quickstart":
        assert "SPEC = tm.sample_data_dir()" in first.source
        for name in ("OBJECTS", "STRICT_RELATIONS"):
            assert f"{name} = " in first.source
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [first]
    sample = _sample_names()
    for cell in notebook.cells[2:]:
        if cell.cell_type != "code":
            continue
        for name in sample:
            for quoted in (f'"{name}"', f"'{name}'"):
                assert quoted not in cell.source, f"{path.name} names the sample's {quoted}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_only_the_public_api(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        imports = re.findall(r"^\s*(?:from|import) twenty_migrate\S*", cell.source, re.M)
        for found in imports:
            assert found.strip() in ("import twenty_migrate", "import twenty_migrate.widgets"), (
                f"{path.name}: {found.strip()!r}: use tm's exports"
            )


def test_the_work_folders_are_ignored_by_git():
    ignored = (NOTEBOOK_DIR.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "notebooks/migration_work/" in ignored


@pytest.mark.parametrize("name", SERIES)
def test_notebook_runs_against_the_sandbox(executed, name):
    result = executed[name]
    if result.error is not None:
        pytest.fail(f"{name} stopped with an error:\n{result.error}")
    assert not [o for o in result.outputs if o["output_type"] == "error"]
    everything = json.dumps(result.outputs)
    assert "Traceback" not in everything
    assert DEFAULT_API_KEY not in everything, f"{name} shows the API key"


def test_quickstart_imports_the_people(executed):
    text = executed["00_quickstart"].text()
    # The full run after the test batch: the 10 test records are known, not created again.
    assert re.search(r"\{'created': \d+, 'unchanged': 10\}", text)


def test_connect_and_schema(executed):
    result = executed["01_connect_and_schema"]
    text = result.text()
    assert "(the local sandbox)" in text
    assert "people (People)" in text
    assert (result.work / "schema.json").is_file()
    assert (result.work / "sandbox.sqlite").is_file()


def test_load_and_clean_saves_the_cleaned_tables(executed):
    work = executed["02_load_and_clean"].work
    for source in sample_spec().sources:
        name = Path(source.file).name + (f".{source.sheet}" if source.sheet else "")
        assert (work / "clean" / f"{name}.parquet").is_file()
    assert (work / "cleaning_log.csv").is_file()


def test_map_and_validate_saves_mappings_reports_and_plan(executed):
    result = executed["03_map_and_validate"]
    assert "Import plan 'sample'" in result.text()
    for name in OBJECTS:
        assert (result.work / f"validation_{name}.html").is_file()
        assert (result.work / "to_fix" / f"{name}.csv").is_file()
    assert (result.work / "plan.json").is_file()


def test_test_batch_is_read_back_and_compared(executed):
    text = executed["04_test_batch"].text()
    found = re.search(r"(\d+) fields of (\d+) records read back", text)
    assert found and int(found[1]) > 0 and int(found[2]) == 15
    assert "-> kept" in text


def test_full_import_fixes_and_reruns(executed):
    text = executed["05_full_import"].text()
    assert re.search(r"Run \S+_sample: completed in", text)
    assert re.search(r"Run \S+_sample-fixes: completed in", text)
    assert "values corrected in" in text
    assert "unchanged" in text


def test_the_notebooks_plan_the_spec_s_migration(executed):
    """One definition of the sample: notebook 05 imports the plan ``spec.prepare`` makes on
    the same sandbox (read after 06 rolled the rehearsal back, as 03 saw it)."""
    work = executed["05_full_import"].work
    imported = tm.ImportPlan.load(work / "plan.json")
    clock = FakeClock()
    sandbox = Sandbox.with_sample_data(
        db_path=work / "sandbox.sqlite", clock=clock, sleep=clock.sleep, throttle=False
    )
    with sandbox_client(sandbox, clock) as client:
        prepared = sample_spec().prepare(client)
    assert prepared.plan is not None
    counts = {step.object: len(step) for step in prepared.plan.steps}
    assert {step.object: len(step) for step in imported.steps} == counts
    assert sum(counts.values()) == prepared.plan.n_rows


def test_verification_reconciles_and_exports(executed):
    result = executed["06_verify_and_export"]
    text = result.text()
    assert "Migration reconciled" in text
    assert "MISMATCH" not in text
    logs = sorted(p.suffix for p in (result.work / "logs").glob("*.log.*"))
    assert set(logs) == {".csv", ".jsonl", ".parquet", ".xlsx"}
    for name in OBJECTS:
        assert (result.work / "backup" / f"{name}.parquet").is_file()
    report = (result.work / "report.html").read_text(encoding="utf-8")
    assert "<table" in report and "<script" not in report and "companies" in report
    assert "Rollback of run" in text
