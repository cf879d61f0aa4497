import datetime

import pytest

from mch_link.models import Contract
from scheduling.demo import demo_records_build
from scheduling.models import Obligation, Record, RecordCentre, Session
from scheduling.services import schedule_generate

pytestmark = pytest.mark.django_db


def test_demo_records_log_most_past_sessions_once(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    today = datetime.date(2026, 11, 29)
    past = Session.objects.filter(date__lt=today - datetime.timedelta(days=2)).count()
    created = demo_records_build(today=today)
    assert 0.7 * past <= created <= past
    assert Record.objects.count() == created == RecordCentre.objects.count()
    held = Session.objects.filter(status="held")
    assert held.count() == created and not held.filter(record__isnull=True).exists()
    done = Obligation.objects.filter(status__in=["done_on_time", "done_late"])
    assert done.count() == Obligation.objects.filter(sessions__status="held").count()
    assert all(o.done_on == o.sessions.get().date for o in done)
    assert demo_records_build(today=today) == 0
