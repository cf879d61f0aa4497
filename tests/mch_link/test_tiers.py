"""Table tests of the tier rules (pure) and of the registry as of a day (dates, moves)."""

import datetime

import pytest

from mch_link.models import CentreGrade, Grade, Provider, Region
from mch_link.selectors import registry_as_of
from mch_link.tiers import CentreFacts, ProviderFacts, RequiredPair, required_pairs
from tests import factories as f

CITY, YC, KQ, TASHAN, KEQIAO = 1, 10, 20, 101, 201
PROVIDERS = [
    ProviderFacts(1, "P-CITY", "市妇幼", Provider.Kind.CITY_MCH, CITY),
    ProviderFacts(2, "P-YC", "越城妇幼", Provider.Kind.COUNTY_MCH, YC),
    ProviderFacts(3, "P-KQ", "柯桥妇幼", Provider.Kind.COUNTY_MCH, KQ),
    ProviderFacts(4, "P-TS", "塔山社区", Provider.Kind.COMMUNITY, TASHAN, frozenset({TASHAN})),
    ProviderFacts(5, "P-KQJD", "柯桥社区", Provider.Kind.COMMUNITY, KEQIAO, frozenset({KEQIAO})),
]
RANK = {"市级示范": 4, "一级": 3, "二级": 2, "三级": 1, None: None}


def pairs_for(grade, township=TASHAN, county=YC):
    centre = CentreFacts(99, "C", "托育", township, county, CITY, RANK[grade])
    return sorted((rp.provider_id, rp.tier) for rp in required_pairs([centre], PROVIDERS))


@pytest.mark.parametrize(
    "grade, expected",
    [
        ("市级示范", [(1, "city"), (2, "county"), (4, "grassroots")]),
        ("一级", [(2, "county"), (4, "grassroots")]),
        ("二级", [(2, "county"), (4, "grassroots")]),
        ("三级", [(4, "grassroots")]),
        (None, [(4, "grassroots")]),
    ],
)
def test_a_centre_needs_the_pairs_of_its_grade(grade, expected):
    assert pairs_for(grade) == expected


def test_a_centre_in_another_county_needs_that_countys_providers():
    assert pairs_for("一级", township=KEQIAO, county=KQ) == [(3, "county"), (5, "grassroots")]


def test_a_grassroots_provider_covering_two_townships_needs_both():
    provider = ProviderFacts(6, "P-X", "联合卫生院", Provider.Kind.TOWNSHIP, TASHAN, frozenset({TASHAN, KEQIAO}))
    centres = [CentreFacts(1, "A", "a", TASHAN, YC, CITY, None), CentreFacts(2, "B", "b", KEQIAO, KQ, CITY, None)]
    assert required_pairs(centres, [provider]) == {
        RequiredPair(6, 1, "grassroots"), RequiredPair(6, 2, "grassroots")}


@pytest.mark.django_db
class TestRegistryAsOfDay:
    def test_a_promotion_to_level_2_needs_the_county_mch_from_its_date(self, world):
        CentreGrade.objects.create(centre=world.rice, grade=Grade.objects.get(name="二级"),
                                   awarded_on=datetime.date(2026, 5, 1))
        before = registry_as_of(datetime.date(2026, 4, 30))
        after = registry_as_of(datetime.date(2026, 5, 1))
        need = RequiredPair(world.yc_mch.pk, world.rice.pk, "county")
        assert need not in required_pairs(before.centres, before.providers)
        assert need in required_pairs(after.centres, after.providers)

    def test_an_expired_grade_no_longer_counts(self, world):
        CentreGrade.objects.filter(centre=world.little).update(valid_until=datetime.date(2026, 6, 30))
        reg = registry_as_of(datetime.date(2026, 7, 1))
        assert RequiredPair(world.yc_mch.pk, world.little.pk, "county") not in required_pairs(
            reg.centres, reg.providers)

    def test_a_closed_centre_and_a_centre_filed_later_require_nothing(self, world):
        world.rice.closed_on = datetime.date(2026, 3, 1)
        world.rice.save()
        world.bamboo.filed_on = datetime.date(2026, 9, 1)
        world.bamboo.save()
        reg = registry_as_of(datetime.date(2026, 6, 1))
        centre_ids = {rp.centre_id for rp in required_pairs(reg.centres, reg.providers)}
        assert world.rice.pk not in centre_ids and world.bamboo.pk not in centre_ids
        assert world.sunny.pk in centre_ids
        # the day it closes, it no longer counts; the day before, it does
        assert world.rice.pk in {c.id for c in registry_as_of(datetime.date(2026, 2, 28)).centres}
        assert world.rice.pk not in {c.id for c in registry_as_of(datetime.date(2026, 3, 1)).centres}

    def test_a_township_that_moved_county_belongs_to_its_new_county_from_the_move(self, world):
        # 沥海街道 moved from 上虞区 to 越城区 on 2021-06-01: a new region row with a new code.
        sy = f.region("330604", "上虞区", parent=world.city)
        sy_mch = f.provider("P-SY", "上虞区妇幼保健院", Provider.Kind.COUNTY_MCH, sy)
        old = f.region("330604020", "沥海街道", parent=sy, valid_to=datetime.date(2021, 5, 31))
        new = f.region("330602016", "沥海街道", parent=world.yc, valid_from=datetime.date(2021, 6, 1))
        Region.objects.filter(pk=old.pk).update(successor=new)
        lihai = f.centre("沥海托育", old, grade="二级", filed_on=datetime.date(2020, 1, 1))
        before = registry_as_of(datetime.date(2021, 5, 31))
        after = registry_as_of(datetime.date(2021, 6, 1))
        assert RequiredPair(sy_mch.pk, lihai.pk, "county") in required_pairs(before.centres, before.providers)
        moved = required_pairs(after.centres, after.providers)
        assert RequiredPair(world.yc_mch.pk, lihai.pk, "county") in moved
        assert RequiredPair(sy_mch.pk, lihai.pk, "county") not in moved
