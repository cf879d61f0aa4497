"""The dashboard's repeated rows (charts, tables, lists) as HTML, built in Python.

The report part of the dashboard has a few hundred rows at a city (109 providers, up to 200
overdue obligations, the missing pairs and the uncovered centres); written as template loops
they took about 2,300 variable nodes, filters and `{% url %}` calls a render, half of a cache
miss's server time (docs/performance.md, "The dashboard right after a write"). Here each row
is one f-string. Everything but the rows stays in templates/reports/_dashboard_report.html.

The output is the same, byte for byte, as the loops it replaces: every text is escaped as the
template's autoescape does (django.utils.html.escape: & < > " '), integers are printed as
`{{ n }}` prints them (no thousand separator: settings.USE_THOUSAND_SEPARATOR is off), rates
through the `percent` filter's function, a bar's width as `floatformat:0` and `widthratio`
gave it.
"""

from html import escape as _escape

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from mch_link.rates import rate_text


def esc(value):
    """`{{ value }}` under autoescape: str() then & < > " ' escaped (what Django's escape does)."""
    return _escape(str(value))


def _width(rate):
    """`{% widthratio rate 1 100 %}`: the rate in whole percents (round half to even), "" for None."""
    if rate is None:
        return ""
    return str(round((float(rate) / 1.0) * 100))


def _segments(c):
    """A stacked bar's spans (Completion.segments; an empty share has none)."""
    return "".join(f'<span class="{key} w-{floatformat(pct, 0)}" title="{esc(label)} {n}"></span>'
                   for key, label, n, pct in c.segments() if n)


def kind_chart(kind_rows):
    parts = []
    for _kind, label, short, c in kind_rows:
        rate = rate_text(c.rate)
        label = esc(label)
        parts.append(f'\n  <div class="label" title="{label}">{esc(short)}</div>\n'
                     f'  <div class="bar" role="img" aria-label="{label} {rate}">{_segments(c)}</div>\n'
                     f'  <div class="value">{rate}</div>')
    return mark_safe("".join(parts))


def _cells(c, names):
    return "".join(f'<td class="num">{getattr(c, name)}</td>' for name in names)


KIND_CELLS = ("owed", "done_on_time", "done_late", "missed", "pending")
KIND_CELLS_AFTER = ("confirmed", "disputed", "cancelled", "waived")


def kind_table(kind_rows):
    return mark_safe("".join(
        f'<tr><td class="kind">{esc(label)}</td>{_cells(c, KIND_CELLS)}<td class="num">{rate_text(c.rate)}</td>'
        f'{_cells(c, KIND_CELLS_AFTER)}</tr>'
        for _kind, label, _short, c in kind_rows))


def region_chart(region_rows):
    parts = []
    for g, link in region_rows:
        c = g.total
        rate = rate_text(c.rate)
        name = esc(g.name)
        parts.append(f'\n  <div class="label"><a href="{esc(link)}">{name}</a></div>\n'
                     f'  <div class="bar" role="img" aria-label="{name} {rate}">{_segments(c)}</div>\n'
                     f'  <div class="value">{rate}</div>')
    return mark_safe("".join(parts))


def kind_headers(kind_rows):
    return mark_safe("".join(f'<th class="num" title="{esc(label)}">{esc(short)}</th>'
                             for _kind, label, short, _c in kind_rows))


def region_table(region_rows):
    parts = []
    for g, link in region_rows:
        c = g.total
        per_kind = "".join(f'<td class="num">{rate_text(kc.rate)}</td>' for kc in g.completion.values())
        parts.append(f'<tr><td><a href="{esc(link)}">{esc(g.name)}</a></td><td class="num">{c.owed}</td>'
                     f'<td class="num">{c.done}</td><td class="num">{c.missed}</td><td class="num">{c.pending}</td>'
                     f'<td class="num">{rate_text(c.rate)}</td>{per_kind}</tr>')
    return mark_safe("".join(parts))


def _rate_cell(c):
    rate = rate_text(c.rate)
    return f'\n<td><div class="bar" title="{rate}"><span class="rate w-{_width(c.rate)}"></span></div> {rate}</td></tr>'


def centre_table(centre_rows):
    parts = []
    for g, link in centre_rows:
        c = g.total
        parts.append(f'<tr><td><a href="{esc(link)}">{esc(g.name)}</a></td><td class="num">{c.owed}</td>'
                     f'<td class="num">{c.done}</td><td class="num">{c.missed}</td><td class="num">{c.pending}</td>'
                     f'{_rate_cell(c)}')
    return mark_safe("".join(parts))


def provider_table(provider_rows):
    parts = []
    for g, link in provider_rows:
        c = g.total
        name = esc(g.name)
        if link:
            name = f'<a href="{esc(link)}">{name}</a>'
        parts.append(f'<tr><td>{name}</td>'
                     f'<td class="num">{c.owed}</td><td class="num">{c.done_on_time}</td>'
                     f'<td class="num">{c.done_late}</td><td class="num">{c.missed}</td>'
                     f'<td class="num">{c.pending}</td>{_rate_cell(c)}')
    if not parts:
        return mark_safe(f'<tr><td colspan="7" class="muted">{esc(gettext("无"))}</td></tr>')
    return mark_safe("".join(parts))


def trend_chart(trend):
    parts = []
    for t in trend:
        rate = rate_text(t.rate)
        parts.append(f'\n  <div class="label" title="{esc(t.label)}">{esc(t.period)}</div>\n'
                     f'  <div class="bar" role="img" aria-label="{esc(t.label)} {rate}">'
                     f'<span class="rate w-{_width(t.rate)}"></span></div>\n'
                     f'  <div class="value">{t.done} / {t.owed} · {rate}</div>')
    return mark_safe("".join(parts))


def tier_table(by_tier):
    return mark_safe("".join(
        f'<tr><td>{esc(row["label"])}</td><td class="num">{row["required"]}</td>'
        f'<td class="num">{row["covered"]}</td><td class="num">{row["missing"]}</td></tr>'
        for row in by_tier.values()))


def missing_list(missing_pairs):
    return mark_safe("".join(
        f'<li>{esc(m["provider_name"])} — {esc(m["centre_name"])} <small class="muted">{esc(m["centre"])}</small></li>'
        for m in missing_pairs))


def uncovered_list(centres):
    if not centres:
        return mark_safe(f'<li class="muted">{esc(gettext("无"))}</li>')
    return mark_safe("".join(f'<li>{esc(c.name)} <small class="muted">{esc(c.code)}</small></li>' for c in centres))


_PK = 918_273_645_546_372_819  # a number no other part of the URL holds


def overdue_table(rows):
    """The overdue list's rows; each links its obligation's session page (one reverse() for all)."""
    if not rows:
        return mark_safe(f'<tr><td colspan="6" class="muted">{esc(gettext("无"))}</td></tr>')
    head, tail = esc(reverse("scheduling:obligation_session", args=[_PK])).split(str(_PK))
    return mark_safe("".join(
        f'<tr><td>{esc(o.period)}</td><td><a href="{head}{o.pk}{tail}">{esc(o.kind_label)}</a></td>'
        f'<td>{esc(o.provider_name)}</td><td>{esc(o.centre_name)}</td>'
        f'<td>{o.planned_on.isoformat() if o.planned_on else "—"}</td>'
        f'<td><span class="badge bad">{esc(o.status_label)}</span></td></tr>'
        for o in rows))


def definitions(pairs):
    return mark_safe("".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in pairs))
