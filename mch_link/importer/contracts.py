"""Checks of the contracts table: upserts by (provider, centre, valid_from); a signed contract
may not overlap another signed one of its pair, in the file or saved. The term's range is the
model's constraint, checked through Job.validate."""

from collections import defaultdict

from django.utils.translation import gettext as _

from ..audit import snapshot
from ..models import Centre, Contract, Provider
from .job import CHUNK, assign, by_code, missing, related

# Model field -> the column it is read from, for errors the model finds.
COLUMNS_OF_FIELDS = {"valid_to": "valid_to", "valid_from": "valid_from", "signed_on": "signed_on"}


def check_contracts(job, rows):
    wanted = [r.text("provider_code") for r in rows]
    job.providers.update(by_code(Provider.objects.select_related("region__parent__parent"),
                                 [c for c in wanted if c not in job.providers]))
    centre_codes = [r.credit_code("centre_code") for r in rows]
    job.centres.update(by_code(Centre.objects.select_related("township__parent__parent"),
                               [c for c in centre_codes if c not in job.centres]))
    existing = _existing_contracts(job)
    seen, planned = {}, []
    for row, centre_code in zip(rows, centre_codes, strict=True):
        provider = _ref(row, "provider_code", row.required("provider_code"), job.providers, _("机构编码"))
        centre = _ref(row, "centre_code", centre_code, job.centres, _("托育机构代码"))
        signed_on = row.date("signed_on")
        status = Contract.Status.SIGNED if signed_on else Contract.Status.DRAFT
        terms = {"status": status, "signed_on": signed_on, "valid_from": row.date("valid_from", required=True),
                 "valid_to": row.date("valid_to", required=True)}
        job.validate(row, Contract(**terms), COLUMNS_OF_FIELDS)
        valid_from = terms["valid_from"]
        if provider is None or centre is None or valid_from is None:
            continue
        key = (provider.code, centre.code, valid_from)
        noun = _("同一医疗卫生机构与托育机构、同一生效日期的协议")
        if not job.first_time(row, "valid_from", key, seen, noun, shown=str(valid_from)):
            continue
        job.check_scope(row, "centre_code", related(provider, "region"), related(centre, "township"))
        contract = existing.get((provider.pk, centre.pk, valid_from))
        if contract is not None and contract.status == Contract.Status.TERMINATED:
            # Termination is done on the contract page, with a reason; the import leaves it.
            if (contract.signed_on, contract.valid_to) != (signed_on, terms["valid_to"]):
                row.error("valid_from", _("该协议已终止，不能通过导入修改"))
            job.tally("contracts", row, False, False)
            continue
        if contract is not None and contract.status == Contract.Status.SIGNED and not signed_on:
            row.error("signed_on", _("该协议已签约，签约日期不能清空"))
        if row.failed:
            continue
        before = snapshot(contract) if contract else None
        contract = contract or Contract(provider=provider, centre=centre, valid_from=valid_from)
        changed = assign(contract, {"status": status, "signed_on": signed_on, "valid_to": terms["valid_to"]})
        planned.append((row, contract, provider, centre))
        if job.tally("contracts", row, contract.pk is None, changed):
            job.contract_writes.append((contract, before))
    _check_overlaps(planned, existing)


def _ref(row, column, code, known, noun):
    """The object `code` (read from `column`, None if its cell failed) names in `known`."""
    if code is None:
        return None
    obj = known.get(code)
    if obj is None:
        row.error(column, missing(noun, code))
    return obj


def _existing_contracts(job):
    """(provider id, centre id, valid_from) -> Contract, for the saved pairs in play."""
    provider_ids = {p.pk for p in job.providers.values() if p.pk}
    centre_ids = sorted({c.pk for c in job.centres.values() if c.pk})
    found = {}
    for start in range(0, len(centre_ids), CHUNK):
        for contract in Contract.objects.filter(centre__in=centre_ids[start:start + CHUNK]):
            if contract.provider_id in provider_ids:
                found[(contract.provider_id, contract.centre_id, contract.valid_from)] = contract
    return found


def _check_overlaps(planned, existing):
    """A signed contract may not overlap another signed one of the same pair: neither one
    elsewhere in the file nor one saved that the file does not rewrite. One query for each
    signed row of a pair with saved contracts that the file does not rewrite."""
    by_pair = defaultdict(list)
    for row, contract, provider, centre in planned:
        by_pair[(provider.code, centre.code)].append((row, contract, provider, centre))
    saved = defaultdict(set)  # (provider id, centre id) -> valid_from of its saved contracts
    for provider_id, centre_id, day in existing:
        saved[(provider_id, centre_id)].add(day)
    for entries in by_pair.values():
        signed = [(r, c) for r, c, _p, _c in entries if c.status == Contract.Status.SIGNED]
        for i, (row, contract) in enumerate(signed):
            for other_row, other in signed[:i]:
                if contract.overlaps(other):
                    message = _("与第%(row)d行的签约协议（%(start)s 至 %(end)s）时间重叠")
                    row.error("valid_from", message % {
                        "row": other_row.number, "start": other.valid_from, "end": other.valid_to})
        _row, _contract, provider, centre = entries[0]
        rewritten = [c.valid_from for _r, c, _p, _c in entries]
        if not saved.get((provider.pk, centre.pk), set()) - set(rewritten):
            continue  # every saved contract of the pair is in the file, checked above
        for row, contract in signed:
            # Saved contracts the file rewrites have their new dates in `signed`, checked above.
            for clash in contract.clashes().exclude(valid_from__in=rewritten):
                message = _("与已有的签约协议（%(start)s 至 %(end)s）时间重叠")
                row.error("valid_from", message % {"start": clash.valid_from, "end": clash.valid_to})
