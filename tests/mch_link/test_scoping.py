import pytest
from django.urls import reverse

from mch_link.models import Centre, Contract, Provider, Region
from mch_link.scoping import scoped

pytestmark = pytest.mark.django_db


def names(qs):
    return sorted(x.name for x in qs)


def test_city_admin_sees_the_whole_city(world):
    assert names(scoped(world.alice, Centre)) == ["小星星托育", "稻香托育", "竹韵托育", "阳光托育园"]
    assert scoped(world.alice, Provider).count() == 6


def test_county_reviewer_sees_only_its_county(world):
    assert names(scoped(world.bob, Centre)) == ["小星星托育", "稻香托育", "阳光托育园"]
    assert "柯桥区妇幼保健院" not in names(scoped(world.bob, Provider))
    assert "柯桥街道" not in names(scoped(world.bob, Region))


def test_doctor_sees_only_the_centres_of_its_township(world):
    assert names(scoped(world.dan, Centre)) == ["小星星托育", "阳光托育园"]
    assert names(scoped(world.erin, Centre)) == ["竹韵托育"]
    assert names(scoped(world.dan, Provider)) == ["塔山街道社区卫生服务中心"]


def test_centre_staff_sees_only_its_centre(world):
    assert names(scoped(world.fay, Centre)) == ["阳光托育园"]
    assert scoped(world.fay, Provider).count() == 0


def test_centre_staff_does_not_see_draft_contracts(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, valid_from=world.today,
                            valid_to=world.today)
    assert scoped(world.fay, Contract).count() == 0
    assert scoped(world.carol, Contract).count() == 1


def test_user_without_membership_sees_nothing(world, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x")
    assert scoped(nobody, Centre).count() == 0


@pytest.mark.parametrize("who", ["erin", "gus"])
def test_another_organisation_gets_404_on_a_centre_page(world, client, who):
    client.force_login(getattr(world, who))
    response = client.get(reverse("mch_link:centre_detail", args=[world.sunny.code]))
    assert response.status_code == 404


def test_doctor_home_page_shows_its_organisation(world, client):
    client.force_login(world.dan)
    response = client.get(reverse("mch_link:home"))
    assert response.status_code == 200
    assert "塔山街道社区卫生服务中心" in response.content.decode()


def test_centre_list_shows_only_visible_centres(world, client):
    client.force_login(world.erin)
    html = client.get(reverse("mch_link:centre_list")).content.decode()
    assert "竹韵托育" in html and "阳光托育园" not in html


def test_pages_require_login(client, world):
    response = client.get(reverse("mch_link:home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
