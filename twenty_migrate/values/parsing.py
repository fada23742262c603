"""Value-level parsers shared by cleaning (:mod:`twenty_migrate.clean.frame`) and conversion.

Each function takes one cell and returns its normalised form (or raises ``ValueError`` with
a message a consultant can act on). The normalisations follow what Twenty does to stored
values (twenty-api.md §3, §4.2): emails trimmed, lower-cased with the domain in punycode;
links with scheme and host lower-cased and the trailing ``/`` removed. Phone numbers and
country names are read in :mod:`twenty_migrate.values.phones`.

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
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "EMAIL_RE",
    "canonical_email",
    "canonical_link",
    "currency_code",
    "domain_key",
    "fold_text",
    "is_valid_email",
    "is_valid_link",
    "link_host",
    "option_key",
    "parse_bool",
    "parse_money",
    "parse_number",
    "settle_currency",
    "split_full_name",
    "split_list",
    "twenty_link",
]

#: Codec used to put IDN email and URL domains in punycode. [inferred] Twenty lower-cases
#: and IDN-encodes (twenty-api.md §4.2); the stdlib codec (IDNA 2003) matches it for every
#: lower-case domain except a few characters such as "ß".
IDNA_CODEC = "idna"
#: Address shape accepted for an email, on the lower-cased, punycoded form. [inferred]
#: Twenty's check (the sandbox uses the same shape; letters of any script in the local
#: part), plus no empty dot-separated parts in the local part ("a..b@x.com", ".a@x.com").
EMAIL_RE = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*@"
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
    return _idna_encode(domain)


@functools.lru_cache(maxsize=65536)
def _idna_encode(domain: str) -> str:
    """Punycode of a non-ASCII domain (cached: a file repeats its few domains)."""
    try:
        return domain.encode(IDNA_CODEC).decode("ascii")
    except UnicodeError:
        return domain


def canonical_email(text: str) -> str:
    """Trim, lower-case and punycode an email; unwrap ``Name <a@b.com>`` and ``mailto:``.

    Text that is not shaped like one address (no ``@``, several, spaces inside) is returned
    trimmed but otherwise as given, for validation to report.
    """
    value = " ".join(text.split())
    wrapped = _DISPLAY_NAME_RE.match(value)
    if wrapped:
        value = wrapped.group(1)
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0]
    value = value.strip()
    if value.count("@") != 1 or any(ch.isspace() for ch in value):
        return text.strip()
    local, _, domain = value.lower().partition("@")
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


_DOMAIN_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_DOMAIN_PATH = re.compile(r"[/\\?#]")
_DOMAIN_USER = re.compile(r"^.*@", re.S)
_DOMAIN_PORT = re.compile(r":\d+$")
_DOMAIN_DOTS = re.compile("[.\u3002\uff0e\uff61]")


def twenty_domain(url: str) -> str:
    """What Twenty stores for a link of a ``domain`` LINKS field: the bare host.

    Newer Twenty (PR #24911) gives company ``domainName`` the links variant ``domain``
    (field ``settings.type``), whose URLs go through twenty-shared ``normalizeDomain``:
    ``https://user@www.Acme.com:8080/x`` -> ``acme.com``. Text with no host is kept.
    """
    pathless = _DOMAIN_PATH.split(_DOMAIN_SCHEME.sub("", url.strip(), count=1))[0]
    host = _DOMAIN_PORT.sub("", _DOMAIN_USER.sub("", pathless)).lower()
    labels = _DOMAIN_DOTS.split(host) if host else []
    while labels and labels[-1] == "":
        labels.pop()
    while labels and labels[0] == "www":
        labels.pop(0)
    return _idna(".".join(labels))


def canonical_link(text: str, *, scheme: str | None = None) -> str:
    """A link Twenty stores unchanged: scheme and host lower-cased, trailing slashes removed.

    Text without a plausible host (``"NO WEBSITE"``, an email, a formula) is returned
    trimmed but otherwise as given, for validation to report.

    Args:
        text: the URL or bare domain (``"WWW.Acme.com/"``).
        scheme: added to a link written without one (``"https"``); by default a missing
            scheme is kept, as Twenty keeps it.
    """
    value = text.strip()
    if not is_valid_link(value):
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


def fold_text(text: str) -> str:
    """Lower-case text without accents, spaces or punctuation (``"Ü-Bahn!"`` -> ``"ubahn"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", "", stripped)


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
    return fold_text(label)
