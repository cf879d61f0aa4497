"""The one rounding rule for every rate shown on a page or in an export.

A rate is the exact fraction part / whole, rounded once: half up, to one decimal of a percent,
never to 100% unless it is exactly 100% (99.95% shows as 99.9%, not as the target). Nothing
else rounds a shown rate: the pages (the `percent` filter), the CSV, the XLSX and the PDF all
call `percent_tenths` through these functions.

The JSON keeps its documented fraction (`Rate`: round(part / whole, 4)), which carries its
exact part and whole so that what is shown from it is rounded from the exact fraction, once.
"""

from __future__ import annotations


def percent_tenths(part: int, whole: int) -> int | None:
    """part / whole in tenths of a percent, rounded half up on the exact fraction; 1000 (100%)
    only when part == whole. None when whole is 0 (nothing to rate)."""
    if not whole:
        return None
    tenths = (2000 * part + whole) // (2 * whole)  # floor(1000 * part / whole + 1/2), exact
    if tenths >= 1000 and part != whole:
        return 999
    return tenths


def percent_text(part: int, whole: int) -> str:
    """"92.4%"; "—" when whole is 0."""
    tenths = percent_tenths(part, whole)
    return "—" if tenths is None else f"{tenths // 10}.{tenths % 10}%"


def percent_fraction(part: int, whole: int) -> float | None:
    """The shown rate as a fraction (0.924 for 92.4%): for an XLSX cell formatted "0.0%"."""
    tenths = percent_tenths(part, whole)
    return None if tenths is None else tenths / 1000


class Rate(float):
    """A documented 4-decimal fraction that remembers its exact part and whole."""

    part: int
    whole: int

    def __new__(cls, part, whole):
        value = super().__new__(cls, round(part / whole, 4))
        value.part, value.whole = part, whole
        return value

    def __reduce__(self):
        return (Rate, (self.part, self.whole))

    @property
    def text(self):
        return percent_text(self.part, self.whole)

    @property
    def shown(self):
        return percent_fraction(self.part, self.whole)


def rate(part: int, whole: int) -> Rate | None:
    """The Rate part / whole, None when whole is 0."""
    return Rate(part, whole) if whole else None


def rate_text(value) -> str:
    """A Rate (or None) as shown: "92.4%" / "—". A plain fraction (not a Rate) is taken as
    exact: rounded once by the same rule, in ten-thousandths."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Rate):
        return value.text
    return percent_text(round(float(value) * 10000), 10000)


def rate_shown(value) -> float | None:
    """A Rate (or None) as the fraction shown (0.924), for an XLSX cell formatted "0.0%"."""
    if value is None:
        return None
    if isinstance(value, Rate):
        return value.shown
    return percent_fraction(round(float(value) * 10000), 10000)
