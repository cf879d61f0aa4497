"""The demo Shaoxing: regions, providers, centres with grade histories, and one user per role.

Two steps, kept apart so each can be read and tested alone:

1. `demo_plan(regions)` is pure: the region rows of data/shaoxing-regions.csv and a seed in,
   plain dataclasses out. It draws from one `random.Random(seed)`, so the same inputs give the
   same demo on every machine.
2. `demo_registry_build(...)` writes a plan through the importer's write layer
   (`importer.write.upsert`, by natural key per table: region code, provider code, centre
   code, centre + awarded_on, username, user), so a second run finds every row as it wants
   it and changes nothing. It returns a Tally per table.

By default a run only fills in what is missing: a row that exists keeps whatever users made
of it (a renamed centre, a changed password, a contract signed or ended by hand), and
contracts are only drafted for demo centres whose pair has no contract at all, so `make run`
can run again after real use. `update=True` makes the demo's rows as the plan says again;
`make reset-demo` starts from an empty database instead.

`demo_seed(...)` runs both in one transaction, then any later steps (contracts) registered in
DEMO_STEPS_AFTER_REGISTRY. The registry builder itself never creates contracts.
"""

import csv
import datetime
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Permission
from django.db import transaction

from .importer.write import Tally, upsert
from .models import Centre, CentreGrade, Grade, Membership, Ownership, Provider, Region, Role
from .validators import USCC_CHARSET, parse_cn_phone, uscc_check_char

SEED = 20260601
DEFAULT_PASSWORD = "mch-demo-2026"
CENTRE_COUNT = 500

# Shares of the city's centres by county, in percent (roughly by population).
COUNTY_SHARES = {
    "越城区": 20, "柯桥区": 23, "上虞区": 18, "诸暨市": 23, "嵊州市": 9, "新昌县": 7,
}
# A township's pull on centres: 街道 are urban and hold more of them than 镇/乡.
SUBDISTRICT_WEIGHT, RURAL_WEIGHT = 3.0, 1.0

# Grade counts for CENTRE_COUNT centres: 8 + 12 + 20 = 40 (8%) are 二级 or above.
CITY_MODEL_COUNT, LEVEL_1_COUNT, LEVEL_2_COUNT, LEVEL_3_COUNT = 8, 12, 20, 75
CLOSED_COUNT = 10  # about 2%

FILED_FROM, FILED_TO = datetime.date(2021, 1, 1), datetime.date(2026, 6, 30)
AWARDED_TO = datetime.date(2026, 6, 30)
CLOSED_FROM, CLOSED_TO = datetime.date(2025, 1, 1), datetime.date(2026, 9, 30)

# Apps whose models the city admin manages through Django admin. The audit trail stays
# read-only for everyone: it is written by the application, never by hand.
ADMIN_APPS = ("mch_link", "scheduling", "reports")
ADMIN_PERMISSIONS_EXCLUDED = ("add_auditevent", "change_auditevent", "delete_auditevent")

# Later demo steps, run after the registry inside the same transaction: each is called as
# step(result) with the DemoResult and returns {table label: Tally}, which is merged into
# result.tallies. The contracts step belongs here (e.g. `(demo_contracts_build,)`).
DEMO_STEPS_AFTER_REGISTRY = ()  # set below, once demo_contracts_build is defined

# Landline prefixes after 0575-8 by county, as Shaoxing's exchanges are laid out.
LANDLINE_PREFIX = {"绍兴市": "8", "越城区": "5", "柯桥区": "4", "上虞区": "2", "诸暨市": "7",
                   "嵊州市": "3", "新昌县": "6"}
MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "157", "158", "159", "187", "188", "189")
ROAD_STEMS = ("人民", "解放", "中兴", "胜利", "环城", "建设", "新华", "文化", "和平", "兴业",
              "振兴", "育才", "惠民", "健康", "长安", "学府", "湖滨", "江滨", "望江", "云栖")
ROAD_KINDS = ("路", "路", "街", "大道")
CENTRE_WORDS = ("阳光", "小太阳", "贝贝", "童心", "启蒙", "爱心", "七彩", "小橡树", "金色童年", "未来星",
                "蓝天", "彩虹", "小天使", "快乐宝贝", "小脚丫", "萌芽", "春苗", "嘟嘟", "乐贝", "暖阳",
                "星星河", "小博士", "悦宝", "禾苗", "知音", "小蜜蜂", "亲亲", "童年时光", "育英", "朵朵")
CENTRE_SUFFIXES = ("托育园", "托育中心", "婴幼园", "宝贝屋")
CENTRE_SUFFIX_WEIGHTS = (5, 3, 2, 1)
OWNERSHIP_WEIGHTS = {"民办": 78, "公办": 5, "公建民营": 6, "用人单位办": 4, "幼儿园托班": 7}

# Township of the demo's doctor2 and centre2: a 镇 in 柯桥区, so its 卫生院 and a centre meet.
DOCTOR2_TOWNSHIP = "平水镇"
HOME_TOWNSHIP = "塔山街道"
HOME_COUNTY = "越城区"


# --------------------------------------------------------------------------- the plan (pure)


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    parent_code: str


@dataclass
class ProviderPlan:
    code: str
    name: str
    kind: str
    region_code: str
    phone: str
    address: str
    doctors: int


@dataclass
class GradePlan:
    grade: str  # Grade.name
    awarded_on: datetime.date
    valid_until: datetime.date | None = None


@dataclass
class CentrePlan:
    code: str
    name: str
    township_code: str
    county: str
    ownership: str  # Ownership.name
    places: int
    phone: str
    address: str
    filed_on: datetime.date
    closed_on: datetime.date | None = None
    grades: list[GradePlan] = field(default_factory=list)

    @property
    def grade(self):
        """The grade held now (the latest award), or None."""
        return self.grades[-1].grade if self.grades else None


@dataclass
class UserPlan:
    username: str
    first_name: str
    role: str
    region_code: str = ""
    provider_code: str = ""
    centre_code: str = ""
    organisation: str = ""
    is_staff: bool = False


@dataclass
class DemoPlan:
    regions: list[RegionRow]
    providers: list[ProviderPlan]
    centres: list[CentrePlan]
    users: list[UserPlan]


def read_regions(path=None):
    """The rows of data/shaoxing-regions.csv (code, name, level, parent_code), in file order."""
    path = Path(path or settings.BASE_DIR / "data" / "shaoxing-regions.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return [RegionRow(r["code"], r["name"], r["level"], r["parent_code"] or "")
                for r in csv.DictReader(fh)]


def short_name(township):
    """塔山街道 -> 塔山, 章镇镇 -> 章镇, 城南乡 -> 城南: the name without its suffix."""
    for suffix in ("街道", "镇", "乡"):
        if township.endswith(suffix) and len(township) > len(suffix):
            return township[: -len(suffix)]
    return township


def apportion(total, weights, minimum=0):
    """Split `total` into integers in proportion to `weights`, each at least `minimum`
    (largest remainder; ties go to the earlier index, so the split is deterministic)."""
    rest = total - minimum * len(weights)
    quotas = [rest * w / sum(weights) for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - quotas[i], i))
    for i in by_remainder[: rest - sum(shares)]:
        shares[i] += 1
    return [minimum + s for s in shares]


def organisation_code_check(body8):
    """The 9th character of a GB 11714 organisation code whose first 8 are given."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body8, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


class _Draw:
    """The plan's random draws, all from one seeded generator."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.phones = set()
        self.codes = set()
        self.names = set()

    def date(self, start, end):
        return start + datetime.timedelta(days=self.rng.randint(0, (end - start).days))

    def landline(self, county):
        while True:
            number = f"0575-8{LANDLINE_PREFIX[county]}{self.rng.randint(0, 999999):06d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def mobile(self):
        while True:
            number = f"{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randint(0, 99999999):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def address(self, county, township=""):
        if township and self.rng.random() < 0.4:
            road = short_name(township) + self.rng.choice(ROAD_KINDS)
        else:
            road = self.rng.choice(ROAD_STEMS) + self.rng.choice(ROAD_KINDS)
        return f"浙江省绍兴市{county}{township}{road}{self.rng.randint(1, 688)}号"

    def uscc(self, county_code, ownership):
        """A unified social credit code: registration authority and kind by ownership
        (12 事业单位, 52 民办非企业单位, 91 企业), the county's code, an organisation code."""
        if ownership == "公办":
            head = "12"
        elif ownership == "幼儿园托班":
            head = self.rng.choice(("12", "52"))
        elif ownership == "用人单位办":
            head = "91"
        elif ownership == "公建民营":
            head = "52"
        else:
            head = self.rng.choice(("52", "52", "91"))
        while True:
            if head == "12":
                body = "4" + "".join(self.rng.choice("0123456789") for _ in range(7))
            else:
                body = "MA2" + "".join(self.rng.choice(USCC_CHARSET) for _ in range(5))
            first17 = f"{head}{county_code}{body}{organisation_code_check(body)}"
            code = first17 + uscc_check_char(first17)
            if code not in self.codes:
                self.codes.add(code)
                return code

    def centre_name(self, township, ownership):
        short = short_name(township)
        for _ in range(1000):
            word = self.rng.choice(CENTRE_WORDS)
            if ownership == "幼儿园托班":
                suffix = "幼儿园托班"
            elif ownership == "用人单位办":
                suffix = "职工托育中心"
            else:
                suffix = self.rng.choices(CENTRE_SUFFIXES, CENTRE_SUFFIX_WEIGHTS)[0]
            name = f"{short}{word}{suffix}"
            if name not in self.names:
                self.names.add(name)
                return name
        raise RuntimeError(f"no free centre name left in {township}")


def _plan_providers(draw, city, counties, townships):
    # The city MCH agency stands in 越城区, the city's seat.
    providers = [ProviderPlan(
        code=f"PMCH{city.code}", name=f"{city.name}妇幼保健院", kind=Provider.Kind.CITY_MCH,
        region_code=city.code, phone=draw.landline(city.name),
        address=draw.address("越城区"), doctors=draw.rng.randint(6, 8),
    )]
    for county in counties:
        providers.append(ProviderPlan(
            code=f"PMCH{county.code}", name=f"{county.name}妇幼保健院", kind=Provider.Kind.COUNTY_MCH,
            region_code=county.code, phone=draw.landline(county.name),
            address=draw.address(county.name), doctors=draw.rng.randint(4, 7),
        ))
    names = {c.code: c.name for c in counties}
    for township in townships:
        street = township.name.endswith("街道")
        county = names[township.parent_code]
        providers.append(ProviderPlan(
            code=f"PG{township.code}",
            name=f"{township.name}{'社区卫生服务中心' if street else '卫生院'}",
            kind=Provider.Kind.COMMUNITY if street else Provider.Kind.TOWNSHIP,
            region_code=township.code, phone=draw.landline(county),
            address=draw.address(county, township.name), doctors=draw.rng.randint(2, 4),
        ))
    return providers


def _plan_centres(draw, counties, townships):
    rng = draw.rng
    county_totals = apportion(CENTRE_COUNT, [COUNTY_SHARES[c.name] for c in counties])
    centres = []
    span = (FILED_TO - FILED_FROM).days
    ownerships, ownership_weights = zip(*OWNERSHIP_WEIGHTS.items(), strict=True)
    for county, total in zip(counties, county_totals, strict=True):
        own = [t for t in townships if t.parent_code == county.code]
        weights = [(SUBDISTRICT_WEIGHT if t.name.endswith("街道") else RURAL_WEIGHT) * rng.uniform(0.7, 1.3)
                   for t in own]
        for township, count in zip(own, apportion(total, weights, minimum=1), strict=True):
            for _ in range(count):
                ownership = rng.choices(ownerships, ownership_weights)[0]
                # Filings grew year on year: a triangular draw leaning to the recent end.
                filed_on = FILED_FROM + datetime.timedelta(days=int(rng.triangular(0, span, span * 0.7)))
                centres.append(CentrePlan(
                    code=draw.uscc(county.code, ownership),
                    name=draw.centre_name(township.name, ownership),
                    township_code=township.code, county=county.name, ownership=ownership,
                    places=rng.randrange(20, 151, 5),
                    phone=draw.landline(county.name) if rng.random() < 0.7 else draw.mobile(),
                    address=draw.address(county.name, township.name),
                    filed_on=filed_on,
                ))
    return centres


def _after(day, days, floor):
    """`days` after `day`, but not before `floor`."""
    return max(day + datetime.timedelta(days=days), floor)


def _plan_grades(draw, centres, counties, townships):
    """Give grades with histories; returns nothing, fills CentrePlan.grades."""
    rng = draw.rng
    township_name = {t.code: t.name for t in townships}
    free = list(centres)

    def take(pool, n):
        pool = [c for c in pool if c in free]
        picked = rng.sample(pool, min(n, len(pool)))
        for c in picked:
            free.remove(c)
        return picked

    # 市级示范: at least one per county, the rest by share. Candidates have run a year or more.
    model_counts = apportion(CITY_MODEL_COUNT, [COUNTY_SHARES[c.name] for c in counties], minimum=1)
    models = []
    for county, n in zip(counties, model_counts, strict=True):
        pool = [c for c in centres if c.county == county.name and c.filed_on <= datetime.date(2024, 6, 30)]
        if county.name == HOME_COUNTY:
            # The home county's model centre sits in the demo township, so the `centre` user
            # works at a centre all three tiers must sign with.
            home = [c for c in pool if township_name[c.township_code] == HOME_TOWNSHIP]
            models += take(home, 1)
            n -= 1
        models += take(pool, n)
    for c in models:
        if c.filed_on <= datetime.date(2023, 6, 30):
            first = draw.date(_after(c.filed_on, 365, datetime.date(2022, 7, 1)), datetime.date(2024, 6, 30))
            second = draw.date(first + datetime.timedelta(days=365), AWARDED_TO)
            c.grades = [GradePlan("一级", first, second - datetime.timedelta(days=1)),
                        GradePlan("市级示范", second)]
        else:
            c.grades = [GradePlan("市级示范", draw.date(_after(c.filed_on, 365, datetime.date(2023, 1, 1)),
                                                    AWARDED_TO))]

    graded_pool = [c for c in centres if c.filed_on <= datetime.date(2025, 6, 30)]
    level_2 = take(graded_pool, LEVEL_2_COUNT)
    # Promotions: the earliest-filed 二级 centres were 三级 in 2023 and went up in 2025.
    promoted = sorted((c for c in level_2 if c.filed_on <= datetime.date(2022, 12, 31)),
                      key=lambda c: (c.filed_on, c.code))[:3]
    for c in level_2:
        if c in promoted:
            first = draw.date(_after(c.filed_on, 180, datetime.date(2023, 1, 1)), datetime.date(2023, 12, 31))
            second = draw.date(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
            c.grades = [GradePlan("三级", first, second - datetime.timedelta(days=1)),
                        GradePlan("二级", second)]
        else:
            c.grades = [GradePlan("二级", draw.date(_after(c.filed_on, 180, datetime.date(2022, 1, 1)),
                                                  AWARDED_TO))]
    for grade, n in (("一级", LEVEL_1_COUNT), ("三级", LEVEL_3_COUNT)):
        for c in take(graded_pool, n):
            c.grades = [GradePlan(grade, draw.date(_after(c.filed_on, 180, datetime.date(2022, 1, 1)),
                                                 AWARDED_TO))]


def _plan_closures(draw, centres, keep_open):
    pool = [c for c in centres if not c.grades and c.code not in keep_open
            and c.filed_on <= datetime.date(2025, 6, 30)]
    for c in draw.rng.sample(pool, CLOSED_COUNT):
        c.closed_on = draw.date(_after(c.filed_on, 180, CLOSED_FROM), CLOSED_TO)


def _plan_users(city, providers, centres, townships):
    by_name = {p.name: p for p in providers}
    township_code = {t.name: t.code for t in townships}
    home_provider = by_name[f"{HOME_TOWNSHIP}社区卫生服务中心"]
    doctor2_provider = by_name[f"{DOCTOR2_TOWNSHIP}卫生院"]
    city_mch = by_name[f"{city.name}妇幼保健院"]

    def first_centre(township):
        # Graded centres first, so the centre users see more of the tier rules at work.
        here = [c for c in centres if c.township_code == township_code[township]]
        return sorted(here, key=lambda c: (c.grade is None, c.filed_on, c.code))[0]

    home_centre, other_centre = first_centre(HOME_TOWNSHIP), first_centre(DOCTOR2_TOWNSHIP)
    county = next(t for t in townships if t.name == HOME_TOWNSHIP).parent_code
    return [
        UserPlan("admin", "周主任", Role.CITY_ADMIN, region_code=city.code, organisation=city.name,
                 is_staff=True),
        UserPlan("reviewer", "李科长", Role.COUNTY_REVIEWER, region_code=county, organisation=HOME_COUNTY),
        UserPlan("manager", "赵主任", Role.PROVIDER_MANAGER, provider_code=home_provider.code,
                 organisation=home_provider.name),
        UserPlan("doctor", "王医生", Role.DOCTOR, provider_code=home_provider.code,
                 organisation=home_provider.name),
        UserPlan("doctor2", "刘医生", Role.DOCTOR, provider_code=doctor2_provider.code,
                 organisation=doctor2_provider.name),
        UserPlan("centre", "孙园长", Role.CENTRE_STAFF, centre_code=home_centre.code,
                 organisation=home_centre.name),
        UserPlan("centre2", "吴园长", Role.CENTRE_STAFF, centre_code=other_centre.code,
                 organisation=other_centre.name),
        UserPlan("citymch", "钱院长", Role.PROVIDER_MANAGER, provider_code=city_mch.code,
                 organisation=city_mch.name),
    ]


def demo_plan(regions, *, seed=SEED):
    """The whole demo as plain data, from the region rows and a seed. No ORM, no clock."""
    draw = _Draw(seed)
    city = next(r for r in regions if r.level == Region.Level.CITY)
    counties = [r for r in regions if r.level == Region.Level.COUNTY]
    townships = [r for r in regions if r.level == Region.Level.TOWNSHIP]
    providers = _plan_providers(draw, city, counties, townships)
    centres = _plan_centres(draw, counties, townships)
    _plan_grades(draw, centres, counties, townships)
    users = _plan_users(city, providers, centres, townships)
    _plan_closures(draw, centres, keep_open={u.centre_code for u in users if u.centre_code})
    return DemoPlan(regions=list(regions), providers=providers, centres=centres, users=users)


# --------------------------------------------------------------------------- writing it


@dataclass
class DemoResult:
    plan: DemoPlan
    password: str
    tallies: dict[str, Tally] = field(default_factory=dict)
    # False: create what is missing and leave existing rows alone (see the module docstring)
    update: bool = False

    def total(self):
        total = Tally()
        for tally in self.tallies.values():
            total += tally
        return total


def _phone(text):
    number, ext = parse_cn_phone(text)
    return {"phone": number, "phone_ext": ext}


def _write_regions(plan, result):
    tally, pks = Tally(), {}
    # Parents before children: the city, then counties, then townships.
    for level in (Region.Level.CITY, Region.Level.COUNTY, Region.Level.TOWNSHIP):
        rows = {(r.code,): {"name": r.name, "level": r.level,
                            "parent_id": pks[(r.parent_code,)] if r.parent_code else None}
                for r in plan.regions if r.level == level}
        t, level_pks = upsert(Region, ("code",), rows, Region.objects.filter(code__in=[k[0] for k in rows]),
                              update=result.update)
        tally += t
        pks.update(level_pks)
    result.tallies["mch_link.Region"] = tally
    return {code: pk for (code,), pk in pks.items()}


def _write_providers(plan, result, region_pks):
    rows = {(p.code,): {"name": p.name, "kind": p.kind, "region_id": region_pks[p.region_code],
                        "address": p.address, "doctors": p.doctors, **_phone(p.phone)}
            for p in plan.providers}
    tally, pks = upsert(Provider, ("code",), rows, Provider.objects.filter(code__in=[k[0] for k in rows]),
                        update=result.update)
    result.tallies["mch_link.Provider"] = tally
    return {code: pk for (code,), pk in pks.items()}


def _write_centres(plan, result, region_pks):
    ownership = dict(Ownership.objects.values_list("name", "pk"))
    rows = {(c.code,): {"name": c.name, "township_id": region_pks[c.township_code],
                        "ownership_id": ownership[c.ownership], "places": c.places,
                        "address": c.address, "filed_on": c.filed_on, "closed_on": c.closed_on,
                        **_phone(c.phone)}
            for c in plan.centres}
    tally, pks = upsert(Centre, ("code",), rows, Centre.objects.filter(code__in=[k[0] for k in rows]),
                        update=result.update)
    result.tallies["mch_link.Centre"] = tally
    return {code: pk for (code,), pk in pks.items()}


def _write_grades(plan, result, centre_pks):
    grade = dict(Grade.objects.values_list("name", "pk"))
    rows = {(centre_pks[c.code], g.awarded_on): {"grade_id": grade[g.grade], "valid_until": g.valid_until}
            for c in plan.centres for g in c.grades}
    existing = CentreGrade.objects.filter(centre__in=centre_pks.values())
    if not result.update:
        # Filling in: only centres without any grade get the plan's history, so a grade
        # awarded or ended by hand never meets a second one held at the same time.
        graded = set(existing.values_list("centre_id", flat=True))
        rows = {key: values for key, values in rows.items() if key[0] not in graded}
        tally, _ = upsert(CentreGrade, ("centre_id", "awarded_on"), rows,
                          CentreGrade.objects.filter(centre__in={key[0] for key in rows}))
        tally.unchanged = len(graded)
        result.tallies["mch_link.CentreGrade"] = tally
        return
    # A demo centre's history is the plan's: entries the plan no longer has go first, so a
    # changed plan cannot leave two grades held at once.
    stale = [pk for pk, centre_id, awarded_on in existing.values_list("pk", "centre_id", "awarded_on")
             if (centre_id, awarded_on) not in rows]
    if stale:
        CentreGrade.objects.filter(pk__in=stale).delete()
    tally, _ = upsert(CentreGrade, ("centre_id", "awarded_on"), rows, existing)
    tally.deleted = len(stale)
    result.tallies["mch_link.CentreGrade"] = tally


def _write_users(plan, result, region_pks, provider_pks, centre_pks, password, reset_passwords):
    User = get_user_model()
    existing = {u.username: u for u in User.objects.filter(username__in=[u.username for u in plan.users])}
    # Each new hash has its own salt (mch_link/hashers.py, ~30 ms each); each distinct stored
    # hash is checked once. A user whose password already checks out keeps its hash, so a
    # second run leaves the row alone.
    checks = {}
    tally, user_pks, created = Tally(), {}, set()
    for u in plan.users:
        values = {"first_name": u.first_name, "is_staff": u.is_staff, "is_superuser": False,
                  "is_active": True}
        user = existing.get(u.username)
        if user is None:
            user = User.objects.create(username=u.username, password=make_password(password), **values)
            tally.created += 1
            created.add(user.pk)
        elif not (result.update or reset_passwords):
            tally.unchanged += 1  # a demo user's own password and name stay as they are
        else:
            changed = [name for name, value in values.items()
                       if result.update and getattr(user, name) != value]
            for name in changed:
                setattr(user, name, values[name])
            if user.password not in checks:
                checks[user.password] = check_password(password, user.password)
            if not checks[user.password]:
                user.password = make_password(password)
                changed.append("password")
            if changed:
                user.save(update_fields=changed)
                tally.updated += 1
            else:
                tally.unchanged += 1
        user_pks[u.username] = user.pk
    result.tallies["auth.User"] = tally

    memberships = {}
    for u in plan.users:
        memberships[(user_pks[u.username],)] = {
            "role": u.role,
            "region_id": region_pks[u.region_code] if u.region_code else None,
            "provider_id": provider_pks[u.provider_code] if u.provider_code else None,
            "centre_id": centre_pks[u.centre_code] if u.centre_code else None,
        }
    tally, _ = upsert(Membership, ("user_id",), memberships,
                       Membership.objects.filter(user_id__in=user_pks.values()), update=result.update)
    result.tallies["mch_link.Membership"] = tally

    admins = [user_pks[u.username] for u in plan.users
              if u.is_staff and (result.update or user_pks[u.username] in created)]
    result.tallies["auth.User.user_permissions"] = _grant_admin_permissions(admins)


def _grant_admin_permissions(user_pks):
    """Give staff demo users every permission on the project's models (not on users and
    groups, so a city admin cannot make itself superuser), with the audit trail view-only."""
    User = get_user_model()
    through = User.user_permissions.through
    wanted = set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
                 .exclude(codename__in=ADMIN_PERMISSIONS_EXCLUDED).values_list("pk", flat=True))
    tally = Tally()
    for user_pk in user_pks:
        held = set(through.objects.filter(user_id=user_pk).values_list("permission_id", flat=True))
        through.objects.bulk_create(
            [through(user_id=user_pk, permission_id=p) for p in sorted(wanted - held)])
        through.objects.filter(user_id=user_pk, permission_id__in=held - wanted).delete()
        tally += Tally(created=len(wanted - held), unchanged=len(wanted & held), deleted=len(held - wanted))
    return tally


def reference_data_ensure():
    """The grades and ownership kinds migration 0002 seeds, put back where they are missing
    (a flushed database, `seed_demo --reset`). Idempotent."""
    import importlib

    from django.apps import apps

    importlib.import_module("mch_link.migrations.0002_reference_data_and_contract_overlap").seed(apps, None)


def demo_registry_build(*, password=DEFAULT_PASSWORD, plan=None, update=False, reset_passwords=False):
    """Write the demo registry (regions, providers, centres, grades, users and memberships)
    and return a DemoResult with a Tally per table. Idempotent; no contracts. Call it inside
    a transaction (demo_seed does). `reset_passwords` gives existing demo users `password`."""
    plan = plan or demo_plan(read_regions())
    result = DemoResult(plan=plan, password=password, update=update)
    reference_data_ensure()
    region_pks = _write_regions(plan, result)
    provider_pks = _write_providers(plan, result, region_pks)
    centre_pks = _write_centres(plan, result, region_pks)
    _write_grades(plan, result, centre_pks)
    _write_users(plan, result, region_pks, provider_pks, centre_pks, password, reset_passwords)
    return result


def demo_seed(*, password=DEFAULT_PASSWORD, dry_run=False, update=False, reset_passwords=False):
    """Build the demo in one transaction: the registry, then DEMO_STEPS_AFTER_REGISTRY.
    With dry_run the transaction is rolled back and the tallies say what a run would do."""
    with transaction.atomic():
        result = demo_registry_build(password=password, update=update, reset_passwords=reset_passwords)
        for step in DEMO_STEPS_AFTER_REGISTRY:
            result.tallies.update(step(result))
        if dry_run:
            transaction.set_rollback(True)
    return result


# --------------------------------------------------------------------------- contracts

DEMO_DAY = datetime.date(2026, 11, 29)  # the rules are applied as of this fixed day
DEMO_TERM = (datetime.date(2026, 1, 1), datetime.date(2027, 12, 31))
DEMO_MISSING_PERCENT = 7  # about this share of required pairs is left unsigned, to show gaps


def _left_unsigned(provider_code, centre_code):
    digest = hashlib.sha256(f"{provider_code}|{centre_code}".encode()).digest()
    return digest[0] * 100 // 256 < DEMO_MISSING_PERCENT


def demo_contracts_build(result):
    """Sign a contract for most pairs the tier rules require on DEMO_DAY, over DEMO_TERM
    (from the filing date for centres filed later), leaving about 7% unsigned. Idempotent.
    Filling in (result.update False) touches only demo centres whose pair has no contract at
    all, so a contract drafted, signed or ended by a user is never met by an overlapping one."""
    from .models import Contract
    from .selectors import registry_as_of
    from .tiers import required_pairs

    registry = registry_as_of(DEMO_DAY)
    centres = {c.id: c for c in registry.centres}
    providers = {p.id: p for p in registry.providers}
    filed = dict(Centre.objects.values_list("pk", "filed_on"))
    rows, skipped = {}, 0
    demo_codes = {c.code for c in result.plan.centres}
    taken = set(Contract.objects.values_list("provider_id", "centre_id")) if not result.update else set()
    for pair in sorted(required_pairs(registry.centres, registry.providers)):
        if not result.update and (centres[pair.centre_id].code not in demo_codes
                                  or (pair.provider_id, pair.centre_id) in taken):
            skipped += 1
            continue
        if _left_unsigned(providers[pair.provider_id].code, centres[pair.centre_id].code):
            continue
        start = max(DEMO_TERM[0], filed[pair.centre_id])
        rows[(pair.provider_id, pair.centre_id, start)] = {
            "status": Contract.Status.SIGNED, "signed_on": start - datetime.timedelta(days=7)
            if start > DEMO_TERM[0] else datetime.date(2025, 12, 20),
            "valid_to": DEMO_TERM[1],
        }
    existing = Contract.objects.all() if result.update else \
        Contract.objects.filter(centre__in={key[1] for key in rows})
    tally, _pks = upsert(Contract, ("provider_id", "centre_id", "valid_from"), rows, existing)
    tally.unchanged += skipped
    return {"mch_link.Contract": tally}


DEMO_STEPS_AFTER_REGISTRY = (demo_contracts_build,)
