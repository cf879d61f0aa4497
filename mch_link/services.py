"""Writes on contracts: draft, sign, renew, terminate. Each runs in one transaction, keeps
the audit trail and sends `contract_changed` once committed (the scheduler re-plans on it).
The protocol of one contract's change is on the model (Contract.sign, Contract.terminate);
these orchestrate."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .audit import audit_change
from .dates import one_year_from
from .locks import lock_provider
from .models import Contract, contracts_changed
from .selectors import missing_pairs_for_provider


@transaction.atomic
def contract_draft_missing(*, provider, valid_from, valid_to, user):
    """Draft a contract for every pair the tier rules require of `provider` on `valid_from`
    that no signed contract covers and no open draft already offers (one open draft per pair:
    the constraint one_open_draft_per_pair). Safe to repeat and to run twice at once: the
    provider's row is locked first (mch_link.locks), so a second run waits and then sees the
    first one's drafts. Returns the new contracts."""
    Contract(provider=provider, valid_from=valid_from, valid_to=valid_to).validate_constraints(
        exclude=["provider", "centre"])
    lock_provider(provider.pk)
    drafted_for = set(
        Contract.objects.filter(provider=provider, status=Contract.Status.DRAFT).values_list("centre_id", flat=True))
    created = []
    for pair in missing_pairs_for_provider(provider, valid_from):
        if pair.centre_id in drafted_for:
            continue
        contract = Contract.objects.create(provider=provider, centre_id=pair.centre_id,
                                           valid_from=valid_from, valid_to=valid_to)
        audit_change(contract, user=user, action="draft")
        created.append(contract)
    return created


def contract_sign(*, contract, signed_on, user, scan=None, valid_from=None, valid_to=None):
    contract.sign(signed_on=signed_on, by=user, scan=scan, valid_from=valid_from, valid_to=valid_to)
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
            new.check_no_clash()
            new.save_checked()
        except ValidationError as exc:
            errors.extend(f"{old.centre}：{m}" for m in exc.messages)
            continue
        audit_change(new, user=user, action="renew")
        renewed.append(new)
    if errors:
        raise ValidationError(errors)
    contracts_changed(c.pk for c in renewed)
    return renewed


def contract_terminate(*, contract, terminated_on, reason, user):
    contract.terminate(on=terminated_on, reason=reason, by=user)
    return contract
