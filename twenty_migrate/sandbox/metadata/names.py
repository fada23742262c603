"""Metadata names computed from labels, as Twenty computes them.

Twenty names the other side of a relation created through ``/metadata`` after the
``targetFieldLabel`` it was given:
``packages/twenty-server/src/engine/metadata-modules/utils/compute-metadata-name-from-label.util.ts``
prefixes a label starting with a digit with ``n``, slugifies it with the ``transliteration``
package (``separator: '_'``, ``allowedChars: 'a-zA-Z0-9'``, lower-cased) and applies lodash
``camelCase``. Its spec (``compute-metadata-name-from-label.util.spec.ts``) gives
``'Café Crème'`` → ``cafeCreme``, ``'123 Test'`` → ``n123Test``, ``'MiXeD cAsE'`` →
``mixedCase`` and refuses ``'!@#$%^&*()'`` with ``Invalid label: "!@#$%^&*()"``.

Transliteration here covers Latin letters: accents are dropped through Unicode NFKD and the
letters NFKD leaves alone (``ß``, ``æ``, ``ø``, ``ł``, ``đ``, ``þ``...) are spelled as the
transliteration package spells them. Other scripts (Cyrillic, Greek, CJK...) are not
transliterated: their letters are dropped, so a label written only in them is refused where
Twenty would romanize it.
"""

from __future__ import annotations

import re
import unicodedata

from twenty_migrate.sandbox.errors import SandboxError, bad_request

__all__ = ["lodash_camel_case", "name_from_label", "slugify"]

# Latin letters without an NFKD decomposition, romanized as the transliteration package does.
_LATIN_LETTERS: dict[str, str] = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
}
# The words lodash's unicode word regex finds in a slug (only [a-z0-9_] is left by then):
# letter runs, English ordinals before a break ("1st", "22nd", "4th"), digit runs.
_SLUG_WORDS = re.compile(r"[a-z]+|\d*(?:1st|2nd|3rd|(?![123])\dth)(?=\b|_)|\d+", re.ASCII)
_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9]+")


def _transliterate(text: str) -> str:
    spelled = "".join(_LATIN_LETTERS.get(char, char) for char in text)
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def slugify(text: str) -> str:
    """``slugify(text, {trim: true, separator: '_', allowedChars: 'a-zA-Z0-9'})``."""
    slug = _NOT_ALLOWED.sub("_", _transliterate(text.strip())).lower()
    return slug.strip("_")


def lodash_camel_case(slug: str) -> str:
    """lodash ``camelCase`` of a slug of ``[a-z0-9_]``: ``arr_usd`` → ``arrUsd``."""
    words = [word.lower() for word in _SLUG_WORDS.findall(slug)]
    return "".join(word if i == 0 else word[:1].upper() + word[1:] for i, word in enumerate(words))


def name_from_label(label: str | None) -> str:
    """Twenty's ``computeMetadataNameFromLabel``: ``"VIP Customers"`` → ``"vipCustomers"``.

    Raises:
        SandboxError: the label is missing, or has no letter or digit Twenty would keep.
    """
    if label is None:
        raise _invalid("Label is required")
    prefixed = f"n{label}" if re.match(r"[0-9]", label) else label
    if prefixed == "":
        return ""
    slug = slugify(prefixed)
    if slug == "":
        raise _invalid(f'Invalid label: "{label}"')
    return lodash_camel_case(slug)


def _invalid(message: str) -> SandboxError:
    return bad_request(message, code="INVALID_FIELD_INPUT")
