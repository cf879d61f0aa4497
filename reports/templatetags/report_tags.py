"""Small filters for the report pages."""

from django import template

from mch_link.rates import rate_text

register = template.Library()


@register.filter
def percent(value):
    """A rate as shown everywhere (mch_link.rates, one rounding rule): Rate(5, 6) -> "83.3%";
    None -> "—"."""
    return rate_text(value)


@register.filter
def bar_width(value):
    """A fraction (0..1, or None) as a CSS width in percent: "83.3%"."""
    return f"{100 * (value or 0):.1f}%"
