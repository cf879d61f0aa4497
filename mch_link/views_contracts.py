"""Contracts and coverage pages: bureaus see coverage, provider managers draft, sign, renew
and terminate, doctors and centre staff see their contracts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import params
from .audit import history, readable
from .forms import CoverageFilterForm, DraftMissingForm, RenewForm, SignForm, TerminateForm
from .models import Contract, Region, Tier
from .permissions import (
    BUREAUS,
    CENTRE_STAFF,
    MANAGERS,
    PROVIDER_STAFF,
    can_manage_contracts,
    is_manager,
    role_required,
)
from .scoping import breadcrumbs, default_region, get_scoped_or_404, membership_of, scoped
from .selectors import coverage as coverage_report
from .services import contract_draft_missing, contract_renew, contract_sign, contract_terminate

ALL_CONTRACT_ROLES = (*BUREAUS, *PROVIDER_STAFF, *CENTRE_STAFF)


@role_required(*BUREAUS)
def coverage(request):
    form = CoverageFilterForm(request.GET or None)
    day = form.day()
    code = params.code(request.GET.get("region"), label="区划代码")
    region = get_scoped_or_404(request.user, Region, code=code) if code else default_region(request.user)
    report = coverage_report(day, region)
    ctx = {
        "report": report,
        "day": day,
        "form": form,
        "crumbs": breadcrumbs(request.user, report.region),
        "missing_by_tier": [
            (Tier(t).label, [m for m in report.missing_pairs if m["tier"] == t]) for t in Tier.values
        ],
    }
    return render(request, "mch_link/coverage.html", ctx)


@role_required(*ALL_CONTRACT_ROLES)
def contract_list(request):
    qs = scoped(request.user, Contract).select_related("provider", "centre__township")
    status = request.GET.get("status", "")
    if status in Contract.Status.values:
        qs = qs.filter(status=status)
    contracts = list(qs.order_by("centre__name", "-valid_from")[:1000])
    manager = is_manager(request.user)
    ctx = {
        "contracts": contracts,
        "status": status,
        "statuses": Contract.Status.choices,
        "is_manager": manager,
        "draft_form": DraftMissingForm() if manager else None,
        "renew_form": RenewForm() if manager else None,
        "today": timezone.localdate(),
    }
    return render(request, "mch_link/contract_list.html", ctx)


def _manager_contract(request, pk):
    """A contract of the manager's own provider, or 404."""
    contract = get_scoped_or_404(request.user, Contract, pk=pk)
    if not can_manage_contracts(request.user, contract.provider_id):
        raise Http404
    return contract


@role_required(*ALL_CONTRACT_ROLES)
def contract_detail(request, pk):
    contract = get_scoped_or_404(request.user, Contract, pk=pk)
    may_change = can_manage_contracts(request.user, contract.provider_id)
    ctx = {
        "contract": contract,
        "may_change": may_change,
        "sign_form": SignForm(initial={"valid_from": contract.valid_from, "valid_to": contract.valid_to})
        if may_change and contract.status == Contract.Status.DRAFT else None,
        "terminate_form": TerminateForm() if may_change and contract.status == Contract.Status.SIGNED else None,
        "events": readable(history(contract)),
    }
    return render(request, "mch_link/contract_detail.html", ctx)


def _manager_change(request, pk, form, service, done_message, form_slot):
    """Run `service` on the manager's own contract with the form's data; on success redirect
    to the contract, else show the page again with the errors (status 400)."""
    contract = _manager_contract(request, pk)
    if form.is_valid():
        try:
            service(contract=contract, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for msg in exc.messages:
                form.add_error(None, msg)
        else:
            messages.success(request, done_message % {"c": contract.centre})
            return redirect("mch_link:contract_detail", pk=contract.pk)
    contract.refresh_from_db()
    ctx = {"contract": contract, "may_change": True, "sign_form": None, "terminate_form": None,
           "events": readable(history(contract)), form_slot: form}
    return render(request, "mch_link/contract_detail.html", ctx, status=400)


@require_POST
@role_required(*MANAGERS)
def contract_sign_view(request, pk):
    return _manager_change(request, pk, SignForm(request.POST, request.FILES), contract_sign,
                           _("协议已签约：%(c)s"), "sign_form")


@require_POST
@role_required(*MANAGERS)
def contract_terminate_view(request, pk):
    return _manager_change(request, pk, TerminateForm(request.POST), contract_terminate,
                           _("协议已终止：%(c)s"), "terminate_form")


@require_POST
@role_required(*MANAGERS)
def contract_draft_missing_view(request):
    m = membership_of(request.user)
    if m is None:  # a superuser has no provider of its own
        raise Http404
    provider = m.provider
    form = DraftMissingForm(request.POST)
    if form.is_valid():
        created = contract_draft_missing(provider=provider, user=request.user, **form.cleaned_data)
        if created:
            messages.success(request, _("已为 %(n)d 个缺少签约的托育机构起草协议") % {"n": len(created)})
        else:
            messages.info(request, _("没有缺少签约的托育机构"))
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect(reverse("mch_link:contract_list") + "?status=draft")


@require_POST
@role_required(*MANAGERS)
def contract_renew_view(request):
    m = membership_of(request.user)
    if m is None:  # a superuser has no provider of its own
        raise Http404
    provider_id = m.provider_id
    own = scoped(request.user, Contract).filter(provider=provider_id)
    form = RenewForm(request.POST, contract_ids=own.values_list("pk", flat=True))
    if form.is_valid():
        chosen = list(own.filter(pk__in=form.cleaned_data["contracts"]).select_related("provider", "centre"))
        try:
            renewed = contract_renew(contracts=chosen, signed_on=form.cleaned_data["signed_on"], user=request.user)
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        else:
            messages.success(request, _("已续签 %(n)d 份协议") % {"n": len(renewed)})
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("mch_link:contract_list")


@role_required(*ALL_CONTRACT_ROLES)
def contract_scan(request, pk):
    contract = get_scoped_or_404(request.user, Contract, pk=pk)
    if not contract.scan:
        raise Http404
    try:
        handle = contract.scan.open("rb")
    except OSError:
        return params.not_found(request, "协议扫描件文件已不存在，请重新上传。")
    return FileResponse(handle, as_attachment=False,
                        filename=f"contract-{contract.pk}.{contract.scan.name.rsplit('.', 1)[-1]}")
