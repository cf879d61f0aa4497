"""Small filters for the report pages."""

from django import template

register = template.Library()


@register.filter
def percent(value, digits=1):
    """0.8333 -> "83.3%"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}%}"


@register.filter
def bar_width(value):
    """A fraction (0..1, or None) as a CSS width in percent: "83.3%"."""
    return f"{100 * (value or 0):.1f}%"
