"""Value-level parsers shared by :mod:`twenty_migrate.clean` and :mod:`twenty_migrate.mapping`.

Each function takes one cell and returns its normalised form (or raises ``ValueError`` with
a message a consultant can act on). The normalisations follow what Twenty does to stored
values (twenty-api.md §3, §4.2): emails trimmed, lower-cased with the domain in punycode;
links with scheme and host lower-cased and the trailing ``/`` removed; phones split into
national number, country code and calling code with libphonenumber.

Example:
    >>> canonical_email(" Jane.Doe@Bücher.DE ")
    'jane.doe@xn--bcher-kva.de'
    >>> parse_number("1.200,50 €")
    Decimal('1200.50')
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

__all__ = [
    "EMAIL_RE",
    "PhoneResult",
    "canonical_email",
    "canonical_link",
    "country_code",
    "currency_code",
    "domain_key",
    "is_valid_email",
    "is_valid_link",
    "link_host",
    "option_key",
    "parse_bool",
    "parse_money",
    "parse_number",
    "nanp_lookup",
    "parse_phone",
    "settle_currency",
    "split_full_name",
    "split_list",
    "split_phones",
    "twenty_link",
]

#: Codec used to put IDN email and URL domains in punycode. [inferred] Twenty lower-cases
#: and IDN-encodes (twenty-api.md §4.2); the stdlib codec (IDNA 2003) matches it for every
#: lower-case domain except a few characters such as "ß".
IDNA_CODEC = "idna"
#: Address shape accepted for an email, on the lower-cased, punycoded form. [inferred]
#: Twenty's check (the sandbox uses the same shape), plus no empty dot-separated parts in
#: the local part ("a..b@x.com", ".a@x.com").
EMAIL_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_DISPLAY_NAME_RE = re.compile(r"^[^<>]*<\s*([^<>\s]+)\s*>$")
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?")
_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+\.?$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of a constant (keeps long vocabularies readable)."""
    return tuple(text.split(" "))


# --------------------------------------------------------------------------- emails
def _idna(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode(IDNA_CODEC).decode("ascii")
    except UnicodeError:
        return domain


def canonical_email(text: str) -> str:
    """Trim, lower-case and punycode an email; unwrap ``Name <a@b.com>`` and ``mailto:``.

    Invalid addresses come back trimmed and lower-cased, for :func:`is_valid_email` to judge.
    """
    value = " ".join(text.split())
    wrapped = _DISPLAY_NAME_RE.match(value)
    if wrapped:
        value = wrapped.group(1)
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0]
    value = value.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{_idna(domain)}"


def is_valid_email(email: str) -> bool:
    """Whether a canonical email (see :func:`canonical_email`) is an address Twenty accepts."""
    return EMAIL_RE.match(email) is not None and len(email) <= 254


# --------------------------------------------------------------------------- links
def twenty_link(url: str) -> str:
    """Exactly what Twenty stores for a link: only a URL with a scheme is changed.

    Twenty parses the text as a URL; if that works the scheme and host are lower-cased and
    one trailing ``/`` is removed, otherwise (no scheme) the text is kept as given.
    """
    match = _SCHEME_RE.match(url)
    if match is None or not match.group(2):
        return url
    rest = url[match.end() :]
    split = re.search(r"[/?#]", rest)
    host, tail = (rest[: split.start()], rest[split.start() :]) if split else (rest, "")
    scheme = match.group(1).lower()
    host = _idna(host.lower())
    if host.endswith(":" + _DEFAULT_PORTS.get(scheme, "-")):
        host = host.rsplit(":", 1)[0]
    result = f"{scheme}://{host}{tail or '/'}"
    return result[:-1] if result.endswith("/") else result


def canonical_link(text: str, *, scheme: str | None = None) -> str:
    """A link Twenty stores unchanged: scheme and host lower-cased, trailing slashes removed.

    Args:
        text: the URL or bare domain (``"WWW.Acme.com/"``).
        scheme: added to a link written without one (``"https"``); by default a missing
            scheme is kept, as Twenty keeps it.
    """
    value = text.strip()
    if not value:
        return value
    match = _SCHEME_RE.match(value)
    if match is None or not match.group(2):
        if scheme is None:
            split = re.search(r"[/?#]", value)
            host, tail = (value[: split.start()], value[split.start() :]) if split else (value, "")
            value = _idna(host.lower()) + tail
            return value.rstrip("/") or value
        value = f"{scheme}://{value}"
    normalised = twenty_link(value)
    return normalised.rstrip("/") if normalised.rstrip("/").count("/") >= 2 else normalised


def link_host(text: str) -> str:
    """The host of a URL or bare domain, lower-cased and punycoded (no port, no ``www.``)."""
    value = text.strip()
    match = _SCHEME_RE.match(value)
    if match is not None and (match.group(2) or match.group(1).lower() in ("http", "https")):
        value = value[match.end() :]
    host = re.split(r"[/?#]", value, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = _idna(host.split(":", 1)[0].lower().rstrip("."))
    return host[4:] if host.startswith("www.") else host


def domain_key(text: str) -> str | None:
    """A bare domain for matching (``"https://www.Acme.com/about"`` -> ``"acme.com"``).

    None when the text holds no plausible host name.
    """
    host = link_host(text)
    return host if _HOST_RE.match(host) else None


def is_valid_link(link: str) -> bool:
    """Whether a canonical link has a plausible host (``"NO WEBSITE"`` and emails do not)."""
    if any(ch.isspace() for ch in link) or "@" in link.split("/", 3)[2 if "//" in link else 0]:
        return False
    return domain_key(link) is not None


# --------------------------------------------------------------------------- countries
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


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", "", stripped)


@functools.cache
def _country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for region, names in LOCALE_DATA.items():
        for language, name in names.items():
            if language != "en" and name:
                table.setdefault(_fold(name), region)
    for region, names in LOCALE_DATA.items():
        if names.get("en"):
            table[_fold(names["en"])] = region
    for region, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            table[_fold(alias)] = region
    for region in phonenumbers.SUPPORTED_REGIONS:
        table[region.casefold()] = region
    return table


def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 code for a country name or code in most languages.

    ``"Deutschland"``, ``"germany"``, ``"DE"`` -> ``"DE"``; ``"U.S."``, ``"USA"`` -> ``"US"``;
    None when unknown.
    """
    key = _fold(name)
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


_NANP_TYPES = (
    "fixed_line mobile toll_free premium_rate shared_cost personal_number voip pager uan "
    "voicemail"
).split(" ")


@functools.cache
def _nanp_matchers() -> list[tuple[str, Any, Any, Any]]:
    """Per NANP region, in libphonenumber's order: leading digits, general and type patterns."""
    matchers = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        patterns = [
            desc.national_number_pattern
            for desc in (getattr(meta, name) for name in _NANP_TYPES)
            if desc is not None and desc.national_number_pattern
        ]
        combined = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)")
        leading = re.compile(meta.leading_digits) if meta.leading_digits else None
        general = re.compile(meta.general_desc.national_number_pattern)
        matchers.append((region, leading, general, combined))
    return matchers


def nanp_lookup(national: str) -> tuple[str | None, bool]:
    """(region, valid) of a 10-digit North American number, as libphonenumber decides them.

    Mirrors ``region_code_for_number`` and ``is_valid_number`` with the patterns compiled
    once; a number's region and validity depend only on its first six digits, so callers
    may pass ``area code + exchange + "0000"``.
    """
    for region, leading, general, combined in _nanp_matchers():
        if leading is not None:
            if leading.match(national):
                return region, bool(general.fullmatch(national) and combined.fullmatch(national))
        elif general.fullmatch(national) and combined.fullmatch(national):
            return region, True
    return None, False


_SCI_RE = re.compile(r"^\d(?:[.,]\d+)?e\+?\d+$", re.I)


def parse_phone(text: str, region: str | None = "US", *, strict: bool = True) -> PhoneResult:
    """Parse one phone number into Twenty's sub-fields.

    Args:
        text: the number as typed (``"(415) 555-2671"``, ``"+44 20 7946 0958 x12"``,
            ``"0049 30 1234567"``).
        region: ISO country for numbers written without ``+`` or ``00``.
        strict: refuse numbers that are not valid for their country (libphonenumber's
            ``is_valid_number``); otherwise only impossible lengths are refused.
    """
    value = " ".join(text.split())
    if _SCI_RE.match(value):
        return PhoneResult(
            error="the number is in scientific notation; a spreadsheet lost its digits"
        )
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return PhoneResult(error="not a phone number")
    if not phonenumbers.is_possible_number(parsed):
        return PhoneResult(error="not a possible phone number (wrong number of digits)")
    national = phonenumbers.national_significant_number(parsed)
    if parsed.country_code == 1 and len(national) == 10:
        country, valid = nanp_lookup(national)  # the same answers, ten times faster
    else:
        country = phonenumbers.region_code_for_number(parsed)
        valid = not strict or phonenumbers.is_valid_number(parsed)
    if strict and not valid:
        digits = re.sub(r"[\s().\-/]", "", value)
        if digits.isdigit() and len(digits) >= 8 and not digits.startswith("0"):
            # "4930123456": an international number typed without its "+"
            retry = parse_phone("+" + digits, region, strict=True)
            if retry.valid:
                return retry
        where = phonenumbers.region_code_for_country_code(int(parsed.country_code or 0))
        return PhoneResult(error=f"not a valid phone number for {where}")
    if country in (None, "ZZ", "001"):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(parsed.country_code or 0), ())
        country = region if region in regions else (regions[0] if len(regions) == 1 else None)
        country = None if country == "001" else country
    return PhoneResult(
        number=national,
        country=country,
        calling_code=f"+{parsed.country_code}",
        extension=parsed.extension or None,
    )


_PHONE_SPLIT_RE = re.compile(r"\s*(?:\s/\s|;(?!\s*ext)|\||\bor\b|,(?=\s*[+(\d]))\s*", re.I)


def split_phones(text: str) -> list[str]:
    """Several numbers typed in one cell (``"+1 212 555 0100 / +1 212 555 0107"``)."""
    return [part for part in _PHONE_SPLIT_RE.split(text) if part.strip()]


# --------------------------------------------------------------------------- numbers
_MULTIPLIERS = {"k": 3, "m": 6, "mm": 6, "mn": 6, "mio": 6, "b": 9, "bn": 9}
_NUMBER_RE = re.compile(r"^(?P<num>[0-9][0-9.,]*|[.,][0-9]+)(?P<mult>k|mm|mn|mio|m|bn|b)?$", re.I)


def parse_number(text: str, *, decimal: str | None = None, money: bool = False) -> Decimal:
    """A number written the way people write them.

    Handles thousand separators (``"1,200"``, ``"1.200.000"``, ``"1 200"``, ``"1'200"``),
    decimal commas (``"12,5"``, ``"1.200,50"``), ``"12k"``/``"1.2M"``/``"3bn"``, negatives as
    ``-5`` or ``(5)``, and a trailing ``%``.

    Args:
        text: the cell.
        decimal: ``","`` or ``"."`` to force the decimal separator.
        money: read a single ``.`` followed by exactly three digits as a thousands separator
            (``"7.500"`` is 7500), since amounts rarely have three decimals.

    Raises:
        ValueError: the text is not a number.
    """
    value = re.sub(r"[\s\u00a0\u202f\u2009'’_]", "", text)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.startswith(("-", "−")):
        negative, value = not negative, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    if value.endswith("-"):
        negative, value = not negative, value[:-1]
    value = value.removesuffix("%")
    match = _NUMBER_RE.match(value)
    if match is None:
        raise ValueError(f"{text!r} is not a number")
    digits, mult = match.group("num"), (match.group("mult") or "").lower()
    number = Decimal(_decimal_text(digits, decimal, money, text))
    if mult:
        number = number.scaleb(_MULTIPLIERS[mult])
    return -number if negative else number


def _decimal_text(digits: str, decimal: str | None, money: bool, text: str) -> str:
    dots, commas = digits.count("."), digits.count(",")
    if decimal is None:
        if dots and commas:
            decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
        elif commas:
            grouped = re.fullmatch(r"\d{1,3}(,\d{3})+", digits)
            decimal = "." if grouped else ","
        elif dots > 1 or (money and re.fullmatch(r"\d{1,3}\.\d{3}", digits)):
            decimal = ","
        else:
            decimal = "."
    thousands = "," if decimal == "." else "."
    if digits.count(decimal) > 1:
        raise ValueError(f"{text!r} is not a number (several decimal separators)")
    whole, _, fraction = digits.partition(decimal)
    if thousands in whole and not re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", whole):
        raise ValueError(f"{text!r} is not a number (misplaced thousands separator)")
    if thousands in fraction:
        raise ValueError(f"{text!r} is not a number")
    cleaned = whole.replace(thousands, "") + ("." + fraction if fraction else "")
    try:
        return str(Decimal(cleaned or "x"))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None


# --------------------------------------------------------------------------- money
#: Currency written next to an amount or in a currency column -> ISO 4217 code.
CURRENCY_WORDS: dict[str, str] = {
    "us$": "USD", "usd$": "USD", "a$": "AUD", "au$": "AUD", "c$": "CAD", "ca$": "CAD",
    "nz$": "NZD", "hk$": "HKD", "s$": "SGD", "r$": "BRL", "mx$": "MXN",
    "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY",
    "zł": "PLN", "zl": "PLN", "fr.": "CHF", "fr": "CHF", "sfr": "CHF", "kč": "CZK",
    "rmb": "CNY", "yuan": "CNY", "euro": "EUR", "euros": "EUR", "pound": "GBP",
    "pounds": "GBP", "poundsterling": "GBP", "sterling": "GBP", "usdollar": "USD",
    "usdollars": "USD", "dollar": "USD", "dollars": "USD", "yen": "JPY",
    "swissfranc": "CHF", "swissfrancs": "CHF", "rupee": "INR", "rupees": "INR",
}  # fmt: skip
#: The ISO 4217 codes Twenty's currency fields accept (its CurrencyCode list). [inferred]
CURRENCY_CODES = frozenset(
    words(
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
        "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD "
        "FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD "
        "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
        "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
        "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
        "TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR "
        "ZMW ZWL"
    )
)
_DOLLAR_CODES = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})
_MONEY_TOKEN_RE = re.compile(
    r"[a-z]{0,3}\$|[€£¥₹₩₽₺]|\b(?:zł|zl|fr\.|sfr|kč|kr|rmb|euros?|pounds?(?:\s+sterling)?"
    r"|(?:us\s+)?dollars?|yen|[a-z]{3})(?![a-z])",
    re.I,
)


def currency_code(text: str, default: str = "USD") -> str | None:
    """ISO 4217 code for a currency code, symbol or name (``"€"``, ``"Euro"``, ``"US$"``).

    ``"$"`` alone means ``default`` when that is a dollar currency, else USD. ``"kr"`` means
    the default when it is DKK, SEK, NOK or ISK. None when unknown.
    """
    value = " ".join(text.split()).casefold()
    if value.upper() in CURRENCY_CODES:
        return value.upper()
    if value == "$":
        return default if default in _DOLLAR_CODES else "USD"
    if value in ("kr", "kr."):
        return default if default in ("DKK", "SEK", "NOK", "ISK") else None
    return CURRENCY_WORDS.get(value) or CURRENCY_WORDS.get(value.replace(" ", ""))


#: Symbols shared by several currencies: (currency when nothing else says, the family).
AMBIGUOUS_SYMBOLS: dict[str, tuple[str | None, frozenset[str]]] = {
    "$": ("USD", _DOLLAR_CODES),
    "¥": ("JPY", frozenset({"JPY", "CNY"})),
    "kr": (None, frozenset({"DKK", "SEK", "NOK", "ISK"})),
}


def parse_money(
    text: str, *, default: str = "USD", decimal: str | None = None
) -> tuple[Decimal, str | None]:
    """An amount and the currency written with it (``"1.200,50 €"`` -> (1200.50, "EUR")).

    The currency is an ISO code, a shared symbol (``"$"``, ``"¥"``, ``"kr"``, see
    :func:`settle_currency`), or None when the text names none.

    Raises:
        ValueError: no number, or two different currencies.
    """
    currency: str | None = None
    remaining = text
    for token in reversed(list(_MONEY_TOKEN_RE.finditer(text))):
        word = token.group(0)
        if word.lower() in _MULTIPLIERS and re.search(r"\d$", text[: token.start()]):
            continue
        folded = word.casefold().rstrip(".")
        code = folded if folded in AMBIGUOUS_SYMBOLS else currency_code(word, default)
        if code is None:
            continue
        if currency is not None and code != currency:
            raise ValueError(f"{text!r} names two currencies ({currency}, {code})")
        currency = code
        remaining = remaining[: token.start()] + " " + remaining[token.end() :]
    return parse_number(remaining, decimal=decimal, money=True), currency


def settle_currency(named: str | None, column: str | None, default: str) -> tuple[str | None, bool]:
    """The currency of an amount and whether its own symbol contradicts the column.

    Args:
        named: what the amount cell says (ISO code, shared symbol or None).
        column: what a currency column says (ISO code or None); it wins.
        default: the currency when neither says; also picks within a shared symbol's
            family (``"$"`` with default CAD is CAD).
    """
    family = AMBIGUOUS_SYMBOLS.get(named or "")
    if column is not None:
        if named is None:
            return column, False
        return column, (column not in family[1]) if family else column != named
    if family is not None:
        return (default if default in family[1] else family[0]), False
    return named or default, False


# --------------------------------------------------------------------------- booleans
TRUE_WORDS = frozenset(words("true t yes y 1 1.0 x on checked ✓ ✔ oui ja si sí vrai wahr"))
FALSE_WORDS = frozenset(words("false f no n 0 0.0 off unchecked non nein faux falsch"))


def parse_bool(value: Any) -> bool:
    """``yes/no``, ``true/false``, ``1/0``, ``y/n``, ``x`` (a ticked box) and real booleans.

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not yes/no, true/false or 1/0")


# --------------------------------------------------------------------------- names, lists
HONORIFICS = frozenset(words("mr mrs ms miss mx dr prof sir dame herr frau mme mlle m"))
NAME_SUFFIXES = frozenset(words("jr sr ii iii iv phd md esq mba"))
_PARTICLES = frozenset(words("van von der den de del della di da dos das du la le st st. ten ter"))


def _is_cjk(text: str) -> bool:
    return all("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def split_full_name(text: str) -> tuple[str | None, str | None, str | None]:
    """``(firstName, lastName, dropped)`` from one name cell.

    Handles ``"Last, First"``, suffixes (``"John Smith Jr."``), particles (``"Sanne van 't
    Hof"``, ``"Ana de la Cruz"``), honorifics (``"Dr. Jane Doe"``, returned as ``dropped``)
    and CJK names without spaces (``"王伟"``: family name first).
    """
    value = " ".join(text.split())
    if not value:
        return None, None, None
    dropped = None
    if "," in value:
        last, _, first = (part.strip() for part in value.partition(","))
        if first and first.rstrip(".").casefold() not in NAME_SUFFIXES and "," not in first:
            value = f"{first} {last}"
        else:
            value = value.replace(",", "")
    tokens = value.split(" ")
    if len(tokens) > 1 and tokens[0].rstrip(".").casefold() in HONORIFICS:
        dropped, tokens = tokens[0], tokens[1:]
    if len(tokens) == 1:
        if _is_cjk(tokens[0]) and 2 <= len(tokens[0]) <= 4:
            return tokens[0][1:], tokens[0][0], dropped
        return tokens[0], None, dropped
    end = len(tokens) - 1
    while end > 1 and tokens[end].rstrip(".").casefold() in NAME_SUFFIXES:
        end -= 1
    start = end
    while start > 1 and tokens[start - 1].casefold() in _PARTICLES | {"'t"}:
        start -= 1
    return " ".join(tokens[:start]), " ".join(tokens[start:]), dropped


def split_list(value: Any, separator: str | None = None) -> list[str]:
    """Items of a list cell: a JSON list, or text separated by ``;``, ``|``, ``,`` or lines."""
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        if isinstance(loaded, list):
            return [str(item).strip() for item in loaded if str(item).strip()]
    if separator is None:
        separator = next((sep for sep in (";", "|", "\n", ",") if sep in text), ";")
    return [item.strip() for item in text.split(separator) if item.strip()]


def option_key(label: str) -> str:
    """A forgiving key for matching select labels: case, accents, spaces, punctuation ignored."""
    return _fold(label)
