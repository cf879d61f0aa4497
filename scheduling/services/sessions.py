"""Writes of sessions by hand (the planner's are in plan.py): the protocol of each change is
on the model (Session.reschedule/cancel/hold); these functions lock the row, load what the
rule needs, call it, and refresh the statuses it touches."""

from django.db import transaction
from django.utils import timezone

from ..models import Obligation, Session
from .calendar import work_years_for
from .obligations import statuses_refresh


@transaction.atomic
def session_move(*, session, user, day, start, end, reason, version=None):
    """Move a planned session to another working day inside its period (Session.reschedule).
    Raises Locked, Conflict or ValidationError."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    session.reschedule(day, start, end, by=user, reason=reason, version=version,
                       work_year=work_years_for([day.year])[day.year])
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return session
