"""One "inside a region" (region_q, stored tree or as of a day), breadcrumbs and the default region."""

import datetime

import pytest
from django.urls import reverse

from mch_link import selectors
from mch_link.models import Centre, Region
from mch_link.scoping import breadcrumbs, default_region, region_q
from mch_link.selectors import RegionTree
from tests import factories as f

pytestmark = pytest.mark.django_db
D = datetime.date


def names(q):
    return sorted(Centre.objects.filter(q).values_list("name", flat=True))


def test_on_the_stored_tree_a_centre_counts_where_it_is_filed(moved):
    assert names(region_q(moved.kq, "township")) == ["竹韵托育"]
    assert "海韵托育" in names(region_q(moved.yc, "township"))
    assert names(region_q(moved.tashan, "township")) == ["小星星托育", "阳光托育园"]


@pytest.mark.parametrize("max_ids", [2000, 0])  # an IN list, or the stored tree corrected
def test_as_of_a_day_a_centre_counts_where_its_township_stood(moved, max_ids, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_REGION_IDS", max_ids)
    after, before = D(2026, 6, 1), D(2025, 6, 1)
    assert names(region_q(moved.kq, "township", on=after)) == ["海韵托育", "竹韵托育"]
    assert "海韵托育" not in names(region_q(moved.yc, "township", on=after))
    assert "海韵托育" in names(region_q(moved.yc, "township", on=before))
    assert len(names(region_q(moved.city, "township", on=RegionTree.load(after)))) == 5


def test_regions_inside_a_region(moved):
    inside = Region.objects.filter(region_q(moved.yc, "", on=D(2026, 6, 1)))
    assert sorted(r.name for r in inside) == ["塔山街道", "富盛镇", "越城区"]


def test_breadcrumbs_leave_out_the_regions_above_the_users_own(world):
    assert breadcrumbs(world.alice, world.tashan) == [world.city, world.yc, world.tashan]
    assert breadcrumbs(world.bob, world.tashan) == [world.yc, world.tashan]
    assert breadcrumbs(world.bob, None) == []


def test_default_region_is_the_users_own_else_the_only_city(world, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    assert default_region(world.bob) == world.yc
    assert default_region(world.carol) == world.tashan
    assert default_region(world.fay) == world.tashan
    assert default_region(root) == world.city
    f.region("330700", "金华市")
    assert default_region(root) is None  # two cities: the whole installation
    assert default_region(world.alice) == world.city


def test_coverage_and_report_open_on_the_same_default_region(world, client):
    client.force_login(world.bob)
    coverage = client.get(reverse("mch_link:coverage")).content.decode()
    report = client.get(reverse("reports:dashboard")).content.decode()
    assert "越城区 签约覆盖情况" in coverage
    assert "越城区" in report and "柯桥区" not in report


def test_without_a_default_region_the_pages_show_the_whole_installation(world, client, django_user_model):
    f.region("330700", "金华市")
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    coverage = client.get(reverse("mch_link:coverage"))
    assert coverage.status_code == 200
    assert "全部 签约覆盖情况" in coverage.content.decode()
    assert "金华市" in coverage.content.decode() and "绍兴市" in coverage.content.decode()
    assert client.get(reverse("reports:dashboard")).status_code == 200
