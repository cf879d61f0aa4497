"""Scoping of the scheduling models, registered with mch_link.scoping (one function per model).

Everything follows the contracts a user may see: a session, obligation or record is visible
when one of its contracts is."""

from mch_link.models import Contract, Role
from mch_link.scoping import is_everything, membership_of, scope_for, scoped

from .models import Obligation, Record, RecordCentre, Session


@scope_for(Obligation)
def visible_obligations(user):
    if is_everything(user):
        return Obligation.objects.all()
    return Obligation.objects.filter(contract__in=scoped(user, Contract).values("pk"))


@scope_for(Session)
def visible_sessions(user):
    if is_everything(user):
        return Session.objects.all()
    m = membership_of(user)
    if m is None:
        return Session.objects.none()
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return Session.objects.filter(provider=m.provider_id)
    ids = Session.obligations.through.objects.filter(
        obligation__contract__in=scoped(user, Contract).values("pk")).values("session_id")
    return Session.objects.filter(pk__in=ids)


@scope_for(Record)
def visible_records(user):
    return Record.objects.filter(session__in=scoped(user, Session).values("pk"))


@scope_for(RecordCentre)
def visible_record_parts(user):
    """Centre staff see their own centre's part only; others every part of a visible record."""
    m = membership_of(user)
    qs = RecordCentre.objects.filter(record__in=scoped(user, Record).values("pk"))
    if m is not None and m.role == Role.CENTRE_STAFF and not is_everything(user):
        qs = qs.filter(centre=m.centre_id)
    return qs
