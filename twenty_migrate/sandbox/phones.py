"""PHONES transform: parse with libphonenumber, infer country and calling code.

Mirrors Twenty's ``transformPhonesValue`` (record-transformer utils): ``"+14155552671"``
becomes number ``"4155552671"``, calling code ``"+1"``, country ``"US"``; conflicting
inputs are refused with the transformer's messages.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from .errors import SandboxError, bad_request, inspect_js

# [inferred] calling code used to parse a number given without any country or calling code
# (libphonenumber-js ``defaultCallingCode`` in Twenty's transform).
DEFAULT_CALLING_CODE = "1"
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


def _check_codes(country: str | None, calling: str | None) -> None:
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        raise _error(f"Invalid country code {country}", "INVALID_PHONE_COUNTRY_CODE")
    if not calling:
        return
    digits = _strip_plus(calling)
    regions = (
        phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits)) if digits.isdigit() else None
    )
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
    text = number.strip()
    try:
        if text.startswith("+"):
            parsed = phonenumbers.parse(text, None)
        elif country:
            parsed = phonenumbers.parse(text, country)
        else:
            code = _strip_plus(calling) if calling else DEFAULT_CALLING_CODE
            parsed = phonenumbers.parse(f"+{code}{text}", None)
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
