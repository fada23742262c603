"""Country names as Twenty's ADDRESS field stores them, found from codes, names and aliases.

Twenty's address input picks ``addressCountry`` from a list of English country names:
``new Intl.DisplayNames(['en'], {type: 'region'}).of(code)`` for each country
libphonenumber knows (twentyhq/twenty, packages/twenty-front/src/modules/ui/input/
components/internal/hooks/useCountries.ts; AddressInput.tsx stores ``countryName``). Those
are CLDR's English names ("United States", "United Kingdom", "Türkiye", "St. Lucia"); ISO
3166 names (pycountry) are used where CLDR says the same, :data:`CLDR_NAMES` where not.

:func:`country_name` also reads names in most languages (libphonenumber's geocoding data,
when a name means one country only) and answers ``None`` for what it does
not know: a value is never guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

#: CLDR 49 English names (what Twenty shows and stores) where ISO 3166 (pycountry) differs,
#: and the codes libphonenumber knows that ISO 3166-1 lacks (XK, AC, TA). A browser with an
#: older CLDR may name a few differently.
CLDR_NAMES: dict[str, str] = {
    "AC": "Ascension Island",
    "AG": "Antigua & Barbuda",
    "BA": "Bosnia & Herzegovina",
    "BL": "St. Barthélemy",
    "BN": "Brunei",
    "BO": "Bolivia",
    "BQ": "Caribbean Netherlands",
    "CD": "Congo - Kinshasa",
    "CG": "Congo - Brazzaville",
    "CI": "Côte d’Ivoire",
    "CV": "Cape Verde",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "GS": "South Georgia & South Sandwich Islands",
    "HK": "Hong Kong SAR China",
    "HM": "Heard Island & McDonald Islands",
    "IR": "Iran",
    "KN": "St. Kitts & Nevis",
    "KP": "North Korea",
    "KR": "South Korea",
    "LA": "Laos",
    "LC": "St. Lucia",
    "MD": "Moldova",
    "MF": "St. Martin",
    "MM": "Myanmar (Burma)",
    "MO": "Macao SAR China",
    "PM": "St. Pierre & Miquelon",
    "PN": "Pitcairn Islands",
    "PS": "Palestinian Territories",
    "RU": "Russia",
    "SH": "St. Helena, Ascension & Tristan da Cunha",  # [uncertain] "St. Helena" before CLDR 48
    "SJ": "Svalbard & Jan Mayen",
    "ST": "São Tomé & Príncipe",
    "SX": "Sint Maarten",
    "SY": "Syria",
    "TA": "Tristan da Cunha",
    "TC": "Turks & Caicos Islands",
    "TF": "French Southern and Antarctic Lands",  # [uncertain] ISO's name before CLDR 48
    "TT": "Trinidad & Tobago",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "UM": "U.S. Outlying Islands",
    "VA": "Vatican City",
    "VC": "St. Vincent & Grenadines",
    "VE": "Venezuela",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "VN": "Vietnam",
    "WF": "Wallis & Futuna",
    "XK": "Kosovo",
}

#: Common short forms, former names and local-language names -> ISO 3166 alpha-2 code.
#: Compared after :func:`_key` (case, accents, dots and "the" ignored).
ALIASES: dict[str, str] = {
    # United States
    "us": "US",
    "usa": "US",
    "america": "US",
    "united states": "US",
    "united states of america": "US",
    "vereinigte staaten": "US",
    "etats unis": "US",
    "estados unidos": "US",
    "stati uniti": "US",
    # United Kingdom
    "uk": "GB",
    "gb": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "vereinigtes konigreich": "GB",
    "grossbritannien": "GB",
    "royaume uni": "GB",
    "reino unido": "GB",
    "regno unito": "GB",
    # Europe, in the countries' own languages and their neighbours'
    "deutschland": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "germania": "DE",
    "brd": "DE",
    "frankreich": "FR",
    "francia": "FR",
    "espana": "ES",
    "espagne": "ES",
    "spanien": "ES",
    "spagna": "ES",
    "italia": "IT",
    "italien": "IT",
    "italie": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "osterreich": "AT",
    "autriche": "AT",
    "nederland": "NL",
    "niederlande": "NL",
    "pays bas": "NL",
    "paises bajos": "NL",
    "holland": "NL",
    "belgie": "BE",
    "belgique": "BE",
    "belgien": "BE",
    "luxemburg": "LU",
    "sverige": "SE",
    "schweden": "SE",
    "norge": "NO",
    "norwegen": "NO",
    "danmark": "DK",
    "danemark": "DK",
    "suomi": "FI",
    "finnland": "FI",
    "polska": "PL",
    "polen": "PL",
    "pologne": "PL",
    "cesko": "CZ",
    "ceska republika": "CZ",
    "czech republic": "CZ",
    "tschechien": "CZ",
    "magyarorszag": "HU",
    "ungarn": "HU",
    "eire": "IE",
    "irland": "IE",
    "irlande": "IE",
    "ellada": "GR",
    "griechenland": "GR",
    "grece": "GR",
    "turkey": "TR",
    "turkei": "TR",
    "turquie": "TR",
    "russland": "RU",
    "russie": "RU",
    "rossiya": "RU",
    "россия": "RU",
    "ελλαδα": "GR",
    # Elsewhere
    "brasil": "BR",
    "bresil": "BR",
    "brasilien": "BR",
    "mexique": "MX",
    "mexiko": "MX",
    "kanada": "CA",
    "japon": "JP",
    "日本": "JP",
    "中国": "CN",
    "china": "CN",
    "prc": "CN",
    "south korea": "KR",
    "republic of korea": "KR",
    "대한민국": "KR",
    "ivory coast": "CI",
    "burma": "MM",
    "swaziland": "SZ",
    "macedonia": "MK",
    "east timor": "TL",
    "cape verde": "CV",
    "uae": "AE",
    "indien": "IN",
    "australien": "AU",
}

#: Names people use for two countries: left as they are, whatever one data set says.
AMBIGUOUS: frozenset[str] = frozenset({"korea", "congo", "virgin islands"})

_DOTS = re.compile(r"[.'’]")
_NOT_WORD = re.compile(r"[\W_]+")
_CODE = re.compile(r"^[A-Z]{2,3}$")


def _key(text: str) -> str:
    """How values are compared: no accents, case, dots or punctuation; ``&`` is "and"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and "))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _NOT_WORD.sub(" ", _DOTS.sub("", plain.casefold())).strip()
    return words[4:] if words.startswith("the ") else words


@functools.cache
def _index() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(code -> Twenty name, upper-case ISO code -> alpha-2, name key -> alpha-2)."""
    import pycountry

    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for country in pycountry.countries:
        alpha_2 = str(country.alpha_2)
        iso = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        names[alpha_2] = CLDR_NAMES.get(alpha_2) or str(iso[2] or iso[0])
        codes[alpha_2] = codes[str(country.alpha_3)] = alpha_2
        for name in iso:
            if name:
                by_key.setdefault(_key(str(name)), alpha_2)
    for code, name in CLDR_NAMES.items():
        names.setdefault(code, name)
        codes.setdefault(code, code)
    for code, name in names.items():
        by_key[_key(name)] = code
    by_key.update({_key(alias): code for alias, code in ALIASES.items()})
    return names, codes, by_key


def country_name(value: str, aliases: Mapping[str, str] | None = None) -> str | None:
    """The name Twenty stores for ``value`` (a name, ISO code or alias), or None if unknown.

    Codes count only in capitals (``"DE"``, ``"DEU"``): a lower-case ``"no"`` or ``"in"``
    is a word, not Norway or India. ``aliases`` adds your own (``{"Bavaria": "Germany"}``);
    its targets are names or codes this function knows.
    """
    names, codes, by_key = _index()
    text = value.strip()
    if aliases:
        own = {_key(k): v for k, v in aliases.items()}
        if _key(text) in own:
            target = own[_key(text)]
            found = country_name(target) if target != text else None
            if found is None:
                raise ValueError(f"alias {value!r} -> {target!r}: {target!r} is not a country")
            return found
    if _CODE.match(text) and text in codes:
        return names[codes[text]]
    if _key(text) in AMBIGUOUS:
        return None
    code = by_key.get(_key(text))
    if code is None and len(text) > 3:
        code = _local_names().get(_key(text))
    return names.get(code) if code else None


@functools.cache
def _local_names() -> dict[str, str]:
    """Country names in most languages (libphonenumber's geocoding data) -> alpha-2, keeping
    only the names that mean one country ("Korea" is two, so it is left out)."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    found: dict[str, set[str]] = {}
    for region, by_language in LOCALE_DATA.items():
        for name in by_language.values():
            if name:
                found.setdefault(_key(name), set()).add(region)
    return {key: next(iter(regions)) for key, regions in found.items() if len(regions) == 1}
