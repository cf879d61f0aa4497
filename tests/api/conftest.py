"""The API's cast: the `world` of tests/conftest.py with two signed contracts planned for
2026 (塔山's health centre with 阳光托育园, 柯桥街道's with 竹韵托育), so every role has rows
of its own and rows of another organisation it must not see."""

import datetime

import pytest
import time_machine

from api.models import ApiToken
from scheduling.models import Session
from scheduling.services import record_save, schedule_generate
from tests import factories as f


def at(day, hour=10):
    """Freeze the clock at `hour` o'clock Shanghai time (UTC+8) on `day` (it stands still)."""
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=datetime.UTC),
                               tick=False)


def bearer(user, name="测试"):
    """Headers for the test client with a new token of `user`."""
    _row, raw = ApiToken.issue(user=user, name=name)
    return {"Authorization": f"Bearer {raw}"}


class Api:
    """The test client speaking JSON with a user's token."""

    def __init__(self, client, user):
        self.client, self.headers = client, bearer(user)

    def get(self, path, **params):
        return self.client.get("/api/v1/" + path, params, headers=self.headers)

    def post(self, path, body, **headers):
        return self.client.post("/api/v1/" + path, body, content_type="application/json",
                                headers={**self.headers, **headers})


@pytest.fixture
def api(client):
    return lambda user: Api(client, user)


@pytest.fixture
def planned(world):
    # Planned under a clock frozen on the planning day, so "changed since" filters never
    # depend on the hour the suite happens to run.
    with at(datetime.date(2026, 1, 5)):
        f.signed_contract(world.tashan_chc, world.sunny)
        f.signed_contract(world.keqiao_chc, world.bamboo)
        schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    world.guidance = Session.objects.filter(kind="guidance", provider=world.tashan_chc).order_by("date").first()
    world.training = Session.objects.filter(kind="staff_training", provider=world.tashan_chc).order_by("date").first()
    world.other_guidance = Session.objects.filter(kind="guidance", provider=world.keqiao_chc).order_by("date").first()
    return world


RECORD = {"start": datetime.time(9), "end": datetime.time(11), "topics": [], "topics_other": "", "content": "晨检",
          "findings": {"卫生与消毒": "消毒记录不全"}, "advice": "", "follow_up_on": None}


def submit_record(session, doctor):
    """The doctor's record of `session`, submitted the day after (through the service)."""
    day = session.date + datetime.timedelta(days=1)
    with at(day):
        return record_save(session=session, user=doctor, data={**RECORD, "held_on": session.date}, submit=True,
                           version=0)


@pytest.fixture
def recorded(planned):
    """planned, with the first guidance visit of each provider recorded and submitted."""
    planned.record = submit_record(planned.guidance, planned.dan)
    planned.other_record = submit_record(planned.other_guidance, planned.erin)
    return planned
