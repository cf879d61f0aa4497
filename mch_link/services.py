"""Writes on contracts: draft, sign, renew, terminate. Each runs in one transaction, keeps
the audit trail and sends `contract_changed` once committed (the scheduler re-plans on it)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .audit import audit_change, snapshot
from .models import Contract
from .selectors import missing_pairs_for_provider
from .signals import contract_changed


def _notify(contract_ids):
    ids = list(contract_ids)
    if ids:
        transaction.on_commit(lambda: contract_changed.send(sender=Contract, contract_ids=ids))


def one_year_from(day):
    """The last day of a one-year term starting `day` (2026-01-01 -> 2026-12-31)."""
    try:
        return day.replace(year=day.year + 1) - datetime.timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _check_no_overlap(contract):
    clash = (
        Contract.objects.filter(provider=contract.provider_id, centre=contract.centre_id)
        .exclude(pk=contract.pk)
        .overlapping(contract.valid_from, contract.valid_to)
        .first()
    )
    if clash:
        raise ValidationError(
            _("%(centre)s 与 %(provider)s 已有 %(start)s 至 %(end)s 的有效协议，时间重叠")
            % {"centre": contract.centre, "provider": contract.provider,
               "start": clash.valid_from, "end": clash.valid_to}
        )


def _save_checked(contract):
    """Save, turning the database's overlap refusal into a ValidationError."""
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        if "contract_overlap" in str(exc):
            raise ValidationError(_("与同一机构同一托育机构的已签约协议时间重叠")) from exc
        raise


@transaction.atomic
def contract_draft_missing(*, provider, valid_from, valid_to, user):
    """Draft a contract for every pair the tier rules require of `provider` on `valid_from`
    that no signed contract covers and no draft already offers. Returns the new contracts."""
    if valid_from > valid_to:
        raise ValidationError(_("到期日期不能早于生效日期"))
    drafted_for = set(
        Contract.objects.filter(provider=provider, status=Contract.Status.DRAFT,
                                valid_from__lte=valid_to, valid_to__gte=valid_from)
        .values_list("centre_id", flat=True)
    )
    created = []
    for pair in missing_pairs_for_provider(provider, valid_from):
        if pair.centre_id in drafted_for:
            continue
        contract = Contract.objects.create(provider=provider, centre_id=pair.centre_id,
                                           valid_from=valid_from, valid_to=valid_to)
        audit_change(contract, user=user, action="draft")
        created.append(contract)
    return created


@transaction.atomic
def contract_sign(*, contract, signed_on, user, scan=None, valid_from=None, valid_to=None):
    if contract.status != Contract.Status.DRAFT:
        raise ValidationError(_("只有草稿协议可以签约"))
    before = snapshot(contract)
    contract.valid_from = valid_from or contract.valid_from
    contract.valid_to = valid_to or contract.valid_to
    contract.status = Contract.Status.SIGNED
    contract.signed_on = signed_on
    if scan is not None:
        contract.scan = scan
    contract.full_clean(exclude=["scan"])
    _check_no_overlap(contract)
    _save_checked(contract)
    audit_change(contract, user=user, action="sign", before=before)
    _notify([contract.pk])
    return contract


@transaction.atomic
def contract_renew(*, contracts, signed_on, user):
    """Renew each signed contract for the following term of the same length, signed on
    `signed_on`. All or nothing: any clash refuses the whole set."""
    renewed = []
    errors = []
    for old in contracts:
        if old.status != Contract.Status.SIGNED:
            errors.append(_("%(c)s：只能续签已签约的协议") % {"c": old.centre})
            continue
        if Contract.objects.filter(renewed_from=old).exists():
            errors.append(_("%(c)s：该协议已续签") % {"c": old.centre})
            continue
        start = old.valid_to + datetime.timedelta(days=1)
        new = Contract(provider=old.provider, centre=old.centre, status=Contract.Status.SIGNED,
                       signed_on=signed_on, valid_from=start, valid_to=one_year_from(start), renewed_from=old)
        try:
            _check_no_overlap(new)
            _save_checked(new)
        except ValidationError as exc:
            errors.extend(f"{old.centre}：{m}" for m in exc.messages)
            continue
        audit_change(new, user=user, action="renew")
        renewed.append(new)
    if errors:
        raise ValidationError(errors)
    _notify(c.pk for c in renewed)
    return renewed


@transaction.atomic
def contract_terminate(*, contract, terminated_on, reason, user):
    if contract.status != Contract.Status.SIGNED:
        raise ValidationError(_("只能终止已签约的协议"))
    if not reason.strip():
        raise ValidationError(_("请填写终止原因"))
    if terminated_on < contract.valid_from or terminated_on > contract.valid_to:
        raise ValidationError(_("终止日期应在协议有效期内（%(a)s 至 %(b)s）")
                              % {"a": contract.valid_from, "b": contract.valid_to})
    before = snapshot(contract)
    contract.status = Contract.Status.TERMINATED
    contract.terminated_on = terminated_on
    contract.termination_reason = reason.strip()
    contract.save()
    audit_change(contract, user=user, action="terminate", before=before, reason=reason)
    _notify([contract.pk])
    return contract
