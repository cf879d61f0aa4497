"""Small filters for the report pages."""

from django import template

from mch_link.rates import rate_text

register = template.Library()


@register.filter
def percent(value):
    """A rate as shown everywhere (mch_link.rates, one rounding rule): Rate(5, 6) -> "83.3%";
    None -> "—"."""
    return rate_text(value)

