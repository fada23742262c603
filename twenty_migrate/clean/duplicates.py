"""Find rows that probably name the same company or person: :func:`find_fuzzy_duplicates`.

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
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from twenty_migrate.values.parsing import words

__all__ = ["LEGAL_SUFFIXES", "find_fuzzy_duplicates", "name_key"]

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
