"""Run a value check over a whole column (:func:`scan_column`), and the key columns.

Text cells are first accepted vectorised (a regex run by pyarrow, or a date parse), the
rest checked once per distinct value; numbers and booleans once per distinct value. The
failing cells of a column gather in :class:`Hits`. :func:`scan_email`, :func:`link_keys`
and :func:`plain_keys` give the values of a unique field as Twenty compares them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.values.payloads import MISSING, to_json_value
from twenty_migrate.values.rules import FAST_EMAIL, Check, email_check, inspect_js, twenty_email

# --------------------------------------------------------------------------- cells
#: Stands for a cell no JSON value can hold (its check is "unsendable").
UNSENDABLE: Any = object()


def sent_value(value: Any) -> Any:
    """The JSON value a cell becomes in the payload (MISSING when empty)."""
    try:
        return to_json_value(value)
    except ValueError:
        return value  # an infinite number: the checks refuse it
    except TypeError:
        return UNSENDABLE


def _verdict(check: Callable[[Any], Check], value: Any) -> Check:
    sent = sent_value(value)
    if sent is UNSENDABLE:
        return "unsendable", f"a {type(value).__name__} value cannot be sent to Twenty"
    return None if sent is MISSING else check(sent)


@dataclass
class Hits:
    """Failing cells of one column: positions, rules and messages (first hit per cell)."""

    parts: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(
        default_factory=list
    )

    def add(self, positions: Any, rules: Any, messages: Any) -> None:
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions):
            count = len(positions)
            rules = np.full(count, rules, dtype=object) if isinstance(rules, str) else rules
            messages = (
                np.full(count, messages, dtype=object) if isinstance(messages, str) else messages
            )
            self.parts.append((positions, np.asarray(rules, object), np.asarray(messages, object)))

    def extend(self, other: Hits) -> None:
        self.parts.extend(other.parts)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": np.array([], np.int64), "rule": [], "message": []})
        frame = pd.DataFrame(
            {
                "pos": np.concatenate([p[0] for p in self.parts]),
                "rule": np.concatenate([p[1] for p in self.parts]),
                "message": np.concatenate([p[2] for p in self.parts]),
            }
        )
        return frame.drop_duplicates("pos").sort_values("pos", kind="stable")


# --------------------------------------------------------------------------- scanning
def _is_text(series: pd.Series[Any]) -> bool:
    return isinstance(series.dtype, pd.StringDtype)


def regex_mask(series: pd.Series[Any], pattern: str) -> np.ndarray[Any, Any] | None:
    """Cells of a text column matching ``pattern`` (RE2 through pyarrow); None if it cannot."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(series if _is_text(series) else series.astype("str"), type=pa.string())
        found = pc.match_substring_regex(array, pattern).fill_null(False)
        mask: np.ndarray[Any, Any] = found.to_numpy(zero_copy_only=False).astype(bool)
        return mask
    except (ImportError, ValueError, TypeError, NotImplementedError):
        return None
    except Exception as exc:  # pyarrow's ArrowInvalid: a pattern RE2 does not support
        if type(exc).__name__.startswith("Arrow"):
            return None
        raise


def _scan_text(
    texts: pd.Series[Any],
    positions: np.ndarray[Any, Any],
    check: Callable[[Any], Check],
    fast: Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None,
    hits: Hits,
) -> None:
    """Check text cells: vectorised acceptance first, the rest once per distinct value."""
    present = texts.notna().to_numpy(dtype=bool)
    rest = present & ~fast(texts) if fast is not None else present
    if not rest.any():
        return
    codes, uniques = pd.factorize(texts[rest])
    verdicts = [check(str(value)) for value in uniques]
    bad = np.array([v is not None for v in verdicts] + [False], dtype=bool)
    failing = bad[codes]
    if failing.any():
        rules = np.array([v[0] if v else None for v in verdicts] + [None], dtype=object)
        messages = np.array([v[1] if v else None for v in verdicts] + [None], dtype=object)
        picked = codes[failing]
        hits.add(positions[np.flatnonzero(rest)[failing]], rules[picked], messages[picked])


def scan_column(
    series: pd.Series[Any],
    check: Callable[[Any], Check],
    fast: Callable[[pd.Series[Any]], np.ndarray[Any, Any]] | None = None,
) -> Hits:
    """Check every non-empty cell of a column as Twenty checks the value it is sent as."""
    hits = Hits()
    n = len(series)
    if _is_text(series):
        _scan_text(series.reset_index(drop=True), np.arange(n), check, fast, hits)
        return hits
    kind = series.dtype.kind
    if kind in "iufb" and not isinstance(series.dtype, pd.CategoricalDtype):
        _scan_plain(series, check, hits)
        return hits
    values = series.to_numpy(dtype=object)
    present = ~pd.isna(values)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
    if is_text.any():
        texts = pd.Series(values[is_text], dtype="str")
        _scan_text(texts, np.flatnonzero(is_text), check, fast, hits)
    others = np.flatnonzero(present & ~is_text)
    cache: dict[tuple[type, Any], Check] = {}
    found: list[tuple[int, str, str]] = []
    for position in others.tolist():
        value = values[position]
        try:
            key = _freeze(value)
            verdict = cache[key] if key in cache else cache.setdefault(key, _verdict(check, value))
        except TypeError:  # an array or another unhashable cell
            verdict = _verdict(check, value)
        if verdict is not None:
            found.append((position, verdict[0], verdict[1]))
    if found:
        hits.add([f[0] for f in found], [f[1] for f in found], [f[2] for f in found])
    return hits


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a cell, types included (``1``, ``1.0`` and ``True`` differ).

    Raises:
        TypeError: the cell holds something unhashable other than lists and dicts.
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return kind, tuple(_freeze(item) for item in value)
    if kind is dict:
        return kind, tuple((key, _freeze(item)) for key, item in value.items())
    hash(value)
    return kind, value


def _scan_plain(series: pd.Series[Any], check: Callable[[Any], Check], hits: Hits) -> None:
    """Numbers and booleans: every finite value gets the same verdict; messages per value."""
    present = series.notna().to_numpy(dtype=bool)
    if not present.any():
        return
    values = series.to_numpy(dtype=object)
    finite = present.copy()
    if series.dtype.kind == "f":
        finite &= np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
    groups = [finite, present & ~finite]
    for mask in groups:
        positions = np.flatnonzero(mask)
        if not len(positions):
            continue
        if mask is finite and _verdict(check, values[positions[0]]) is None:
            continue
        codes, uniques = pd.factorize(values[positions])
        verdicts = [_verdict(check, value) for value in uniques]
        bad = np.array([v is not None for v in verdicts], dtype=bool)[codes]
        hits.add(
            positions[bad],
            np.array([v[0] if v else None for v in verdicts], dtype=object)[codes][bad],
            np.array([v[1] if v else None for v in verdicts], dtype=object)[codes][bad],
        )


def as_text(series: pd.Series[Any]) -> tuple[pd.Series[Any], np.ndarray[Any, Any]]:
    """A column as text (non-text cells empty) and the mask of its non-text, non-empty cells."""
    if _is_text(series):
        return series.reset_index(drop=True), np.zeros(len(series), dtype=bool)
    values = series.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    other = ~is_text & ~pd.isna(values)
    kept = values.copy()
    kept[~is_text] = None
    return pd.Series(kept, dtype="str"), other


def all_ok(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """Every text cell is accepted (the fast path of plain text)."""
    return np.ones(len(texts), dtype=bool)


def regex_fast(pattern: str) -> Callable[[pd.Series[Any]], np.ndarray[Any, Any]]:
    """The fast path accepting the text cells that match ``pattern``."""

    def fast(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
        found = regex_mask(texts, pattern)
        return found if found is not None else np.zeros(len(texts), dtype=bool)

    return fast


def parsed_fast(pattern: str, fmt: str) -> Callable[[pd.Series[Any]], np.ndarray[Any, Any]]:
    """Text of a canonical date shape that pandas parses (calendar-valid) is accepted."""

    def fast(texts: pd.Series[Any]) -> np.ndarray[Any, Any]:
        shaped = regex_mask(texts, pattern)
        if shaped is None or not shaped.any():
            return np.zeros(len(texts), dtype=bool)
        parsed = pd.to_datetime(texts[shaped], format=fmt, errors="coerce")
        shaped[np.flatnonzero(shaped)] = parsed.notna().to_numpy(dtype=bool)
        return shaped

    return fast


# --------------------------------------------------------------------------- key columns
def scan_email(series: pd.Series[Any], where: str) -> tuple[Hits, pd.Series[Any]]:
    """Hits of a primary email column, and the addresses as Twenty stores them."""
    texts, other = as_text(series)
    lowered = texts.str.strip().str.lower()
    fast = regex_mask(lowered, FAST_EMAIL)
    ok = fast if fast is not None else np.zeros(len(texts), dtype=bool)
    keys = lowered.where(ok).to_numpy(dtype=object)
    hits = Hits()
    rest = texts.notna().to_numpy(dtype=bool) & ~ok
    if rest.any():
        codes, uniques = pd.factorize(texts[rest])
        stored: list[str | None] = []
        failing: list[bool] = []
        for value in uniques:
            try:
                stored.append(twenty_email(str(value)))
                failing.append(False)
            except ValueError:
                stored.append(None)
                failing.append(True)
        positions = np.flatnonzero(rest)
        keys[positions] = np.array(stored, dtype=object)[codes]
        bad = np.array(failing, dtype=bool)[codes]
        values = np.asarray(uniques, dtype=object)[codes][bad]
        hits.add(
            positions[bad],
            "invalid_email",
            np.array(
                [f'Invalid string value {inspect_js(v)} for email field "{where}"' for v in values],
                dtype=object,
            ),
        )
    if other.any():
        hits.extend(scan_column(series.where(other, None), lambda v: email_check(v, where)))
    return hits, pd.Series(keys, dtype="str")


def link_keys(series: pd.Series[Any]) -> pd.Series[Any]:
    """Links as Twenty compares them: scheme and host lower-cased, one trailing ``/`` off.

    The host is lower-cased even without a scheme, so every pair Twenty could see as
    equal is caught.
    """
    from twenty_migrate.values.convert import extract

    texts, _ = as_text(series)
    parts = extract(
        texts.str.strip(), r"(?s)^(?P<s>[a-zA-Z][a-zA-Z0-9+.-]*://)?(?P<h>[^/?#]*)(?P<r>.*)$"
    )
    joined = parts["s"].fillna("").str.lower() + parts["h"].fillna("").str.lower()
    joined = joined + parts["r"].fillna("")
    joined = joined.str.replace(r"/$", "", regex=True)
    return joined.where(texts.notna() & (joined != ""))


def domain_keys(series: pd.Series[Any]) -> pd.Series[Any]:
    """Links of a ``domain`` LINKS field as Twenty stores and compares them: the bare host."""
    from twenty_migrate.values.parsing import twenty_domain

    texts, _ = as_text(series)
    keys = texts.map(lambda text: twenty_domain(text) if isinstance(text, str) else None)
    return keys.where(texts.notna() & (keys != ""))


def is_domain_field(settings: dict[str, Any] | None) -> bool:
    """A LINKS field of the ``domain`` variant (``settings.type``, Twenty 2.4x domainName)."""
    return bool(settings) and (settings or {}).get("type") == "domain"


def plain_keys(series: pd.Series[Any]) -> pd.Series[Any]:
    """Values of a scalar unique field as Twenty compares them (text "" is null)."""
    if _is_text(series):
        texts = series.reset_index(drop=True)
        return texts.where(texts != "")

    def key(value: Any) -> Any:
        sent = sent_value(value)
        if sent is MISSING or sent == "" or sent is UNSENDABLE:
            return None
        if isinstance(sent, int | float) and not isinstance(sent, bool):
            return float(sent)
        return sent if isinstance(sent, str | bool) else json.dumps(sent, sort_keys=True)

    values = series.to_numpy(dtype=object)
    return pd.Series([key(v) for v in values], dtype=object)
