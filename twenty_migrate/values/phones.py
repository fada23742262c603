"""Phone numbers and countries: Twenty's PHONES sub-fields from what people typed.

Twenty parses phone input with libphonenumber into a national number, a country code and a
calling code (``"+14155552671"`` -> ``"4155552671"``, ``"US"``, ``"+1"``; twenty-api.md
§4.2). :func:`parse_phone` does the same, reading numbers without ``+`` in a region that
can come from a country column (:func:`country_code` understands names in most languages).

Example:
    >>> parse_phone("(415) 555-2671 x12", "US").parts
    ('4155552671', 'US', '+1')
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

from twenty_migrate.values.parsing import fold_text, words
from twenty_migrate.values.twenty_phones import twenty_phone_verdict

__all__ = [
    "PhoneResult",
    "country_code",
    "nanp_lookup",
    "parse_phone",
    "region_and_validity",
    "split_phones",
]


_COUNTRY_ALIASES: dict[str, str] = {
    "US": "usa|u.s.|u.s.a.|america|united states of america",
    "GB": "uk|u.k.|england|scotland|wales|northern ireland|great britain|britain|gbr",
    "NL": "holland|the netherlands|nld",
    "IE": "eire|republic of ireland|irl",
    "DE": "deu|west germany",
    "CH": "che|schweiz|suisse|svizzera",
    "CN": "chn|prc",
    "KR": "kor|south korea",
    "AE": "uae",
    "FR": "fra", "ES": "esp", "IT": "ita", "SE": "swe", "DK": "dnk", "PL": "pol",
    "AT": "aut", "BE": "bel", "CA": "can", "AU": "aus", "JP": "jpn", "IN": "ind",
    "BR": "bra", "MX": "mex", "NO": "nor", "FI": "fin", "PT": "prt", "NZ": "nzl",
}  # fmt: skip


@functools.cache
def _country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for region, names in LOCALE_DATA.items():
        for language, name in names.items():
            if language != "en" and name:
                table.setdefault(fold_text(name), region)
    for region, names in LOCALE_DATA.items():
        if names.get("en"):
            table[fold_text(names["en"])] = region
    for region, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            table[fold_text(alias)] = region
    for region in phonenumbers.SUPPORTED_REGIONS:
        table[region.casefold()] = region
    return table


def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 code for a country name or code in most languages.

    ``"Deutschland"``, ``"germany"``, ``"DE"`` -> ``"DE"``; ``"U.S."``, ``"USA"`` -> ``"US"``;
    None when unknown.
    """
    key = fold_text(name)
    if not key:
        return None
    return _country_table().get(key)


# --------------------------------------------------------------------------- phones
@dataclass(frozen=True)
class PhoneResult:
    """One parsed phone number: Twenty's sub-fields, or why it could not be parsed."""

    number: str | None = None
    country: str | None = None
    calling_code: str | None = None
    extension: str | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the number parsed."""
        return self.error is None and self.number is not None

    @property
    def parts(self) -> tuple[str | None, str | None, str | None]:
        """``(primaryPhoneNumber, primaryPhoneCountryCode, primaryPhoneCallingCode)``."""
        return self.number, self.country, self.calling_code

    @property
    def e164(self) -> str | None:
        """``+<calling code><national number>``."""
        return f"{self.calling_code}{self.number}" if self.valid else None


#: Number types libphonenumber checks when it decides whether a number is valid.
_TYPES = words(
    "premium_rate toll_free shared_cost voip personal_number pager uan voicemail fixed_line mobile"
)
_Desc = tuple["re.Pattern[str]", frozenset[int]]


def _desc(desc: Any) -> _Desc:
    return re.compile(desc.national_number_pattern or "(?!)"), frozenset(desc.possible_length or ())


@functools.cache
def _region_matchers(calling_code: int) -> tuple[tuple[str, Any, _Desc, tuple[_Desc, ...]], ...]:
    """Per region of a calling code, in libphonenumber's order: leading digits, patterns."""
    matchers = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ()):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.general_desc is None:
            return ()  # non-geographic numbers: leave them to libphonenumber itself
        types = tuple(
            _desc(desc)
            for desc in (getattr(meta, name) for name in _TYPES)
            if desc is not None and desc.national_number_pattern
        )
        leading = re.compile(meta.leading_digits) if meta.leading_digits else None
        matchers.append((region, leading, _desc(meta.general_desc), types))
    return tuple(matchers)


def _matches(desc: _Desc, national: str) -> bool:
    pattern, lengths = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def region_and_validity(calling_code: int, national: str) -> tuple[str | None, bool] | None:
    """(region, valid) of a number, as libphonenumber's ``region_code_for_number`` and
    ``is_valid_number`` decide them, with the patterns compiled once (ten times faster).

    None for calling codes without regional metadata (+800 and the like).
    """
    matchers = _region_matchers(calling_code)
    if not matchers:
        return None

    def valid(general: _Desc, types: tuple[_Desc, ...]) -> bool:
        return _matches(general, national) and any(_matches(t, national) for t in types)

    if len(matchers) == 1:
        region, _, general, types = matchers[0]
        return region, valid(general, types)
    for region, leading, general, types in matchers:
        if leading is not None:
            if leading.match(national):
                return region, valid(general, types)
        elif valid(general, types):
            return region, True
    return None, False


def nanp_lookup(national: str) -> tuple[str | None, bool]:
    """(region, valid) of a 10-digit North American number.

    In the North American plan both depend only on the first six digits (area code and
    exchange), so callers may pass ``area code + exchange + "0000"``.
    """
    return region_and_validity(1, national) or (None, False)


_SCI_RE = re.compile(r"^\d(?:[.,]\d+)?e\+?\d+$", re.I)


def parse_phone(text: str, region: str | None = "US", *, strict: bool = False) -> PhoneResult:
    """Parse one phone number into Twenty's sub-fields.

    A number valid for its country is read as libphonenumber reads it (a local number typed
    without its ``+``, ``"4930123456"``, is tried as ``+4930123456`` too). Any other number
    Twenty's own transform stores is accepted as Twenty would store it: Twenty parses with
    libphonenumber-js, which refuses only a text with no number, no country to read it in,
    or a national number shorter than 2 or longer than 17 digits; fictional ``555`` numbers
    and lengths unusual for the country are stored (transform-phones-value.util.ts).

    Args:
        text: the number as typed (``"(415) 555-2671"``, ``"+44 20 7946 0958 x12"``,
            ``"0049 30 1234567"``).
        region: ISO country for numbers written without ``+`` or ``00``.
        strict: refuse numbers that are not valid for their country (libphonenumber's
            ``is_valid_number``), which Twenty would store.
    """
    value = " ".join(text.split())
    if _SCI_RE.match(value):
        return PhoneResult(
            error="the number is in scientific notation; a spreadsheet lost its digits"
        )
    typed = value
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        parsed: phonenumbers.PhoneNumber | None = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None:
        national = phonenumbers.national_significant_number(parsed)
        found = region_and_validity(int(parsed.country_code or 0), national)
        if found is not None:
            country, valid = found
        else:
            country = phonenumbers.region_code_for_number(parsed)
            valid = phonenumbers.is_valid_number(parsed)
        if valid:
            return _result(parsed, country, region)
    digits = re.sub(r"[\s().\-/]", "", value)
    if digits.isdigit() and len(digits) >= 8 and not digits.startswith("0"):
        # "4930123456": an international number typed without its "+"
        retry = parse_phone("+" + digits, region, strict=True)
        if retry.valid:
            return retry
    if strict:
        if parsed is None:
            return PhoneResult(error="not a phone number")
        where = phonenumbers.region_code_for_country_code(int(parsed.country_code or 0))
        return PhoneResult(error=f"not a valid phone number for {where}")
    # What Twenty stores for the text: "+" numbers in their own country, others in region's.
    verdict = twenty_phone_verdict(value, None if value.startswith("+") else region, None)
    if isinstance(verdict, str) and typed != value:
        # "00" is not the international prefix everywhere (011 in North America): Twenty
        # may read "0075..." as a national number
        verdict = twenty_phone_verdict(typed, region, None)
    if isinstance(verdict, str):
        return PhoneResult(error=f"not a phone number Twenty accepts ({verdict})")
    number, country, calling = verdict
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(calling.lstrip("+")), ())
    country = country or (region if region in regions else None)
    extension = parsed.extension if parsed is not None else None
    return PhoneResult(number, country, calling, extension or None)


def _result(
    parsed: phonenumbers.PhoneNumber, country: str | None, region: str | None
) -> PhoneResult:
    if country in (None, "ZZ", "001"):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(parsed.country_code or 0), ())
        country = region if region in regions else (regions[0] if len(regions) == 1 else None)
        country = None if country == "001" else country
    return PhoneResult(
        number=phonenumbers.national_significant_number(parsed),
        country=country,
        calling_code=f"+{parsed.country_code}",
        extension=parsed.extension or None,
    )


_PHONE_SPLIT_RE = re.compile(r"\s*(?:\s/\s|;(?!\s*ext)|\||\bor\b|,(?=\s*[+(\d]))\s*", re.I)


def split_phones(text: str) -> list[str]:
    """Several numbers typed in one cell (``"+1 212 555 0100 / +1 212 555 0107"``)."""
    return [part for part in _PHONE_SPLIT_RE.split(text) if part.strip()]
