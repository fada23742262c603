"""PHONES transform: parse with libphonenumber, infer country and calling code.

Mirrors Twenty's ``transformPhonesValue`` (record-transformer/utils/
transform-phones-value.util.ts, libphonenumber-js ``parsePhoneNumberWithError``):
``"+14155552671"`` becomes number ``"4155552671"``, calling code ``"+1"``, country ``"US"``;
a number without ``+``, country or calling code is refused, as are conflicting inputs, with
the transformer's messages. libphonenumber-js checks only the national number's length
(2 to 17 digits), not its validity: fictional 555 numbers are stored.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from twenty_migrate.sandbox.errors import SandboxError, bad_request, inspect_js

_PRIMARY = ("primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode")
_ITEM_KEYS = frozenset({"number", "countryCode", "callingCode"})


def _error(message: str, code: str) -> SandboxError:
    return bad_request(message, code=code)


def _invalid_object(key: str, value: Any) -> SandboxError:
    return bad_request(
        f'Invalid object value {inspect_js(value)} for field "{key}"',
        code="INVALID_COMPOSITE_FIELD",
    )


def _strip_plus(code: str) -> str:
    return code[1:] if code.startswith("+") else code


# libphonenumber-js ``extractFormattedPhoneNumber``: the number runs from its first "+" or
# digit to its last digit (or "#"), up to a second number ("/ x...").
_NUMBER_START = re.compile(r"[+\uff0b0-9]")
_AFTER_NUMBER_END = re.compile(r"[^0-9#]+$")
_SECOND_NUMBER_START = re.compile(r"[\\/] *x")
_LETTER = re.compile(r"[A-Za-z]")


def _as_libphonenumber_js_reads(text: str) -> str:
    """The part of ``text`` libphonenumber-js parses. It has no vanity letters (Python's
    libphonenumber turns ``FLOWERS`` into digits; libphonenumber-js stops before them).

    Raises:
        NumberParseException: letters outside an extension make the text no number.
    """
    start = _NUMBER_START.search(text)
    if start is None:
        return text  # libphonenumber refuses it as well
    text = _AFTER_NUMBER_END.sub("", text[start.start() :])
    second = _SECOND_NUMBER_START.search(text)
    if second is not None:
        text = text[: second.start()]
    extension = phonenumbers.phonenumberutil._EXTN_PATTERN.search(text)
    if _LETTER.search(text[: extension.start()] if extension else text):
        raise phonenumbers.NumberParseException(
            phonenumbers.NumberParseException.NOT_A_NUMBER, text
        )
    return text


def _viable(text: str) -> bool:
    """libphonenumber-js ``isViablePhoneNumber`` on the text from its first digit to its
    last: two bare digits, or three digits or more."""
    core = re.search(r"[0-9](?:.*[0-9])?", text, re.S)
    return core is not None and (
        re.fullmatch(r"[0-9]{2}", core.group()) is not None
        or len(re.findall(r"[0-9]", core.group())) >= 3
    )


def _regions(calling_digits: str) -> tuple[str, ...]:
    """The countries of a calling code; libphonenumber-js ``getCountries()`` has none of
    the non-geographic codes (+800, +882...), so Twenty finds no country for them."""
    if not calling_digits.isdigit():
        return ()
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(calling_digits), ())
    return tuple(r for r in regions if r != "001")


def _check_codes(country: str | None, calling: str | None) -> None:
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        raise _error(f"Invalid country code {country}", "INVALID_PHONE_COUNTRY_CODE")
    if not calling:
        return
    digits = _strip_plus(calling)
    regions = _regions(digits)
    if not regions:
        raise _error(f"Invalid calling code {calling}", "INVALID_PHONE_CALLING_CODE")
    if country and country not in regions:
        raise _error(
            "Provided country code and calling code are conflicting",
            "CONFLICTING_PHONE_COUNTRY_CODE_AND_CALLING_CODE",
        )


def parse_phone(
    number: str, country: str | None, calling: str | None
) -> tuple[str, str | None, str | None]:
    """(national number, country code, calling code) for one phone input.

    Raises:
        SandboxError: the transformer's errors (invalid number, codes, conflicts).
    """
    _check_codes(country, calling)
    try:
        text = _as_libphonenumber_js_reads(number.strip())
        if text.startswith("+"):
            parsed = phonenumbers.parse(text, None)
        elif country:
            parsed = phonenumbers.parse(text, country)
        elif calling:
            if not _viable(text):
                raise phonenumbers.NumberParseException(
                    phonenumbers.NumberParseException.NOT_A_NUMBER, text
                )
            parsed = phonenumbers.parse(f"+{_strip_plus(calling)}{text}", None)
        else:
            # No "+", no country, no calling code: libphonenumber-js cannot tell the
            # country (INVALID_COUNTRY), so Twenty refuses the number. Its transform passes
            # no default of its own (transform-phones-value.util.ts).
            raise phonenumbers.NumberParseException(
                phonenumbers.NumberParseException.INVALID_COUNTRY_CODE, text
            )
    except phonenumbers.NumberParseException:
        raise _error(f"Provided phone number is invalid {number}", "INVALID_PHONE_NUMBER") from None
    national = phonenumbers.national_significant_number(parsed)
    if not 2 <= len(national) <= 17:
        raise _error(f"Provided phone number is invalid {number}", "INVALID_PHONE_NUMBER")
    inferred_country = phonenumbers.region_code_for_number(parsed)
    if inferred_country in (None, "ZZ", "001"):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(parsed.country_code or 0, ())
        inferred_country = country if country in regions else None
    if inferred_country and country and inferred_country != country:
        raise _error(
            "Provided and inferred country code are conflicting", "CONFLICTING_PHONE_COUNTRY_CODE"
        )
    inferred_calling = str(parsed.country_code)
    if calling and _strip_plus(calling) != inferred_calling:
        raise _error(
            "Provided and inferred calling code are conflicting", "CONFLICTING_PHONE_CALLING_CODE"
        )
    return national, country or inferred_country, calling or f"+{inferred_calling}"


def _opt_str(key: str, value: dict[str, Any], sub: str) -> str | None:
    raw = value.get(sub)
    if raw is None or isinstance(raw, str):
        return raw
    raise _invalid_object(key, value)


def transform_phones(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Transform a PHONES input (sub-field names already checked); only given keys returned."""
    result: dict[str, Any] = {}
    if any(sub in value for sub in _PRIMARY):
        number = _opt_str(key, value, "primaryPhoneNumber")
        country = _opt_str(key, value, "primaryPhoneCountryCode")
        calling = _opt_str(key, value, "primaryPhoneCallingCode")
        if number and number.strip():
            national, final_country, final_calling = parse_phone(number, country, calling)
            result["primaryPhoneNumber"] = national
            result["primaryPhoneCountryCode"] = final_country
            result["primaryPhoneCallingCode"] = final_calling
        else:
            _check_codes(country, calling)
            for sub in _PRIMARY:
                if sub in value:
                    result[sub] = value[sub]
            if "primaryPhoneNumber" in value:
                result["primaryPhoneNumber"] = None  # "" is stored as NULL
    if "additionalPhones" in value:
        raw = value["additionalPhones"]
        if raw is None:
            result["additionalPhones"] = None
        elif not isinstance(raw, list):
            raise _invalid_object(key, value)
        else:
            # lodash isEmpty: an empty list is stored as null
            result["additionalPhones"] = [_additional(key, value, item) for item in raw] or None
    return result


def _additional(key: str, value: dict[str, Any], item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) - _ITEM_KEYS:
        raise _invalid_object(key, value)
    number = _opt_str(key, item, "number")
    country = _opt_str(key, item, "countryCode")
    calling = _opt_str(key, item, "callingCode")
    if not number:
        # JSON.stringify drops the keys left undefined: [{}] is stored as [{}]
        # (transform-phones-value.util.ts, validateAndInferPhoneInput).
        _check_codes(country, calling)
        return {
            name: item[name] for name in ("number", "countryCode", "callingCode") if name in item
        }
    national, final_country, final_calling = parse_phone(number, country, calling)
    stored = {"number": national, "countryCode": final_country, "callingCode": final_calling}
    return {name: part for name, part in stored.items() if part is not None}
