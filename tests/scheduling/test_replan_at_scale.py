"""Re-planning a region with more than 1,000 contracts works on every database.

A prefetch over that many contracts once built an SQL expression SQLite refuses ("Expression
tree is too large"), which broke the nightly re-plan of any city-sized region."""

import datetime

import pytest

from mch_link.models import Centre, Contract, Provider
from scheduling.models import Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db
CONTRACTS = 1100


def test_a_second_plan_of_1100_contracts_keeps_every_session(world):
    provider = f.provider("P-BIG", "大型社区卫生服务中心", Provider.Kind.COMMUNITY, world.tashan, doctors=60)
    Centre.objects.bulk_create(
        Centre(code=f.uscc(100000 + i), name=f"托育{i}", township=world.tashan, filed_on=datetime.date(2024, 1, 1))
        for i in range(CONTRACTS)
    )
    Contract.objects.bulk_create(
        Contract(provider=provider, centre=c, status="signed", signed_on=datetime.date(2026, 1, 1),
                 valid_from=datetime.date(2026, 7, 1), valid_to=datetime.date(2026, 12, 31))
        for c in Centre.objects.filter(name__startswith="托育")
    )
    first = schedule_generate(year=2026, today=datetime.date(2026, 6, 1), provider=provider)
    assert first.created > CONTRACTS
    second = schedule_generate(year=2026, today=datetime.date(2026, 6, 2), provider=provider)
    assert (second.created, second.moved, second.cancelled) == (0, [], [])
    assert second.kept == Session.objects.filter(provider=provider).count()
