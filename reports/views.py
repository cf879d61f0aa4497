"""The completion report pages: the dashboard (with its drill-down) and the downloads.

County reviewers and city admins see their region and below; a provider manager sees its own
provider's report only (the provider filter is forced). Everyone else gets 404, as does a
region, provider or centre outside the user's scope.
"""

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from django.conf import settings
from django.core.cache import caches
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe

from mch_link.models import Centre, Provider, Region
from mch_link.permissions import BUREAUS, MANAGERS, report_provider_forced, role_required
from mch_link.scoping import breadcrumbs, default_region, get_scoped_or_404, is_everything, membership_of
from mch_link.statements import Kept
from scheduling import periods

from . import freshness, tables
from . import render as renderers
from .forms import ReportFilterForm, period_choices
from .models import FiledReport
from .rows import (
    KIND_SHORT_LABELS,
    centre_obligations,
    completion_rows,
    default_as_of,
    period_label,
    settings_used,
)

REPORT_ROLES = (*BUREAUS, *MANAGERS)
OVERDUE_SHOWN = 200  # rows of the overdue list on the page; the downloads have them all
# The registry parts of the dashboard's reports (the registry on the day and its coverage), kept
# in each process under the registry version: a miss after a record or a confirmation (which
# leave the registry) reuses them. At most 32, and at most REPORT_REGISTRY_KEPT_FACTS facts
# (centres, providers, contracts and the coverage's lists) together: a part takes about 0.55 KB
# a fact (1.7 MB for a 1,000-centre province), so the default 60,000 is about 33 MB a process.
REGISTRY_PARTS = Kept(32, weigh=lambda kept: _facts(*kept[1]),
                      max_weight=settings.REPORT_REGISTRY_KEPT_FACTS)


def _facts(registry, cov):
    """The weight of a kept registry part: the rows it holds."""
    return (len(registry.centres) + len(registry.providers) + len(registry.contracts)
            + len(cov.missing_pairs) + len(cov.uncovered_centres) + len(cov.extra_contracts))


_registry_seen = [0]  # the highest registry version this process has read


def forget_registry_parts():
    """Nothing kept, no version seen (the tests: each one's rollback gives its versions back)."""
    REGISTRY_PARTS.clear()
    _registry_seen[0] = 0


@dataclass
class Params:
    form: ReportFilterForm
    period: str
    as_of: object  # datetime.date or None (the default day)
    region: Region | None
    provider: Provider | None
    provider_forced: bool
    centre: Centre | None
    fmt: str


def _params(request):
    """Read and scope the query string. 404 for a region, provider or centre outside the
    user's scope; invalid values fall back to the defaults (the form shows the errors)."""
    form = ReportFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    user = request.user
    m = membership_of(user)
    forced = report_provider_forced(user)
    provider_code = data.get("provider") or ""
    if forced:
        if provider_code and provider_code != m.provider.code:
            raise Http404
        provider = m.provider
    else:
        provider = get_scoped_or_404(user, Provider, code=provider_code) if provider_code else None
    region_code = data.get("region") or ""
    region = get_scoped_or_404(user, Region, code=region_code) if region_code else default_region(user)
    centre_code = data.get("centre") or ""
    centre = get_scoped_or_404(user, Centre, code=centre_code) if centre_code else None
    return Params(
        form=form, period=data.get("period") or periods.quarter_of(timezone.localdate()),
        as_of=data.get("as_of"), region=region, provider=provider, provider_forced=forced, centre=centre,
        fmt=data.get("format") or "",
    )


def _query(params, **changes):
    """The query string of the report with `changes` (None removes a key)."""
    values = {
        "period": params.period,
        "as_of": params.as_of.isoformat() if params.as_of else None,
        "region": params.region.code if params.region else None,
        "provider": params.provider.code if params.provider and not params.provider_forced else None,
    }
    values.update(changes)
    return "?" + urlencode({k: v for k, v in values.items() if v})


def _queries_with(params, key, codes):
    """[_query(params, **{key: code}) for code in codes] for a key that comes last in the query
    (provider, or centre, which _query does not hold): the rest encoded once, not once a row."""
    head = _query(params, **{key: None})
    sep = "&" if head != "?" else ""
    return [f"{head}{sep}{key}={quote_plus(code)}" if code else head for code in codes]


def _linked(groups, params, key):
    """[(group, the report's query narrowed to it by `key`, or None without a key)]."""
    if key is None:
        return [(g, None) for g in groups]
    return list(zip(groups, _queries_with(params, key, [g.code for g in groups]), strict=True))


def _page_ctx(request, params, today, region):
    """What the report's pages share: the filter form, the periods to choose from and the
    breadcrumbs down to `region`."""
    return {
        "params": params,
        "form": params.form,
        "period_label": period_label(params.period),
        "periods": period_choices(today, params.period),
        "crumbs": [(r, _query(params, region=r.code)) for r in breadcrumbs(request.user, region)],
        "as_of": params.as_of or default_as_of(params.period),
    }


def _scope_key(user):
    """What decides what `user` may see in a report: the role and organisation of its
    membership (scoping.scoped), or everything (a superuser)."""
    m = membership_of(user)
    return (is_everything(user), m and (m.role, m.region_id, m.provider_id, m.centre_id))


def _report_cache_key(version, params, user, today):
    """The cached report's key: everything its HTML depends on besides the data (`version`):
    the parameters as parsed (the default period and as_of follow `today`), the user's scope
    (which decides the rows and the breadcrumbs; a forced provider is params.provider), the
    settings the statuses use and the language. Hashed: a short key for any cache backend."""
    parts = (
        version, today.isoformat(), params.period, params.as_of and params.as_of.isoformat(),
        params.region and params.region.pk, params.provider and params.provider.pk, params.provider_forced,
        _scope_key(user), sorted(settings_used().items()), translation.get_language(), OVERDUE_SHOWN,
    )
    return "reports:dashboard:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _rows_html(ctx, report):
    """The report's repeated rows as HTML (reports.tables): a template loop a row cost half of a
    miss (docs/performance.md)."""
    return {
        "kind_chart": tables.kind_chart(ctx["kind_rows"]),
        "kind_table": tables.kind_table(ctx["kind_rows"]),
        "kind_headers": tables.kind_headers(ctx["kind_rows"]),
        "region_chart": tables.region_chart(ctx["region_rows"]),
        "region_table": tables.region_table(ctx["region_rows"]),
        "centre_table": tables.centre_table(ctx["centre_rows"]),
        "provider_table": tables.provider_table(ctx["provider_rows"]),
        "trend_chart": tables.trend_chart(report.trend),
        "tier_table": tables.tier_table(report.by_tier),
        "missing_list": tables.missing_list(report.missing_pairs),
        "uncovered_list": tables.uncovered_list(report.uncovered_centres),
        "overdue_table": tables.overdue_table(ctx["overdue_shown"]),
        "definitions": tables.definitions(ctx["definitions"]),
    }


def _keep_registry(request):
    """Where completion_rows may keep the report's registry part: REGISTRY_PARTS under the
    registry version read with the data version (before any data), the settings and the
    language; the rest of its key (the day, region and provider) completion_rows gives. The
    part reads only the registry tables (freshness.REGISTRY), whose committed writes raise
    that version: what is kept under it is as fresh as what a miss would read (docs/reports.md,
    "The dashboard's cache")."""
    version = request.report_registry_version
    if version is None:
        return None
    if version > _registry_seen[0]:  # versions only rise: the older ones' parts are dead
        _registry_seen[0] = version
        REGISTRY_PARTS.drop(lambda key: key[0] < version)
    context = (version, tuple(sorted(settings_used().items())), translation.get_language())
    max_age = settings.REPORT_CACHE_SECONDS

    def keep(key, build):
        # no older than the cached reports: a lost bump (bump() logs it) or a write the
        # version cannot see is then bounded by the same timeout (freshness.bump)
        key = (*context, *key)
        found = REGISTRY_PARTS.get(key)
        if found is not None and time.time() - found[0] < max_age:
            return found[1]
        built = time.time(), build()
        REGISTRY_PARTS.keep(key, built)
        return built[1]

    return keep


def _report_html(request, params, today):
    """The dashboard's report part (everything but the page's chrome) rendered: from the cache
    under the data version, else built and cached. Returns (html, the Report or None on a hit)."""
    version = request.report_data_version
    seconds = settings.REPORT_CACHE_SECONDS
    key = None
    if version is not None and seconds and not params.form.errors:  # errors: shown, not cached
        key = _report_cache_key(version, params, request.user, today)
        html = caches["reports"].get(key)
        if html is not None:
            request.report_cache = "hit"
            return html, None
    request.report_cache = "miss" if key else "off"
    report = completion_rows(region=params.region, period=params.period, provider=params.provider,
                             as_of=params.as_of, user=request.user, overdue_limit=OVERDUE_SHOWN,
                             keep_registry=_keep_registry(request) if key else None)
    downloads = [(label, reverse("reports:download") + _query(params, format=fmt))
                 for fmt, label in (("pdf", "PDF"), ("xlsx", "Excel"), ("csv", "CSV"), ("json", "JSON"))]
    ctx = {
        **_page_ctx(request, params, today, params.region),
        "report": report,
        "kind_rows": [(kind, renderers.kind_label(kind), KIND_SHORT_LABELS[kind], report.completion[kind])
                      for kind in report.kinds],
        "region_rows": [(g, _query(params, region=g.code)) for g in report.by_region],
        "centre_rows": _linked(report.by_centre, params, "centre"),
        "provider_rows": _linked(report.by_provider, params, None if params.provider_forced else "provider"),
        "clear_provider": None if params.provider_forced or not params.provider else _query(params, provider=None),
        "overdue_shown": report.overdue,  # its first OVERDUE_SHOWN rows, read as such
        "downloads": downloads,
        "definitions": renderers.definitions(report),
        "trend_max": max([t.owed for t in report.trend] or [0]),
    }
    ctx["html"] = _rows_html(ctx, report)
    # Without the request: no context processor adds the user, the CSRF token or the CSP nonce
    # to what is cached (the report part has no form that posts and no inline script).
    html = render_to_string("reports/_dashboard_report.html", ctx)
    if key is not None and len(html.encode()) <= settings.REPORT_CACHE_MAX_BYTES:  # long lists: not kept
        caches["reports"].set(key, html, seconds)
    return html, report


@role_required(*REPORT_ROLES)
def dashboard(request):
    # The data version first, before any data is read (reports.freshness): a report cached
    # under it was built from data at least as new as the version says.
    # (Not for a centre's drill-down: not cached.)
    cached = settings.REPORT_CACHE_SECONDS and not request.GET.get("centre")
    versions = freshness.versions() if cached else None
    request.report_data_version, request.report_registry_version = versions or (None, None)
    params = _params(request)
    today = timezone.localdate()
    if params.centre is not None:
        ctx = _page_ctx(request, params, today, params.centre.township)
        rows = centre_obligations(centre=params.centre, period=params.period, provider=params.provider,
                                  as_of=params.as_of, user=request.user)
        ctx.update({"centre": params.centre, "centre_rows": rows,
                    "back": _query(params, region=params.centre.township.code)})
        return render(request, "reports/centre.html", ctx)

    html, report = _report_html(request, params, today)
    ctx = {"report_html": mark_safe(html)}  # rendered by our template, which escapes
    if report is not None:
        ctx["report"] = report  # on a miss only: what tests and the debug toolbar read
    response = render(request, "reports/dashboard.html", ctx)
    response["X-Report-Cache"] = request.report_cache  # hit, miss or off: what benchmarks/load.py counts
    return response


@role_required(*BUREAUS)
def filed(request, pk):
    """A filed report (reports.filing), byte for byte as it was filed; 404 outside the user's
    region."""
    entry = FiledReport.objects.filter(pk=pk).first()
    if entry is None:
        raise Http404
    get_scoped_or_404(request.user, Region, pk=entry.county_id)
    with entry.file.open("rb") as fh:
        data = fh.read()
    response = HttpResponse(data, content_type=renderers.CONTENT_TYPES[entry.fmt])
    response["Content-Disposition"] = content_disposition_header(
        True, f"completion-{entry.county.code}-{entry.period}-v{entry.version}.{entry.fmt}")
    return response


@role_required(*REPORT_ROLES)
def download(request):
    params = _params(request)
    if params.fmt not in renderers.FORMATS:
        raise Http404
    report = completion_rows(region=params.region, period=params.period, provider=params.provider,
                             as_of=params.as_of, user=request.user)
    try:
        data = renderers.render(report, params.fmt)
    except renderers.FontMissingError as exc:
        return HttpResponse(str(exc), status=500, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=renderers.CONTENT_TYPES[params.fmt])
    response["Content-Disposition"] = content_disposition_header(
        True, renderers.filename(report, params.fmt))
    return response

