"""Scoping of the scheduling models, registered with mch_link.scoping (one function per model).

Everything follows the contracts a user may see: a session, obligation or record is visible
when one of its contracts is."""

from mch_link.models import Contract, Role
from mch_link.scoping import Principal, scope_for, scoped

from .models import Obligation, Record, RecordCentre, Session


@scope_for(Obligation)
def visible_obligations(who):
    if who.everything:
        return Obligation.objects.all()
    return Obligation.objects.filter(contract__in=scoped(who, Contract).values("pk"))


@scope_for(Session, of_membership=True)
def visible_sessions(m, qs):
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(provider=m.provider_id)
    ids = Session.obligations.through.objects.filter(
        obligation__contract__in=scoped(Principal(m), Contract).values("pk")).values("session_id")
    return qs.filter(pk__in=ids)


@scope_for(Record)
def visible_records(who):
    return Record.objects.filter(session__in=scoped(who, Session).values("pk"))


@scope_for(RecordCentre)
def visible_record_parts(who):
    """Centre staff see their own centre's part only; others every part of a visible record."""
    qs = RecordCentre.objects.filter(record__in=scoped(who, Record).values("pk"))
    if who.role == Role.CENTRE_STAFF and not who.everything:
        qs = qs.filter(centre=who.membership.centre_id)
    return qs
