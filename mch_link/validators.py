"""Validators and parsers that turn user text into domain values.

Each raises django.core.exceptions.ValidationError with a message a clerk can act on.
"""

import datetime
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

# GB 32100-2015: the unified social credit code uses these 31 characters (no I, O, S, V, Z).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17):
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(value):
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(
            _("统一社会信用代码应为18位，实际为%(n)d位"), code="length", params={"n": len(code)}
        )
    bad = sorted({ch for ch in code if ch not in USCC_CHARSET})
    if bad:
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符：%(chars)s"),
            code="charset",
            params={"chars": "".join(bad)},
        )
    if not code[2:8].isdigit():
        raise ValidationError(_("统一社会信用代码第3至8位应为行政区划代码（数字）"), code="region")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("统一社会信用代码校验位错误：应为%(expected)s，实际为%(actual)s"),
            code="check_digit",
            params={"expected": expected, "actual": code[17]},
        )


_EXT_RE = re.compile(r"\s*(?:转|分机|ext\.?|x|#|-)\s*(\d{1,6})\s*$", re.IGNORECASE)


def _parse_digits(text, area_code):
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("0086"):
        digits = "+" + digits[2:]
    elif len(digits) in (7, 8) and not digits.startswith("0"):
        digits = area_code + digits  # a local landline: add the default area code
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def parse_cn_phone(text, area_code=None):
    """Parse a Chinese phone number; return (PhoneNumber or None, extension string).

    Accepts mobile numbers (13800138000, +86 138 0013 8000), landlines with an area code
    (0575-88001234, 057588001234) and 8-digit local numbers, which take `area_code`
    (settings.DEFAULT_AREA_CODE, 0575 for Shaoxing). An extension after 转/分机/ext/-
    is returned separately. Empty text gives (None, "").
    """
    raw = (text or "").strip()
    if not raw:
        return None, ""
    area_code = area_code or settings.DEFAULT_AREA_CODE
    # A trailing "转801" / "-801" is an extension only when what precedes it is a complete
    # number on its own ("0575-8800-1234" is one number written with dashes).
    match = _EXT_RE.search(raw)
    number, ext = None, ""
    if match:
        number = _parse_digits(raw[: match.start()], area_code)
        ext = match.group(1) if number is not None else ""
    if number is None:
        number = _parse_digits(raw, area_code)
    if number is None:
        raise ValidationError(
            _("“%(value)s”不是有效的中国电话号码"), code="phone", params={"value": raw}
        )
    if number.country_code != 86:
        raise ValidationError(
            _("“%(value)s”不是中国大陆电话号码"), code="phone_country", params={"value": raw}
        )
    validate_cn_number(number, shown=raw)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneNumber.from_string(e164), ext


# Shaoxing (0575) local numbers are 8 digits starting 2-9; mobile numbers 1[3-9] + 9 digits.
# phonenumbers alone accepts 0575-1234 and 0575-12345678.
_SHAOXING_LOCAL = re.compile(r"575[2-9]\d{7}")
_MOBILE = re.compile(r"1[3-9]\d{9}")


def validate_cn_number(value, shown=None):
    """The rules phonenumbers does not know: a 0575 number is 0575 + [2-9] + 7 digits, a mobile
    number 1[3-9] + 9 digits. `value` is a phonenumbers/PhoneNumber object; the model fields
    and parse_cn_phone both use this (one rule, one home)."""
    if value is None or getattr(value, "country_code", None) != 86 or not value.national_number:
        return
    national = str(value.national_number)
    if national.startswith("575") and not _SHAOXING_LOCAL.fullmatch(national):
        raise ValidationError(_("“%(value)s”不是有效的绍兴电话号码（0575 加以 2–9 开头的8位号码）"),
                              code="phone_local", params={"value": shown or f"0{national}"})
    if national.startswith("1") and len(national) == 11 and not _MOBILE.fullmatch(national):
        raise ValidationError(_("“%(value)s”不是有效的手机号码（1 加 3–9，共11位）"),
                              code="phone_mobile", params={"value": shown or national})


EARLIEST_FILING = datetime.date(2000, 1, 1)


def validate_filing_date(value):
    """A filing (or closing) date: not before 2000, not more than a year after today."""
    if value is None:
        return
    today = timezone.localdate()
    try:
        latest = today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + 1, day=28)
    if value < EARLIEST_FILING:
        raise ValidationError(_("日期%(value)s过早：不能早于2000年1月1日"), code="date_too_early",
                              params={"value": value})
    if value > latest:
        raise ValidationError(_("日期%(value)s过晚：不能晚于一年后（%(latest)s）"), code="date_too_late",
                              params={"value": value, "latest": latest})
