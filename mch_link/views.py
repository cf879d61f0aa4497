from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Centre, CentreGrade, Contract, Provider, Region, Role
from .scoping import get_scoped_or_404, is_everything, membership_of, scoped


def _actions_for(user):
    """(label, url) pairs of what this user may do, shown on the home page."""
    m = membership_of(user)
    role = Role.CITY_ADMIN if is_everything(user) else (m.role if m else None)
    actions = []
    if role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        actions.append((_("签约覆盖情况"), reverse("mch_link:coverage")))
    if role in (Role.DOCTOR, Role.PROVIDER_MANAGER):
        actions.append((_("我的工作"), reverse("scheduling:agenda")))
    if role == Role.CENTRE_STAFF:
        actions.append((_("服务记录确认"), reverse("scheduling:centre_records")))
    if role == Role.COUNTY_REVIEWER:
        actions.append((_("季度审核"), reverse("scheduling:quarters")))
    if role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER, Role.PROVIDER_MANAGER):
        actions.append((_("完成情况报表"), reverse("reports:dashboard")))
    if role == Role.CENTRE_STAFF:
        actions.append((_("服务日历"), reverse("calendar:centre_month")))
    if role == Role.DOCTOR:
        actions.append((_("我的本周服务"), reverse("calendar:doctor_week")))
    if role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER, Role.PROVIDER_MANAGER, Role.DOCTOR):
        actions.append((_("机构服务日历"), reverse("calendar:provider_month")))
    if role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER, Role.PROVIDER_MANAGER):
        actions.append((_("托育机构服务日历"), reverse("calendar:centre_month")))
    if role is not None:
        actions.append((_("签约协议"), reverse("mch_link:contract_list")))
    actions.append((_("托育机构"), reverse("mch_link:centre_list")))
    actions.append((_("通知"), reverse("scheduling:notifications")))
    actions.append((_("医疗卫生机构"), reverse("mch_link:provider_list")))
    if role == Role.PROVIDER_MANAGER:
        actions.append((_("服务排期"), reverse("scheduling:provider_plan")))
    if role == Role.CITY_ADMIN:
        actions.append((_("导入登记数据"), reverse("mch_link:import_registry")))
        actions.append((_("工作日历（节假日）"), reverse("scheduling:workdays")))
        if user.is_staff:
            actions.append((_("后台管理"), reverse("admin:index")))
    return actions


@login_required
def home(request):
    m = membership_of(request.user)
    today = timezone.localdate()
    ctx = {
        "organisation": m.organisation if m else None,
        "actions": _actions_for(request.user),
        "centre_count": scoped(request.user, Centre).open_on(today).count(),
        "provider_count": scoped(request.user, Provider).count(),
        "contract_count": scoped(request.user, Contract).in_force(today).count(),
        "today": today,
    }
    return render(request, "mch_link/home.html", ctx)


@login_required
def centre_list(request):
    qs = scoped(request.user, Centre).select_related("township__parent", "ownership")
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(code__icontains=query))
    region_code = request.GET.get("region", "")
    if region_code:
        region = get_scoped_or_404(request.user, Region, code=region_code)
        qs = qs.in_region(region)
    page = Paginator(qs.order_by("township__code", "name"), 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    grades = {
        g.centre_id: g.grade
        for g in CentreGrade.objects.held_on(today)
        .filter(centre__in=[c.pk for c in page.object_list]).select_related("grade")
        .order_by("awarded_on")
    }
    for centre in page.object_list:
        centre.current_grade = grades.get(centre.pk)
    ctx = {"page": page, "q": query, "region_code": region_code}
    return render(request, "mch_link/centre_list.html", ctx)


@login_required
def centre_detail(request, code):
    centre = get_scoped_or_404(request.user, Centre, code=code)
    ctx = {
        "centre": centre,
        "grades": centre.grades.select_related("grade").order_by("-awarded_on"),
        "contracts": scoped(request.user, Contract).filter(centre=centre).select_related("provider"),
        "today": timezone.localdate(),
    }
    return render(request, "mch_link/centre_detail.html", ctx)


@login_required
def provider_list(request):
    qs = scoped(request.user, Provider).select_related("region__parent")
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(code__icontains=query))
    page = Paginator(qs.order_by("code"), 50).get_page(request.GET.get("page"))
    return render(request, "mch_link/provider_list.html", {"page": page, "q": query})


@login_required
def provider_detail(request, code):
    provider = get_scoped_or_404(request.user, Provider, code=code)
    ctx = {
        "provider": provider,
        "contracts": scoped(request.user, Contract).filter(provider=provider)
        .select_related("centre").order_by("centre__name", "valid_from"),
        "today": timezone.localdate(),
    }
    return render(request, "mch_link/provider_detail.html", ctx)
