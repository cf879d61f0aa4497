import datetime
import io
from collections import Counter

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from mch_link.demo import DEFAULT_PASSWORD, demo_plan, read_regions
from mch_link.models import (
    Centre,
    CentreGrade,
    Contract,
    Grade,
    Membership,
    Ownership,
    Provider,
    Region,
    Role,
)
from mch_link.scoping import scoped
from mch_link.validators import validate_uscc

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 29)
COUNTIES = ["越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市"]


@pytest.fixture(scope="module")
def seed_output(django_db_setup, django_db_blocker):
    """The demo, built once for the module inside a transaction rolled back after its last
    test; each test runs in a savepoint of it. Returns what the command printed."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("seed_demo", "--force", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


def user(username):
    return get_user_model().objects.get(username=username)


def snapshot():
    """Every row of every table the demo touches, in primary key order."""
    User = get_user_model()
    models = [Region, Provider, Provider.also_covers.through, Centre, CentreGrade, Grade, Ownership,
              Membership, Contract, User, User.user_permissions.through]
    return {m._meta.label: list(m.objects.order_by("pk").values_list()) for m in models}


def held_rank():
    """{centre id: rank of the grade it holds TODAY}."""
    return dict(CentreGrade.objects.held_on(TODAY).values_list("centre_id", "grade__rank"))


# --------------------------------------------------------------------------- the registry


def test_it_builds_every_region_of_the_csv(seed_output):
    assert Region.objects.count() == 110
    levels = Counter(Region.objects.values_list("level", flat=True))
    assert levels == {"city": 1, "county": 6, "township": 103}
    assert sorted(Region.objects.filter(level=Region.Level.COUNTY).values_list("name", flat=True)) == sorted(COUNTIES)
    assert Region.objects.get(code="330602001").parent.name == "越城区"


def test_it_builds_the_city_and_one_county_mch_agency_per_county(seed_output):
    city_mch = Provider.objects.get(kind=Provider.Kind.CITY_MCH)
    assert (city_mch.code, city_mch.name, city_mch.region.level) == ("PMCH330600", "绍兴市妇幼保健院", "city")
    county_mch = Provider.objects.filter(kind=Provider.Kind.COUNTY_MCH).select_related("region")
    assert sorted((p.name, p.region.name) for p in county_mch) == sorted(
        (f"{c}妇幼保健院", c) for c in COUNTIES)
    assert all(4 <= p.doctors <= 8 for p in [city_mch, *county_mch])


def test_every_township_has_a_grassroots_provider_of_its_kind(seed_output):
    grassroots = Provider.objects.filter(
        kind__in=[Provider.Kind.COMMUNITY, Provider.Kind.TOWNSHIP]).select_related("region")
    assert grassroots.count() == 103
    townships = Region.objects.filter(level=Region.Level.TOWNSHIP)
    assert {p.region_id for p in grassroots} == set(townships.values_list("pk", flat=True))
    for p in grassroots:
        if p.region.is_subdistrict:
            assert (p.kind, p.name) == (Provider.Kind.COMMUNITY, f"{p.region.name}社区卫生服务中心")
        else:
            assert (p.kind, p.name) == (Provider.Kind.TOWNSHIP, f"{p.region.name}卫生院")
        assert p.code == f"PG{p.region.code}"
        assert 2 <= p.doctors <= 4
    assert Provider.objects.get(name="富盛镇卫生院").kind == Provider.Kind.TOWNSHIP


def test_providers_have_shaoxing_landlines(seed_output):
    for p in Provider.objects.all():
        assert p.phone.as_national.startswith("0575 8"), p.phone
        assert p.address.startswith("浙江省绍兴市")


def test_it_builds_500_centres_in_townships_with_valid_codes(seed_output):
    centres = list(Centre.objects.select_related("township__parent", "ownership"))
    assert len(centres) == 500
    assert len({c.name for c in centres}) == 500
    for c in centres:
        validate_uscc(c.code)
        assert c.code[2:8] == c.township.parent.code
        assert c.township.level == Region.Level.TOWNSHIP
        assert 20 <= c.places <= 150
        assert datetime.date(2021, 1, 1) <= c.filed_on <= datetime.date(2026, 6, 30)
        assert c.phone and c.address and c.ownership


def test_most_centres_are_private_and_a_few_are_closed(seed_output):
    ownership = Counter(Centre.objects.values_list("ownership__name", flat=True))
    assert set(ownership) == {"民办", "公办", "公建民营", "用人单位办", "幼儿园托班"}
    assert ownership["民办"] > 250
    closed = Centre.objects.exclude(closed_on=None)
    assert 5 <= closed.count() <= 15
    for c in closed:
        assert c.closed_on > c.filed_on
        assert c.closed_on.year in (2025, 2026)


def test_centres_spread_by_county_population_and_lean_to_subdistricts(seed_output):
    by_county = Counter(Centre.objects.values_list("township__parent__name", flat=True))
    shares = {"越城区": 20, "柯桥区": 23, "上虞区": 18, "诸暨市": 23, "嵊州市": 9, "新昌县": 7}
    for county, share in shares.items():
        assert abs(by_county[county] - 5 * share) <= 5, county
    per_township = Counter(Centre.objects.values_list("township", flat=True))
    for county in Region.objects.filter(level=Region.Level.COUNTY):
        streets = [per_township[t.pk] for t in county.children.all() if t.is_subdistrict]
        towns = [per_township[t.pk] for t in county.children.all() if not t.is_subdistrict]
        assert all(per_township[t.pk] >= 1 for t in county.children.all())
        if streets and towns:
            assert sum(streets) / len(streets) > sum(towns) / len(towns), county.name


def test_grades_give_each_county_a_model_centre_and_about_8_percent_level_2_or_above(seed_output):
    ranks = held_rank()
    models = Centre.objects.filter(pk__in=[pk for pk, rank in ranks.items() if rank == 4])
    assert 6 <= models.count() <= 10
    assert set(models.values_list("township__parent__name", flat=True)) == set(COUNTIES)
    level_2_up = sum(1 for rank in ranks.values() if rank >= 2)
    assert 0.06 <= level_2_up / Centre.objects.count() <= 0.10
    assert sum(1 for rank in ranks.values() if rank == 1) > 20


def test_grades_are_awarded_after_filing_with_some_promotions(seed_output):
    for g in CentreGrade.objects.select_related("centre"):
        assert g.awarded_on >= g.centre.filed_on
    promoted = 0
    for centre in Centre.objects.filter(grades__valid_until__isnull=False).distinct():
        history = list(centre.grades.order_by("awarded_on").select_related("grade"))
        for earlier, later in zip(history, history[1:], strict=False):
            assert earlier.valid_until == later.awarded_on - datetime.timedelta(days=1)
            assert later.grade.rank > earlier.grade.rank
        promoted += 1
    assert promoted >= 2
    assert CentreGrade.objects.filter(grade__name="三级", valid_until__isnull=False).count() >= 2


def test_it_signs_most_required_pairs_and_leaves_a_few_missing(seed_output):
    from mch_link.demo import DEMO_DAY
    from mch_link.selectors import coverage

    report = coverage(DEMO_DAY)
    totals = report.totals
    assert Contract.objects.filter(status="signed").count() == totals.covered_pairs
    assert 0.85 <= totals.covered_pairs / totals.required_pairs < 1
    assert report.missing_pairs and not report.extra_contracts
    assert 0.85 <= totals.signed_guidance_rate < 1


# --------------------------------------------------------------------------- users


@pytest.mark.parametrize("username, role, organisation", [
    ("admin", Role.CITY_ADMIN, "绍兴市"),
    ("reviewer", Role.COUNTY_REVIEWER, "越城区"),
    ("manager", Role.PROVIDER_MANAGER, "塔山街道社区卫生服务中心"),
    ("doctor", Role.DOCTOR, "塔山街道社区卫生服务中心"),
    ("citymch", Role.PROVIDER_MANAGER, "绍兴市妇幼保健院"),
])
def test_demo_users_have_their_roles(seed_output, username, role, organisation):
    m = user(username).membership
    assert (m.role, str(m.organisation)) == (role, organisation)
    assert user(username).first_name
    assert username in seed_output and organisation in seed_output


def test_the_second_doctor_and_centre_work_in_another_county(seed_output):
    doctor2, centre2 = user("doctor2").membership, user("centre2").membership
    assert doctor2.role == Role.DOCTOR
    assert doctor2.provider.kind == Provider.Kind.TOWNSHIP
    assert doctor2.provider.region.parent.name == "柯桥区"
    assert centre2.role == Role.CENTRE_STAFF
    assert centre2.centre.township.parent.name == "柯桥区"
    centre = user("centre").membership
    assert centre.role == Role.CENTRE_STAFF and centre.centre.township.name == "塔山街道"
    assert centre.centre.closed_on is None and centre2.centre.closed_on is None


def test_every_demo_user_logs_in_with_the_shared_password(seed_output):
    for username in ["admin", "reviewer", "manager", "doctor", "doctor2", "centre", "centre2", "citymch"]:
        assert authenticate(username=username, password=DEFAULT_PASSWORD) is not None, username
    assert DEFAULT_PASSWORD in seed_output


def test_each_demo_user_has_a_hash_of_its_own(seed_output):
    """Each stored hash has its own salt, even for the shared demo password: one user's hash
    says nothing about another's."""
    hashes = list(get_user_model().objects.values_list("password", flat=True))
    assert len(hashes) >= 8 and len(set(hashes)) == len(hashes)


def test_the_city_admin_reaches_django_admin_without_being_superuser(seed_output):
    admin = user("admin")
    assert admin.is_staff and not admin.is_superuser
    assert admin.has_perm("mch_link.change_centre") and admin.has_perm("mch_link.add_provider")
    assert admin.has_perm("mch_link.view_auditevent")
    assert not admin.has_perm("mch_link.change_auditevent")
    assert not admin.has_perm("auth.change_user")
    assert not user("doctor").is_staff


# --------------------------------------------------------------------------- scoping on the demo


def test_the_doctor_sees_only_the_centres_of_its_township(seed_output):
    tashan = set(Centre.objects.filter(township__name="塔山街道").values_list("pk", flat=True))
    assert tashan
    assert set(scoped(user("doctor"), Centre).values_list("pk", flat=True)) == tashan
    assert not tashan & set(scoped(user("doctor2"), Centre).values_list("pk", flat=True))
    assert scoped(user("doctor2"), Centre).exists()


def test_the_reviewer_sees_only_its_county(seed_output):
    yuecheng = set(Centre.objects.filter(township__parent__name="越城区").values_list("pk", flat=True))
    assert set(scoped(user("reviewer"), Centre).values_list("pk", flat=True)) == yuecheng
    assert scoped(user("admin"), Centre).count() == 500


def test_centre_staff_see_only_their_centre(seed_output):
    centre = user("centre")
    assert list(scoped(centre, Centre)) == [centre.membership.centre]


# --------------------------------------------------------------------------- idempotence


def test_a_second_run_changes_nothing(seed_output):
    assert "Total: 0 created" not in seed_output
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "Total: 0 created, 0 updated, " in output
    assert ", 0 deleted" in output


def test_a_new_password_resets_the_demo_users_only(seed_output):
    output = seed("--password", "another-demo-pass")
    assert "auth.User" in output
    assert "Total: 0 created, 8 updated, " in output
    assert authenticate(username="doctor", password="another-demo-pass") is not None


def test_a_dry_run_reports_and_rolls_back(seed_output):
    before = snapshot()
    output = seed("--password", "another-demo-pass", "--dry-run")
    assert "8 updated" in output and "dry run" in output
    assert snapshot() == before


def test_it_refuses_to_run_with_debug_off_unless_forced(seed_output, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=io.StringIO())


def test_the_plan_is_the_same_every_time():
    regions = read_regions()
    assert demo_plan(regions) == demo_plan(regions)
    assert demo_plan(regions).centres != demo_plan(regions, seed=1).centres
