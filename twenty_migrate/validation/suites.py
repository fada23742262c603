"""The great-expectations suite of one object: GX's own expectations and Twenty's rules.

:func:`build_suite` writes Twenty's checks as GX expectations (GX's built-ins where they say the
rule exactly, the classes of :mod:`~twenty_migrate.validation.expectations` for Twenty's own);
the suite is run in one lazily created ephemeral GX context.
"""

from __future__ import annotations

import json
import sys
import threading
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.twenty.schema import ObjectSchema
from twenty_migrate.validation.columns import (
    ColumnPath,
    _column_check,
    frame_of,
    options_for,
    required_paths,
    resolve_paths,
    unique_groups,
)
from twenty_migrate.validation.failures import LOOKUP_BATCH as LOOKUP_BATCH  # re-exported
from twenty_migrate.validation.scan import all_ok
from twenty_migrate.values.rules import FAST_YEAR, UUID_PATTERN

if TYPE_CHECKING:
    import os

    from twenty_migrate.mapping.mapped import MappedFrame

#: Prefix of the columns holding unique-key values as Twenty compares them.
KEY_PREFIX = "_key."

#: Prefix of the columns holding select values as text (when a column holds other values).
TEXT_PREFIX = "_text."

#: Result format of the GX run. Row positions, not ``unexpected_index_column_names``:
#: GX builds one dict per unexpected row for those, which takes minutes for a million.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "return_unexpected_index_query": False,
}


_SUITE_MARK = "twenty_migrate"
_SOURCE, _ASSET, _BATCH = "twenty_migrate", "rows", "all rows"


# --------------------------------------------------------------------------- the suite
_DESCRIBE = {
    "TEXT": "text",
    "NUMBER": "a number",
    "NUMERIC": "a number or numeric text",
    "POSITION": "a number",
    "BOOLEAN": "true or false",
    "UUID": "a UUID",
    "DATE": "a date YYYY-MM-DD",
    "DATE_TIME": "a date-time Twenty reads",
    "SELECT": "text",
    "RATING": "text",
    "MULTI_SELECT": "option values",
    "ARRAY": "a list of text",
    "RAW_JSON": "a JSON object or list",
    "EMAILS": "email addresses",
    "PHONES": "a phone number Twenty parses, with its country and calling code",
    "LINKS": "a link",
    "CURRENCY": "an amount in an ISO 4217 currency",
    "RICH_TEXT_V2": "markdown or a BlockNote document",
    "RICH_TEXT": "markdown or a BlockNote document",
    "ACTOR": "a source Twenty knows",
}


#: The largest finite number: GX's "between" then refuses exactly the infinite ones.
_FINITE = sys.float_info.max


#: Composite types whose parts have expectations of their own in :mod:`.expectations`.
_OWN_CLASSES = {
    "EMAILS": "ExpectColumnValuesToBeTwentyEmails",
    "LINKS": "ExpectColumnValuesToBeTwentyLinks",
}


def _gx() -> Any:
    """great_expectations, imported quietly (its imports raise deprecation warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import great_expectations as gx
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ConfigError(
                "validation needs great_expectations: pip install 'great-expectations>=1.13'"
            ) from exc
    return gx


def _twenty_expectations() -> Any:
    """:mod:`~twenty_migrate.validation.expectations`: imports GX, registers Twenty's rules."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from twenty_migrate.validation import expectations

    return expectations


def _meta(kind: str, column: str, **extra: Any) -> dict[str, Any]:
    return {_SUITE_MARK: {"kind": kind, "column": column, **extra}}


def _is_text(series: pd.Series[Any]) -> bool:
    return isinstance(series.dtype, pd.StringDtype)


def _is_number(series: pd.Series[Any]) -> bool:
    return series.dtype.kind in "iuf" and not isinstance(series.dtype, pd.CategoricalDtype)


def _value_expectations(p: ColumnPath, series: pd.Series[Any], refs: Collection[str]) -> list[Any]:
    """The expectations of one column's values: GX's own where it says Twenty's rule
    exactly for this column's type, else Twenty's (:mod:`.expectations`)."""
    expect, own = _gx().expectations, _twenty_expectations()
    what = "a record id" if p.is_join or p.path == "id" else _DESCRIBE.get(p.field.type, "")
    common: dict[str, Any] = {
        "column": p.path,
        "description": f"Twenty accepts every {p.path} value ({what})",
        "meta": _meta("check", p.path),
    }
    is_ref = p.is_join and p.path in refs
    vtype, ftype = p.value_type, p.field.type
    if _is_text(series) and vtype == "UUID" and not is_ref:
        return [expect.ExpectColumnValuesToMatchRegex(regex=rf"^{UUID_PATTERN}\Z", **common)]
    if _is_text(series) and vtype == "DATE":  # the shape, then the calendar
        shape = expect.ExpectColumnValuesToMatchRegex(
            regex=rf"^{FAST_YEAR}-[0-9]{{2}}-[0-9]{{2}}\Z", **common
        )
        calendar = expect.ExpectColumnValuesToMatchStrftimeFormat(
            strftime_format="%Y-%m-%d", **common
        )
        return [shape, calendar]
    if _is_number(series) and vtype in ("NUMBER", "POSITION", "NUMERIC"):
        finite = expect.ExpectColumnValuesToBeBetween(
            min_value=-_FINITE, max_value=_FINITE, **common
        )
        return [finite]
    settings: dict[str, Any] = {"field_name": p.field.name, "sub": p.sub}
    if ftype == "MULTI_SELECT":
        settings["options"] = p.field.option_values
    if p.is_required and ftype == "TEXT":
        settings["required"] = True
    if p.is_join:
        settings.update(is_join=True, is_ref=is_ref)
    if ftype == "CURRENCY" and p.sub == "currencyCode":
        return [own.ExpectColumnValuesToBeTwentyCurrencyCodes(**settings, **common)]
    if ftype in _OWN_CLASSES:
        return [getattr(own, _OWN_CLASSES[ftype])(**settings, **common)]
    if _is_text(series) and not settings.get("required") and not p.is_join:
        _, fast = _column_check(p, refs)
        if fast is all_ok:
            return []  # every text is accepted (select options: GX's in-set below)
    return [own.ExpectColumnValuesToBeAcceptedByTwenty(field_type=ftype, **settings, **common)]


def _phone_expectations(object_schema: ObjectSchema, paths: Mapping[str, ColumnPath]) -> list[Any]:
    """Each PHONES field's primary phone (its parts judged together) and its other phones."""
    own = _twenty_expectations()
    out: list[Any] = []
    for f in object_schema.fields.values():
        if f.type != "PHONES":
            continue
        parts = [f"{f.name}.{part}" for part in own.PHONE_PARTS]
        description = f"Twenty accepts every {f.name} value ({_DESCRIBE['PHONES']})"
        if any(part in paths for part in parts):
            out.append(
                own.ExpectColumnsToBeTwentyPhones(
                    column_list=parts, field_name=f.name, description=description,
                    meta=_meta("check", f.name),
                )
            )  # fmt: skip
        others = f"{f.name}.additionalPhones"
        if others in paths:
            out.append(
                own.ExpectColumnValuesToBeTwentyPhoneLists(
                    column=others, field_name=f.name, description=description,
                    meta=_meta("check", others),
                )
            )  # fmt: skip
    return out


def build_suite(
    mapped: MappedFrame | pd.DataFrame,
    object_schema: ObjectSchema,
    *,
    name: str | None = None,
    refs: Collection[str] = (),
) -> Any:
    """The great_expectations suite of Twenty's checks for these columns of ``object_schema``.

    GX's own expectations where they say Twenty's rule exactly: required fields not null,
    select values in their options, unique keys unique within the file (on ``_key.<path>``
    columns: the values as Twenty compares them), UUIDs and dates matching their shape,
    numbers finite. Twenty's own rules (emails, phones, links, currency codes, and the
    other types' checks) are expectations of :mod:`twenty_migrate.validation.expectations`. Add your
    own expectations and pass the suite to :func:`~twenty_migrate.validate`; save it with
    :meth:`~twenty_migrate.ValidationReport.save_suite` and read it back with :func:`load_suite`.

    Args:
        mapped: The mapped rows (a MappedFrame or a DataFrame of ``_row`` + field paths).
            Their dtypes choose between GX's expectations and Twenty's for a column.
        object_schema: The object written to, from ``schema.object(...)``.
        name: The suite's name (default ``twenty_migrate.<object>``).
        refs: Join columns that hold ``_row`` ids of an earlier step (the plan's ``refs``).

    Returns:
        A ``great_expectations.ExpectationSuite``.

    Raises:
        MappingError: a column is not a writable field path of the object.

    Example:
        suite = tm.build_suite(mapped, people)
        suite.add_expectation(gx.expectations.ExpectColumnValueLengthsToBeBetween(
            column="jobTitle", max_value=50))
        report = tm.validate(mapped, people, suite=suite)
    """
    gx = _gx()
    _context()  # suites need an active context
    frame = frame_of(mapped)
    paths = resolve_paths([str(c) for c in frame.columns], object_schema)
    suite = gx.ExpectationSuite(
        name=name or f"twenty_migrate.{object_schema.name_plural}",
        meta={
            _SUITE_MARK: {
                "object": object_schema.name_plural,
                "paths": list(paths),
                "refs": sorted(refs),
            }
        },
    )
    expect = gx.expectations
    for p in paths.values():
        if p.field.type != "PHONES":
            for expectation in _value_expectations(p, frame[p.path], refs):
                suite.add_expectation(expectation)
    for expectation in _phone_expectations(object_schema, paths):
        suite.add_expectation(expectation)
    for p in required_paths(object_schema):
        suite.add_expectation(
            expect.ExpectColumnValuesToNotBeNull(
                column=p.path,
                description=f"{p.path} is required (not nullable, no default value)",
                meta=_meta("required", p.path),
            )
        )
    for p in paths.values():
        options = options_for(p)
        if options is not None:
            suite.add_expectation(
                expect.ExpectColumnValuesToBeInSet(
                    column=p.path if _is_text(frame[p.path]) else TEXT_PREFIX + p.path,
                    value_set=options,
                    description=f"{p.path} holds option values of {p.field.name}",
                    meta=_meta("options", p.path),
                )
            )
    for group in unique_groups(object_schema, paths):
        label = ", ".join(group)
        description = f"{label} is unique within the file (Twenty keeps one record per value)"
        if len(group) == 1:
            expectation = expect.ExpectColumnValuesToBeUnique(
                column=KEY_PREFIX + group[0],
                description=description,
                meta=_meta("unique", group[0], group=list(group)),
            )
        else:
            expectation = expect.ExpectCompoundColumnsToBeUnique(
                column_list=[KEY_PREFIX + p for p in group],
                ignore_row_if="any_value_is_missing",
                description=description,
                meta=_meta("unique", group[0], group=list(group)),
            )
        suite.add_expectation(expectation)
    return suite


def load_suite(path: str | os.PathLike[str]) -> Any:
    """Read a suite saved by :meth:`~twenty_migrate.ValidationReport.save_suite` (GX's JSON).

    Raises:
        ConfigError: the file is not a saved GX suite.
    """
    gx = _gx()
    _twenty_expectations()  # registers Twenty's expectation types before GX reads them
    _context()
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gx.ExpectationSuite(
                name=saved["name"],
                expectations=saved.get("expectations") or [],
                meta=saved.get("meta"),
                notes=saved.get("notes"),
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a saved suite ({exc}); save one with report.save_suite(path)"
        ) from exc


_GX_LOCK = threading.Lock()


#: This process's ephemeral GX context, made on the first validation.
_GX_CONTEXT: list[Any] = []


def _context() -> Any:
    """This process's ephemeral GX context, with a pandas source of whole dataframes.

    Made once: suites need an active context, and GX keeps the last one made current.
    """
    with _GX_LOCK:
        if not _GX_CONTEXT:
            gx = _gx()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from great_expectations.data_context.types.base import ProgressBarsConfig

                previous = _current_context()
                context = gx.get_context(mode="ephemeral")
                if previous is not None:  # leave the user's own GX context current
                    _set_context(previous)
                context.variables.progress_bars = ProgressBarsConfig(globally=False)
                source = context.data_sources.add_pandas(_SOURCE)
                source.add_dataframe_asset(_ASSET).add_batch_definition_whole_dataframe(_BATCH)
            _GX_CONTEXT.append(context)
        return _GX_CONTEXT[0]


def _current_context() -> Any:
    """The GX context the user made current, if any."""
    try:
        from great_expectations.data_context.data_context.context_factory import project_manager

        return project_manager.get_current_project()
    except Exception:  # none yet (DataContextRequiredError), or another GX layout
        return None


def _set_context(context: Any) -> None:
    from great_expectations.data_context.data_context.context_factory import project_manager

    project_manager.set_project(context)


def _run_suite(frame: pd.DataFrame, suite: Any) -> Any:
    """Run ``suite`` on ``frame`` with GX."""
    context = _context()
    with _GX_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GX's own deprecation noise is not the user's
        asset = context.data_sources.get(_SOURCE).get_asset(_ASSET)
        batch = asset.get_batch_definition(_BATCH).get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format=RESULT_FORMAT)


def _suite_columns(suite: Any) -> list[str]:
    names: list[str] = []
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if isinstance(kwargs.get(key), str):
                names.append(kwargs[key])
        names.extend(str(c) for c in kwargs.get("column_list") or ())
    return list(dict.fromkeys(names))
