import datetime
from types import SimpleNamespace

import pytest

from mch_link.models import Provider, Role
from tests import factories as f


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(db):
    """A small Shaoxing: one city, two counties, three townships, their providers, centres
    and one user per role. Read as: alice runs the city, bob reviews 越城区, carol manages
    塔山's health centre, dan is a doctor there, erin a doctor at 柯桥街道, fay works at a
    centre in 塔山, gus at a centre in 柯桥."""
    city = f.region("330600", "绍兴市")
    yc = f.region("330602", "越城区", parent=city)
    kq = f.region("330603", "柯桥区", parent=city)
    tashan = f.region("330602001", "塔山街道", parent=yc)
    fusheng = f.region("330602017", "富盛镇", parent=yc)
    keqiao = f.region("330603001", "柯桥街道", parent=kq)
    city_mch = f.provider("P-CITY", "绍兴市妇幼保健院", Provider.Kind.CITY_MCH, city, doctors=4)
    yc_mch = f.provider("P-YC", "越城区妇幼保健院", Provider.Kind.COUNTY_MCH, yc, doctors=3)
    kq_mch = f.provider("P-KQ", "柯桥区妇幼保健院", Provider.Kind.COUNTY_MCH, kq, doctors=3)
    tashan_chc = f.provider("P-TS", "塔山街道社区卫生服务中心", Provider.Kind.COMMUNITY, tashan)
    fusheng_thc = f.provider("P-FS", "富盛镇卫生院", Provider.Kind.TOWNSHIP, fusheng)
    keqiao_chc = f.provider("P-KQJD", "柯桥街道社区卫生服务中心", Provider.Kind.COMMUNITY, keqiao)
    sunny = f.centre("阳光托育园", tashan, grade="市级示范")
    little = f.centre("小星星托育", tashan, grade="二级")
    rice = f.centre("稻香托育", fusheng)
    bamboo = f.centre("竹韵托育", keqiao, grade="一级")
    w = SimpleNamespace(
        city=city, yc=yc, kq=kq, tashan=tashan, fusheng=fusheng, keqiao=keqiao,
        city_mch=city_mch, yc_mch=yc_mch, kq_mch=kq_mch, tashan_chc=tashan_chc,
        fusheng_thc=fusheng_thc, keqiao_chc=keqiao_chc,
        sunny=sunny, little=little, rice=rice, bamboo=bamboo,
        today=datetime.date(2026, 11, 29),
    )
    w.alice = f.user("alice", Role.CITY_ADMIN, city)
    w.bob = f.user("bob", Role.COUNTY_REVIEWER, yc)
    w.carol = f.user("carol", Role.PROVIDER_MANAGER, tashan_chc)
    w.dan = f.user("dan", Role.DOCTOR, tashan_chc)
    w.erin = f.user("erin", Role.DOCTOR, keqiao_chc)
    w.fay = f.user("fay", Role.CENTRE_STAFF, sunny)
    w.gus = f.user("gus", Role.CENTRE_STAFF, bamboo)
    return w


@pytest.fixture(autouse=True)
def registry_parts():
    """The dashboard's registry parts are kept in the process under the registry version, which
    every test's rollback gives back: none may outlive its test."""
    from reports.views import forget_registry_parts

    forget_registry_parts()
    yield
    forget_registry_parts()
