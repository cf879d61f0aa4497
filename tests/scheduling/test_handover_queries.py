"""An amended record of a joint session tells each centre's staff with one read of the staff,
however many centres the session serves (no query per centre)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mch_link.models import Membership
from scheduling.models import Notification
from scheduling.services import handovers
from tests import factories as f

pytestmark = pytest.mark.django_db


def _membership_reads(record, centres, by):
    with CaptureQueriesContext(connection) as queries:
        handovers.record_amended(record, [c.pk for c in centres], {centres[0].pk}, by=by)
    return sum(1 for q in queries if Membership._meta.db_table in q["sql"] and q["sql"].startswith("SELECT"))


def test_staff_of_every_centre_are_read_once(world):
    from scheduling.models import Record, Session

    centres = [f.centre(f"联合托育{i}", world.tashan) for i in range(4)]
    for i, c in enumerate(centres):
        f.user(f"staff{i}", "centre_staff", c)
    session = Session.objects.create(provider=world.tashan_chc, kind="staff_training", date=datetime.date(2026, 3, 2),
                                     start="09:00", end="11:00")
    record = Record.objects.create(session=session, doctor=world.dan, held_on=datetime.date(2026, 3, 2), start="09:00",
                                   end="11:00", status="submitted", version=3)
    assert _membership_reads(record, centres[:1], world.dan) == _membership_reads(record, centres, world.dan) == 1
    assert Notification.objects.filter(key__startswith=f"record-{record.pk}-v3-").count() == 4
    assert Notification.objects.get(user__username="staff0", key__contains="-centre-").title.startswith(
        "服务记录已修改，请重新确认")
