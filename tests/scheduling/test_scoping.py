import datetime

import pytest

from mch_link.models import Contract
from mch_link.scoping import scoped
from scheduling.models import Obligation, Session
from scheduling.services import schedule_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(world):
    for provider, centre in [(world.tashan_chc, world.sunny), (world.keqiao_chc, world.bamboo)]:
        Contract.objects.create(provider=provider, centre=centre, status="signed", signed_on=datetime.date(2026, 1, 1),
                                valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    return world


def centres_of(sessions):
    return {o.contract.centre.name for s in sessions for o in s.obligations.all()}


@pytest.mark.parametrize("who, sees", [
    ("alice", {"阳光托育园", "竹韵托育"}), ("bob", {"阳光托育园"}), ("dan", {"阳光托育园"}),
    ("erin", {"竹韵托育"}), ("fay", {"阳光托育园"}), ("gus", {"竹韵托育"}),
])
def test_each_role_sees_the_sessions_and_obligations_of_its_organisation(planned, who, sees):
    user = getattr(planned, who)
    assert centres_of(scoped(user, Session)) == sees
    assert {o.contract.centre.name for o in scoped(user, Obligation)} == sees
    assert Session.objects.count() == 26
