"""Twenty's phone transform on one value: what it stores, or the message it refuses with.

Twenty parses with libphonenumber-js ``parsePhoneNumberWithError``
(``transform-phones-value.util.ts``), which refuses only what cannot be a number at all.
"""

from __future__ import annotations

import re


# --------------------------------------------------------------------------- Twenty's transform
class _PhoneError(Exception):
    """Twenty's phone transform refused a value: (sub-field at fault, rule, message)."""

    def __init__(self, sub: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.sub, self.rule, self.message = sub, rule, message


def _strip_plus(code: str) -> str:
    return code[1:] if code.startswith("+") else code


def _check_codes(country: str | None, calling: str | None) -> int | None:
    """Twenty's country/calling code checks; the calling code's number when one is given."""
    import phonenumbers

    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        raise _PhoneError(
            "primaryPhoneCountryCode", "invalid_country_code", f"Invalid country code {country}"
        )
    if not calling:
        return None
    digits = _strip_plus(calling)
    code = int(digits) if re.fullmatch(r"[0-9]{1,6}", digits) else 0
    # libphonenumber-js knows no country of the non-geographic codes (+800, +882...)
    regions = [r for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()) if r != "001"]
    if not regions:
        raise _PhoneError(
            "primaryPhoneCallingCode", "invalid_calling_code", f"Invalid calling code {calling}"
        )
    if country and country not in regions:
        raise _PhoneError(
            "primaryPhoneCountryCode",
            "conflicting_phone_codes",
            "Provided country code and calling code are conflicting",
        )
    return code


def _js_number_text(text: str) -> str | None:
    """The part of ``text`` libphonenumber-js reads as the number (Twenty parses with it):
    from the first ``+`` or digit to the last digit, before a second number (``/ x``).
    None when letters stand outside an extension: libphonenumber-js has no vanity numbers
    (Python's libphonenumber would turn ``555-CALL`` into digits)."""
    import phonenumbers

    start = re.search(r"[+\uff0b0-9]", text)
    if start is None:
        return text  # not a number for either library
    text = re.sub(r"[^0-9#]+$", "", text[start.start() :])
    text = re.split(r"[\\/] *x", text, maxsplit=1)[0]
    extension = phonenumbers.phonenumberutil._EXTN_PATTERN.search(text)
    if re.search("[A-Za-z]", text[: extension.start()] if extension else text):
        return None
    return text


def _twenty_phone(
    number: str, country: str | None, calling: str | None
) -> tuple[str, str | None, str]:
    """What Twenty stores for one phone input: (national number, country, calling code).

    Mirrors Twenty's phone transform (libphonenumber): a number with neither ``+``, a
    country nor a calling code is refused, since Twenty passes no default region.

    Raises:
        _PhoneError: Twenty's refusal, with its message.
    """
    import phonenumbers

    _check_codes(country, calling)
    invalid = _PhoneError(
        "primaryPhoneNumber", "invalid_phone", f"Provided phone number is invalid {number}"
    )
    text = _js_number_text(number.strip())
    if text is None:
        raise invalid
    try:
        if text.startswith("+"):
            parsed = phonenumbers.parse(text, None)
        elif country:
            parsed = phonenumbers.parse(text, country)
        elif calling:
            # libphonenumber-js reads the text from its first digit to its last: two bare
            # digits, or three or more
            core = re.sub(r"^[^0-9]+|[^0-9]+$", "", text)
            if sum(ch in "0123456789" for ch in core) < 3 and not re.fullmatch("[0-9]{2}", core):
                raise invalid
            parsed = phonenumbers.parse(f"+{_strip_plus(calling)}{text}", None)
        else:
            raise invalid  # libphonenumber-js cannot tell the country: INVALID_COUNTRY
    except phonenumbers.NumberParseException:
        raise invalid from None
    national = phonenumbers.national_significant_number(parsed)
    if not 2 <= len(national) <= 17:
        raise invalid
    inferred = phonenumbers.region_code_for_number(parsed)
    if inferred in (None, "ZZ", "001"):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(parsed.country_code or 0, ())
        inferred = country if country in regions else None
    if inferred and country and inferred != country:
        raise _PhoneError(
            "primaryPhoneNumber",
            "conflicting_phone_codes",
            "Provided and inferred country code are conflicting",
        )
    if calling and _strip_plus(calling) != str(parsed.country_code):
        raise _PhoneError(
            "primaryPhoneNumber",
            "conflicting_phone_codes",
            "Provided and inferred calling code are conflicting",
        )
    return national, country or inferred, calling or f"+{parsed.country_code}"


def twenty_phone_verdict(
    number: str, country: str | None, calling: str | None
) -> tuple[str, str | None, str] | str:
    """What Twenty stores for one phone input, or its refusal message.

    Twenty's transform (transform-phones-value.util.ts) refuses only what libphonenumber-js
    ``parsePhoneNumberWithError`` throws on (NOT_A_NUMBER, INVALID_COUNTRY, TOO_SHORT,
    TOO_LONG: a national number of 2 to 17 digits is enough, valid or not) and its own
    country / calling code checks.
    """
    try:
        return _twenty_phone(number, country, calling)
    except _PhoneError as exc:
        return exc.message
