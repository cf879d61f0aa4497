from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scheduling.todo import todo_for

from . import params
from .models import Centre, CentreGrade, Contract, Provider, Region
from .permissions import (
    ADMINS,
    ALL_ROLES,
    BUREAUS,
    CENTRE_STAFF,
    DOCTORS,
    MANAGERS,
    PROVIDER_STAFF,
    REVIEWERS,
    acting_role,
)
from .scoping import get_scoped_or_404, membership_of, region_q, scoped

# The home page's actions, in order: (roles it is offered to, label, URL name); None: everyone.
# The roles are those the page itself requires (role_required), as the user acts (acting_role).
ACTIONS = [
    (BUREAUS, gettext_lazy("签约覆盖情况"), "mch_link:coverage"),
    (BUREAUS, gettext_lazy("操作记录"), "mch_link:audit_list"),
    (PROVIDER_STAFF, gettext_lazy("我的工作"), "scheduling:agenda"),
    (CENTRE_STAFF, gettext_lazy("服务记录确认"), "scheduling:centre_records"),
    (REVIEWERS, gettext_lazy("季度审核"), "scheduling:quarters"),
    ((*BUREAUS, *MANAGERS), gettext_lazy("完成情况报表"), "reports:dashboard"),
    (CENTRE_STAFF, gettext_lazy("服务日历"), "calendar:centre_month"),
    (DOCTORS, gettext_lazy("我的本周服务"), "calendar:doctor_week"),
    ((*BUREAUS, *PROVIDER_STAFF), gettext_lazy("机构服务日历"), "calendar:provider_month"),
    ((*BUREAUS, *MANAGERS), gettext_lazy("托育机构服务日历"), "calendar:centre_month"),
    (ALL_ROLES, gettext_lazy("签约协议"), "mch_link:contract_list"),
    (None, gettext_lazy("托育机构"), "mch_link:centre_list"),
    (None, gettext_lazy("通知"), "scheduling:notifications"),
    (None, gettext_lazy("医疗卫生机构"), "mch_link:provider_list"),
    (MANAGERS, gettext_lazy("服务排期"), "scheduling:provider_plan"),
    (ADMINS, gettext_lazy("导入登记数据"), "mch_link:import_registry"),
    (ADMINS, gettext_lazy("工作日历（节假日）"), "scheduling:workdays"),
]


def _actions_for(user):
    """(label, url) pairs of what this user may do, shown on the home page."""
    role = acting_role(user)
    actions = [(str(label), reverse(name)) for roles, label, name in ACTIONS if roles is None or role in roles]
    if role in ADMINS and user.is_staff:
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
        "todo": todo_for(request.user, today),
    }
    return render(request, "mch_link/home.html", ctx)


@login_required
def centre_list(request):
    qs = scoped(request.user, Centre).select_related("township__parent", "ownership")
    query = params.text(request.GET.get("q"), label="搜索词")
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(code__icontains=query))
    region_code = params.code(request.GET.get("region"), label="区划代码")
    if region_code:
        region = get_scoped_or_404(request.user, Region, code=region_code)
        qs = qs.filter(region_q(region, "township"))
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
    centre = get_scoped_or_404(request.user, Centre, code=params.code(code, label="托育机构编码"))
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
    query = params.text(request.GET.get("q"), label="搜索词")
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(code__icontains=query))
    page = Paginator(qs.order_by("code"), 50).get_page(request.GET.get("page"))
    return render(request, "mch_link/provider_list.html", {"page": page, "q": query})


@login_required
def provider_detail(request, code):
    provider = get_scoped_or_404(request.user, Provider, code=params.code(code, label="医疗卫生机构编码"))
    ctx = {
        "provider": provider,
        "contracts": scoped(request.user, Contract).filter(provider=provider)
        .select_related("centre").order_by("centre__name", "valid_from"),
        "today": timezone.localdate(),
    }
    return render(request, "mch_link/provider_detail.html", ctx)
