"""Great Expectations expectations for Twenty's own rules on a value.

GX says what it can say itself (not null, in set, unique, a regex, a date format, a
range; see :func:`twenty_migrate.validation.suites.build_suite`). What it cannot say, these
expectations do, each a GX 1.x ``ColumnMapExpectation`` with its own metric:

- :class:`ExpectColumnValuesToBeTwentyEmails`: ``primaryEmail`` / ``additionalEmails``;
- :class:`ExpectColumnValuesToBeTwentyLinks`: ``primaryLinkUrl`` / ``secondaryLinks``;
- :class:`ExpectColumnValuesToBeTwentyCurrencyCodes`: ``currencyCode`` (ISO 4217);
- :class:`ExpectColumnValuesToBeTwentyPhoneLists`: ``additionalPhones``;
- :class:`ExpectColumnsToBeTwentyPhones`: the primary phone, a ``MulticolumnMapExpectation``
  over number, country code and calling code (Twenty judges the three together, and a
  column map metric sees one column only);
- :class:`ExpectColumnValuesToBeAcceptedByTwenty`: every other type's check (numbers as
  JavaScript reads them, date-times, booleans, multi-select values, JSON, rich text...).

Their conditions run the client's one copy of each rule (``_rules``, ``_phone_rules``);
:func:`failing_cells` names the rule and Twenty's message of the rows GX found failing.
This module imports great_expectations: import it lazily (``tm.expectations`` does).
Loading a saved suite that uses them needs this module imported first
(:func:`twenty_migrate.validation.suites.load_suite` does it).
"""

# No ``from __future__ import annotations``: GX's pydantic models read these annotations.
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, List, Optional, Tuple  # noqa: UP035 - pydantic v1 fields

import numpy as np
import pandas as pd

from twenty_migrate.twenty.schema import FieldSchema
from twenty_migrate.validation.columns import ColumnPath, _column_check
from twenty_migrate.validation.phone_rules import _scan_phone_lists, scan_phones
from twenty_migrate.validation.scan import Hits, scan_column, scan_email

with warnings.catch_warnings():  # GX's own imports raise deprecation warnings
    warnings.simplefilter("ignore")
    from great_expectations.execution_engine.pandas_execution_engine import (
        PandasExecutionEngine,
    )
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (  # noqa: E501
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (  # noqa: E501
        ColumnMapMetricProvider,
    )
    from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (  # noqa: E501
        multicolumn_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider.multicolumn_map_metric_provider import (  # noqa: E501
        MulticolumnMapMetricProvider,
    )

__all__ = [
    "PHONE_PARTS",
    "ExpectColumnValuesToBeAcceptedByTwenty",
    "ExpectColumnValuesToBeTwentyCurrencyCodes",
    "ExpectColumnValuesToBeTwentyEmails",
    "ExpectColumnValuesToBeTwentyLinks",
    "ExpectColumnValuesToBeTwentyPhoneLists",
    "ExpectColumnsToBeTwentyPhones",
    "failing_cells",
]

#: The parts of a phone Twenty judges together, in the order of ``column_list``.
PHONE_PARTS = ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode")
#: What the value metrics are given besides the column: enough to rebuild its check.
_VALUE_KEYS = ("field_type", "field_name", "sub", "options", "required", "is_join", "is_ref")


# --------------------------------------------------------------------------- the rules
def _column_path(column: str, settings: Mapping[str, Any]) -> ColumnPath:
    """The column's field path as the checks of ``_columns`` read it."""
    field_type = str(settings["field_type"])
    extra: dict[str, Any] = {}
    if settings.get("is_join"):
        extra = {
            "relation_type": "MANY_TO_ONE",
            "settings": {"joinColumnName": column},
            "type": "RELATION",
        }
    field = FieldSchema(
        name=str(settings["field_name"]),
        label=str(settings["field_name"]),
        type=extra.pop("type", field_type),
        is_nullable=not settings.get("required"),
        options=tuple({"value": o} for o in settings.get("options") or ()),
        **extra,
    )
    return ColumnPath(column, field, settings.get("sub"))


def _value_hits(series: pd.Series, settings: Mapping[str, Any]) -> Hits:
    """The cells of one column Twenty refuses (positions of the series, RangeIndex)."""
    column = str(series.name)
    p = _column_path(column, settings)
    if p.field.type == "EMAILS" and p.sub == "primaryEmail":
        return scan_email(series, column)[0]
    refs = [column] if settings.get("is_ref") else []
    check, fast = _column_check(p, refs)
    return scan_column(series, check, fast)


def _mask(hits: dict[str, Hits], index: pd.Index) -> pd.Series:
    """True where no column of the row has a hit: the condition GX counts."""
    ok = np.ones(len(index), dtype=bool)
    for found in hits.values():
        positions = found.frame()["pos"].to_numpy(dtype=np.int64)
        ok[positions] = False
    return pd.Series(ok, index=index)


def _phone_hits(frame: pd.DataFrame, field_name: str) -> dict[str, Hits]:
    return scan_phones(frame.reset_index(drop=True), field_name, want_keys=False)[0]


def _phone_list_hits(series: pd.Series, field_name: str) -> dict[str, Hits]:
    return {str(series.name): _scan_phone_lists(series.reset_index(drop=True), field_name)}


# --------------------------------------------------------------------------- metrics
class ColumnValuesAcceptedByTwenty(ColumnMapMetricProvider):
    """Whether Twenty accepts each value of a column (the check of its field type)."""

    condition_metric_name = "column_values.twenty_accepts"
    condition_value_keys = _VALUE_KEYS

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        hits = _value_hits(column.reset_index(drop=True), kwargs)
        return _mask({"": hits}, column.index)


class ColumnValuesTwentyPhoneLists(ColumnMapMetricProvider):
    """Whether Twenty accepts each ``additionalPhones`` list."""

    condition_metric_name = "column_values.twenty_phone_lists"
    condition_value_keys = ("field_name",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, field_name: str, **kwargs: Any) -> pd.Series:
        return _mask(_phone_list_hits(column, field_name), column.index)


class MulticolumnValuesTwentyPhones(MulticolumnMapMetricProvider):
    """Whether Twenty accepts each row's primary phone (number, country, calling code)."""

    condition_metric_name = "multicolumn_values.twenty_phones"
    condition_domain_keys = ("column_list", "row_condition", "condition_parser", "ignore_row_if")
    condition_value_keys = ("field_name",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, field_name: str, **kwargs: Any) -> pd.Series:
        return _mask(_phone_hits(column_list, field_name), column_list.index)


# --------------------------------------------------------------------------- expectations
class ExpectColumnValuesToBeAcceptedByTwenty(ColumnMapExpectation):
    """Every value of the column is one Twenty accepts for its field type (or composite part).

    Args:
        column: The column (a field path: ``score``, ``home.addressCity``).
        field_type: The field's Twenty type (``NUMBER``, ``DATE_TIME``...).
        field_name: The field's name (for Twenty's messages).
        sub: The composite part the column writes, if any.
        options: The option values of a ``MULTI_SELECT`` field.
        required: Whether the field is required (``""`` is then refused, as null).
        is_join: Whether the column is a relation's join column (a record id).
        is_ref: Whether the join column holds ``_row`` ids of an earlier step.
    """

    field_type: str
    field_name: str
    sub: Optional[str] = None  # noqa: UP045 - pydantic v1 field
    options: List[str] = []  # noqa: UP006, RUF012 - pydantic v1 field
    required: bool = False
    is_join: bool = False
    is_ref: bool = False

    map_metric: ClassVar[str] = "column_values.twenty_accepts"
    success_keys: ClassVar[Tuple[str, ...]] = ("mostly", *_VALUE_KEYS)  # noqa: UP006


class ExpectColumnValuesToBeTwentyEmails(ExpectColumnValuesToBeAcceptedByTwenty):
    """Every value is an email address Twenty accepts (``primaryEmail``), or a list of them
    (``additionalEmails``)."""

    field_type: str = "EMAILS"


class ExpectColumnValuesToBeTwentyLinks(ExpectColumnValuesToBeAcceptedByTwenty):
    """Every value is a link Twenty accepts (``primaryLinkUrl``), or a list of ``{url,
    label}`` (``secondaryLinks``)."""

    field_type: str = "LINKS"


class ExpectColumnValuesToBeTwentyCurrencyCodes(ExpectColumnValuesToBeAcceptedByTwenty):
    """Every value is an ISO 4217 currency code, which Twenty shows amounts in."""

    field_type: str = "CURRENCY"
    sub: Optional[str] = "currencyCode"  # noqa: UP045 - pydantic v1 field


class ExpectColumnValuesToBeTwentyPhoneLists(ColumnMapExpectation):
    """Every ``additionalPhones`` value is a list of phones Twenty accepts.

    Args:
        column: The ``<field>.additionalPhones`` column.
        field_name: The PHONES field's name.
    """

    field_name: str

    map_metric: ClassVar[str] = "column_values.twenty_phone_lists"
    success_keys: ClassVar[Tuple[str, ...]] = ("mostly", "field_name")  # noqa: UP006


class ExpectColumnsToBeTwentyPhones(MulticolumnMapExpectation):
    """Every row's primary phone is one Twenty accepts: the number parses (libphonenumber),
    in its country or with its calling code, and the codes agree.

    Args:
        column_list: The ``<field>.primaryPhoneNumber``, ``.primaryPhoneCountryCode`` and
            ``.primaryPhoneCallingCode`` columns (:data:`PHONE_PARTS`).
        field_name: The PHONES field's name.
    """

    field_name: str

    map_metric: ClassVar[str] = "multicolumn_values.twenty_phones"
    success_keys: ClassVar[Tuple[str, ...]] = ("mostly", "field_name")  # noqa: UP006


_PHONE_LISTS = "expect_column_values_to_be_twenty_phone_lists"
_PHONES = "expect_columns_to_be_twenty_phones"
_VALUE_TYPES: dict[str, type[ExpectColumnValuesToBeAcceptedByTwenty]] = {
    "expect_column_values_to_be_accepted_by_twenty": ExpectColumnValuesToBeAcceptedByTwenty,
    "expect_column_values_to_be_twenty_emails": ExpectColumnValuesToBeTwentyEmails,
    "expect_column_values_to_be_twenty_links": ExpectColumnValuesToBeTwentyLinks,
    "expect_column_values_to_be_twenty_currency_codes": ExpectColumnValuesToBeTwentyCurrencyCodes,
}


def failing_cells(
    expectation_type: str, kwargs: Mapping[str, Any], rows: pd.DataFrame
) -> dict[str, Hits] | None:
    """Rule and message of each failing cell of ``rows`` (the rows GX found failing), per
    column; None when ``expectation_type`` is not one of this module's."""
    judge: Callable[[], dict[str, Hits]]
    if expectation_type in _VALUE_TYPES:
        column = str(kwargs["column"])
        expectation = _VALUE_TYPES[expectation_type](**kwargs)  # with its defaults
        settings = {k: getattr(expectation, k) for k in _VALUE_KEYS}
        judge = lambda: {column: _value_hits(rows[column].reset_index(drop=True), settings)}  # noqa: E731
    elif expectation_type == _PHONE_LISTS:
        column = str(kwargs["column"])
        judge = lambda: _phone_list_hits(rows[column], str(kwargs["field_name"]))  # noqa: E731
    elif expectation_type == _PHONES:
        columns = [str(c) for c in kwargs["column_list"]]
        judge = lambda: _phone_hits(rows[columns], str(kwargs["field_name"]))  # noqa: E731
    else:
        return None
    return judge()
