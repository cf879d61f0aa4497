"""Writes of sessions by hand (the planner's are in plan.py): the protocol of each change is
on the model (Session.reschedule/cancel/hold); these functions lock the row, load what the
rule needs, call it, and refresh the statuses it touches."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mch_link.locks import lock_provider

from ..models import Obligation, Session
from ..selectors import day_load, session_centre_ids
from . import handovers
from .calendar import work_years_for
from .obligations import statuses_refresh


@transaction.atomic
def session_move(*, session, user, day, start, end, reason, version=None):
    """Move a planned session to another working day inside its period (Session.reschedule).
    Refused when the day is full: the provider's row is locked first (scheduling.locks), so
    concurrent moves count each other. Raises Locked, Conflict or ValidationError."""
    lock_provider(session.provider_id)
    session = Session.objects.select_for_update().select_related("provider").get(pk=session.pk)
    before_date = session.date
    moved = day != session.date
    session.reschedule(day, start, end, by=user, reason=reason, version=version,
                       work_year=work_years_for([day.year])[day.year])
    count, capacity = day_load(session.provider, day, exclude=session)
    if moved and count + 1 > capacity:  # raised inside the transaction: the move is rolled back
        raise ValidationError({"date": f"{day:%Y-%m-%d} 已排 {count} 场，达到本机构每日容量 {capacity} 场"
                                       "（医生人数 × 每人每日场次），请选择其他日期"})
    handovers.session_changed(session, session_centre_ids(session), by=user, before_date=before_date)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return session
