"""Find rows that probably name the same company or person: :func:`find_fuzzy_duplicates`
(names alone) and :func:`find_duplicate_records` (names confirmed by a city or phone, for
rows that no unique key tells apart).

Names are reduced to a comparison key (accents, case, punctuation, word order and company
forms such as "Inc" or "GmbH" ignored), equal keys are reported at once, and near keys are
compared with difflib only where a sorted-neighbourhood search and two cheap upper bounds
say a match is possible, so 100,000 names take seconds. Nothing is dropped: the report
lists pairs for a person to decide.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.values.parsing import words

__all__ = [
    "DUPLICATE_COLUMNS",
    "LEGAL_SUFFIXES",
    "find_duplicate_records",
    "find_fuzzy_duplicates",
    "name_key",
]

#: Company-form words ignored when comparing names for likely duplicates.
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    words(
        "inc incorporated llc llp ltd limited corp corporation co company plc gmbh ag kg sa sas "
        "sarl srl spa bv nv ab as aps oy pty sl sp zoo"
    )
)


def name_key(text: str, stopwords: Collection[str] = LEGAL_SUFFIXES) -> str:
    """A comparison key for a name: accents, case, punctuation, word order and company forms
    ignored (``"Müller Maschinenbau GmbH"`` -> ``"maschinenbau muller"``)."""
    folded = text.replace("&", " and ")
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.casefold()
    tokens = re.sub(r"[\W_]+", " ", folded).split()
    kept = [t for t in tokens if t not in stopwords] or tokens
    return " ".join(sorted(kept))


def _char_counts(keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per key, how often each of a-z, 0-9, space and "anything else" occurs."""
    table = np.full(128, 37, dtype=np.int64)
    table[ord("a") : ord("z") + 1] = np.arange(26)
    table[ord("0") : ord("9") + 1] = np.arange(26, 36)
    table[ord(" ")] = 36
    counts = np.zeros((len(keys), 38), dtype=np.int16)
    for index, key in enumerate(keys):
        codes = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        bins = np.where(codes < 128, table[np.minimum(codes, 127)], 37)
        counts[index] = np.bincount(bins, minlength=38)
    return counts


def _candidate_pairs(
    keys: np.ndarray[Any, Any], threshold: float, window: int
) -> list[tuple[int, int]]:
    """Key pairs worth a difflib comparison: sort-order neighbours that pass two cheap bounds.

    Both bounds are upper bounds of difflib's ratio (2 * matches / total length): the
    shorter length, and the characters the two keys share; so no true match is lost.
    """
    n = len(keys)
    if n < 2:
        return []
    forward = np.argsort(keys, kind="stable")
    backward = np.argsort(np.array([k[::-1] for k in keys], dtype=object), kind="stable")
    left: list[np.ndarray[Any, Any]] = []
    right: list[np.ndarray[Any, Any]] = []
    for order in (forward, backward):
        for offset in range(1, min(window, n - 1) + 1):
            left.append(order[:-offset])
            right.append(order[offset:])
    a, b = np.concatenate(left), np.concatenate(right)
    a, b = np.minimum(a, b), np.maximum(a, b)
    unique = np.unique(a.astype(np.int64) * n + b)
    a, b = unique // n, unique % n
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=n)
    total = lengths[a] + lengths[b]
    keep = 2 * np.minimum(lengths[a], lengths[b]) >= threshold * total
    a, b, total = a[keep], b[keep], total[keep]
    counts = _char_counts(keys)
    shared = np.minimum(counts[a], counts[b]).sum(axis=1)
    keep = 2 * shared >= threshold * total
    return list(zip(a[keep].tolist(), b[keep].tolist(), strict=True))


def find_fuzzy_duplicates(
    df: pd.DataFrame,
    column: str,
    threshold: float = 0.9,
    *,
    window: int = 6,
    stopwords: Collection[str] = LEGAL_SUFFIXES,
) -> pd.DataFrame:
    """Report pairs of rows whose ``column`` values are probably the same name.

    Names are reduced with :func:`name_key`. Rows with the same key are reported with score
    1.0 (each against the group's first row). Distinct keys are compared with difflib's
    ratio only against their ``window`` nearest neighbours in two sort orders (the key and
    the reversed key), so typos anywhere in the name are caught and 100k rows take seconds.

    Returns:
        A DataFrame ``_row_a, _row_b, value_a, value_b, score`` sorted by score, highest
        first. Nothing is dropped: decide per pair, then drop or merge.
    """
    rows = df["_row"] if "_row" in df.columns else pd.Series(df.index, index=df.index)
    values = df[column]
    raw = values.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=len(raw))
    codes, uniques = pd.factorize(raw[is_text])
    folded = np.array([name_key(u, stopwords) or None for u in uniques], dtype=object)
    keys = pd.Series(None, index=df.index, dtype=object)
    keys[is_text] = folded[codes] if len(codes) else []
    valid = keys.notna()
    first_of: dict[str, int] = {}
    pairs: list[tuple[int, int, float]] = []
    for position, key in zip(np.flatnonzero(valid.to_numpy()), keys[valid], strict=True):
        if key in first_of:
            pairs.append((first_of[key], int(position), 1.0))
        else:
            first_of[key] = int(position)
    unique_keys = np.array(list(first_of), dtype=object)
    for a, b in _candidate_pairs(unique_keys, threshold, window):
        score = difflib.SequenceMatcher(None, unique_keys[a], unique_keys[b], False).ratio()
        if score >= threshold:
            low, high = sorted((first_of[unique_keys[a]], first_of[unique_keys[b]]))
            pairs.append((low, high, round(score, 4)))
    report = pd.DataFrame(pairs, columns=["a", "b", "score"])
    result = pd.DataFrame(
        {
            "_row_a": rows.iloc[report["a"]].to_numpy(),
            "_row_b": rows.iloc[report["b"]].to_numpy(),
            "value_a": values.iloc[report["a"]].to_numpy(),
            "value_b": values.iloc[report["b"]].to_numpy(),
            "score": report["score"].astype(float).to_numpy(),
        }
    )
    return result.sort_values(
        ["score", "_row_a", "_row_b"], ascending=[False, True, True]
    ).reset_index(drop=True)


#: Columns of :func:`find_duplicate_records`' report.
DUPLICATE_COLUMNS = [
    "_row_a",
    "_row_b",
    "value_a",
    "value_b",
    "score",
    "matched_on",
    "confidence",
    "reason",
]
_DIGITS = re.compile(r"\D+")
_MIN_PHONE_DIGITS = 6
#: Phones are compared by their last digits, so a country code or trunk 0 does not matter.
_PHONE_DIGITS_COMPARED = 9


def _confirm_keys(column: str, values: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """Comparable forms of a confirming column: a phone's last digits, or folded words
    (computed once per distinct value)."""
    phone = re.search(r"phone|mobile|\btel|fax", column, re.I) is not None

    def key(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        if phone:
            digits = _DIGITS.sub("", value)
            return digits[-_PHONE_DIGITS_COMPARED:] if len(digits) >= _MIN_PHONE_DIGITS else None
        return name_key(value, ()) or None

    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    folded = np.array([key(u) for u in uniques] + [None], dtype=object)
    return folded[codes]  # code -1 (a missing value) takes the trailing None


def _agree(a: Any, b: Any) -> bool:
    return isinstance(a, str) and a == b


def _joined_names(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series[Any]:
    parts = [df[c].where(df[c].map(lambda v: isinstance(v, str)), "") for c in columns]
    joined = parts[0].astype(str)
    for part in parts[1:]:
        joined = joined.str.cat(part.astype(str), sep=" ")
    joined = joined.str.strip()
    return joined.where(joined != "", None)


def find_duplicate_records(
    df: pd.DataFrame,
    name: str | Sequence[str],
    *,
    confirm: Sequence[str] = (),
    key: str | None = None,
    threshold: float = 0.9,
    window: int = 6,
    stopwords: Collection[str] = LEGAL_SUFFIXES,
) -> pd.DataFrame:
    """Report pairs of rows that are probably one record although no unique key says so.

    Names are compared as :func:`find_fuzzy_duplicates` compares them (same key, or a
    difflib ratio of at least ``threshold``), and a pair counts only when one of the
    ``confirm`` columns agrees as well (a city compared by its words, a phone by its last
    nine digits). Pairs whose rows both have a ``key`` value (a domain, an email) are left out:
    equal keys are one record in Twenty already, different keys are two.

    Args:
        df: The rows (cleaned or mapped), with ``_row`` when there is one.
        name: The name column, or columns joined by a space (``["name.firstName",
            "name.lastName"]``).
        confirm: Columns of which one must agree (``["address.addressCity"]``); empty:
            names alone, every pair reported with confidence ``low``.
        key: The unique-key column (``"domainName.primaryLinkUrl"``), if any.
        threshold: The lowest name similarity reported.
        window: Sort-order neighbours compared (see :func:`find_fuzzy_duplicates`).
        stopwords: Words ignored in names (company forms; pass ``()`` for people).

    Returns:
        A DataFrame ``_row_a, _row_b, value_a, value_b, score, matched_on, confidence,
        reason``, highest confidence and score first. ``confidence`` is ``high`` for the
        same name with one confirming column, or similar names with two; ``medium`` for
        similar names with one; ``low`` for names alone.
    """
    names = [name] if isinstance(name, str) else list(name)
    missing = [c for c in [*names, *confirm, *([key] if key else [])] if c not in df.columns]
    if missing:
        raise KeyError(
            f"no columns {missing} to compare; the frame has {[str(c) for c in df.columns]}"
        )
    frame = df.reset_index(drop=True)
    rows = frame["_row"] if "_row" in frame.columns else pd.Series(frame.index)
    text = _joined_names(frame, names) if len(names) > 1 else frame[names[0]]
    raw = text.to_numpy(dtype=object)
    codes, uniques = pd.factorize(
        np.array([v if isinstance(v, str) else None for v in raw], dtype=object)
    )
    folded = np.array([name_key(u, stopwords) or None for u in uniques] + [None], dtype=object)
    keys = folded[codes]  # code -1 (no name) takes the trailing None
    table = pd.DataFrame({"pos": np.arange(len(frame)), "key": keys})
    for column in confirm:
        table[column] = _confirm_keys(column, frame[column])
    table = table[table["key"].notna()]

    found: list[pd.DataFrame] = []
    agreeing: list[list[str]] = [[c] for c in confirm] or [[]]  # one confirming column each
    for extra in agreeing:
        usable = table.dropna(subset=["key", *extra])
        first = usable.groupby(["key", *extra], sort=False)["pos"].transform("first")
        same = usable[usable["pos"] != first]
        found.append(pd.DataFrame({"a": first[same.index], "b": same["pos"], "score": 1.0}))
    distinct = pd.DataFrame({"key": table["key"].drop_duplicates().to_numpy()})
    similar = find_fuzzy_duplicates(
        distinct.assign(_row=distinct.index), "key", threshold, window=window, stopwords=()
    )
    similar = similar[similar["score"] < 1.0]
    if len(similar):
        pairs = pd.DataFrame(
            {"key_a": similar["value_a"], "key_b": similar["value_b"], "score": similar["score"]}
        )
        for extra in agreeing:
            side = table[["pos", "key", *extra]].dropna()
            joined = pairs.merge(side.rename(columns={"pos": "a", "key": "key_a"}), on="key_a")
            joined = joined.merge(
                side.rename(columns={"pos": "b", "key": "key_b"}), on=["key_b", *extra]
            )
            found.append(joined[["a", "b", "score"]])
    both = pd.concat(found, ignore_index=True)
    if both.empty:
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    first_rows = both[["a", "b"]].min(axis=1).astype(np.int64)
    second_rows = both[["a", "b"]].max(axis=1).astype(np.int64)
    report = (
        pd.DataFrame({"a": first_rows, "b": second_rows, "score": both["score"]})
        .groupby(["a", "b"], sort=False, as_index=False)["score"]
        .max()
    )
    if key is not None:
        keyed = frame[key].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy()
        report = report[~(keyed[report["a"]] & keyed[report["b"]])]
    by_position = table.set_index("pos")
    matched = [
        [c for c in confirm if _agree(by_position.at[x, c], by_position.at[y, c])]
        for x, y in zip(report["a"], report["b"], strict=True)
    ]
    confidence = [
        "low" if not confirm else "high" if (s == 1.0 and m) or len(m) >= 2 else "medium"
        for s, m in zip(report["score"], matched, strict=True)
    ]
    reason = [
        ("same name" if s == 1.0 else f"similar names ({s:.2f})")
        + (f" and same {', '.join(m)}" if m else "")
        for s, m in zip(report["score"], matched, strict=True)
    ]
    result = pd.DataFrame(
        {
            "_row_a": rows.iloc[report["a"]].to_numpy(),
            "_row_b": rows.iloc[report["b"]].to_numpy(),
            "value_a": raw[report["a"]],
            "value_b": raw[report["b"]],
            "score": report["score"].astype(float).to_numpy(),
            "matched_on": [", ".join(m) for m in matched],
            "confidence": confidence,
            "reason": reason,
        }
    )
    order = result["confidence"].map({"high": 0, "medium": 1, "low": 2})
    return (
        result.assign(_order=order)
        .sort_values(["_order", "score", "_row_a", "_row_b"], ascending=[True, False, True, True])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
