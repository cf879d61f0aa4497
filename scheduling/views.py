"""Provider managers' plan page and everyone's notifications."""


from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mch_link import params
from mch_link.permissions import MANAGERS, role_required
from mch_link.scoping import membership_of

from . import periods
from .models import Notification, Session
from .services import schedule_generate

WEEKDAYS = "一二三四五六日"


def _quarter_param(request):
    return params.period(request.GET.get("quarter") or request.POST.get("quarter"),
                         default=periods.quarter_of(timezone.localdate()), quarter=True)


def _shift_quarter(code, step):
    year, q = periods.parse_period(code)
    index = year * 4 + (q - 1) + step
    return periods.quarter_code(index // 4, index % 4 + 1)


def _own_provider(request):
    """The manager's own provider; 404 for a superuser, who has none."""
    m = membership_of(request.user)
    if m is None or m.provider is None:
        raise Http404
    return m.provider


def _plan_context(request, quarter, report=None):
    provider = _own_provider(request)
    first, last = periods.period_bounds(quarter)
    sessions = list(
        Session.objects.filter(provider=provider, date__range=(first, last)).exclude(status=Session.Status.CANCELLED)
        .select_related("doctor").prefetch_related("obligations__contract__centre").order_by("date", "start")
    )
    capacity = provider.daily_capacity
    days = {}
    for s in sessions:
        s.centre_names = "、".join(sorted({o.contract.centre.name for o in s.obligations.all()}))
        days.setdefault(s.date, []).append(s)
    rows = [
        {"day": day, "weekday": WEEKDAYS[day.weekday()], "sessions": items, "load": len(items),
         "over": len(items) > capacity}
        for day, items in sorted(days.items())
    ]
    doctors = {}
    for s in sessions:
        name = s.doctor.get_full_name() or s.doctor.username if s.doctor else f"医生{s.doctor_slot + 1}"
        doctors[name] = doctors.get(name, 0) + 1
    return {
        "provider": provider, "quarter": quarter, "rows": rows, "capacity": capacity,
        "total": len(sessions), "estimated": any(s.estimated for s in sessions),
        "doctors": sorted(doctors.items()), "report": report,
        "previous": _shift_quarter(quarter, -1), "next": _shift_quarter(quarter, 1),
    }


@role_required(*MANAGERS)
def provider_plan(request):
    quarter = _quarter_param(request)
    return render(request, "scheduling/provider_plan.html", _plan_context(request, quarter))


@require_POST
@role_required(*MANAGERS)
def provider_regenerate(request):
    quarter = _quarter_param(request)
    provider = _own_provider(request)
    year, _q = periods.parse_period(quarter)
    report = schedule_generate(year=year, today=timezone.localdate(), provider=provider, user=request.user)
    return render(request, "scheduling/provider_plan.html", _plan_context(request, quarter, report))


@login_required
def notifications(request):
    items = list(Notification.objects.filter(user=request.user)[:100])
    unread = [n.pk for n in items if n.read_at is None]
    if unread:
        Notification.objects.filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "scheduling/notifications.html", {"items": items, "unread": set(unread)})


