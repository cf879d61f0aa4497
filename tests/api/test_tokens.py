"""Personal access tokens: created on the user's page and shown once, stored hashed, listed
with their last use, revoked (then 401); the session for the app's own pages (CSRF on
writes); 429 with Retry-After past the rate limit."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from api.models import ApiToken, hash_token

from .conftest import at, bearer

pytestmark = pytest.mark.django_db
REGIONS = "/api/v1/regions"


def create(client, user, name="省托育平台同步"):
    client.force_login(user)
    response = client.post(reverse("api_tokens"), {"name": name})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user, name=name)
    raw = response.context["created"]
    client.logout()
    return token, raw


class TestTokenPage:
    def test_a_new_token_is_shown_once_and_stored_only_as_its_hash(self, world, client):
        token, raw = create(client, world.alice)
        assert raw.startswith("mch_") and len(raw) > 40
        assert token.key_hash == hash_token(raw) and raw not in (token.key_hash, token.hint)
        client.force_login(world.alice)
        page = client.get(reverse("api_tokens")).content.decode()
        assert "省托育平台同步" in page and token.hint in page
        assert raw not in page  # never again

    def test_a_token_works_as_bearer_and_its_last_use_is_kept(self, world, client):
        token, raw = create(client, world.alice)
        assert token.last_used_at is None
        with at(datetime.date(2026, 11, 30)):
            response = client.get(REGIONS, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 200
        token.refresh_from_db()
        assert token.last_used_at.date() == datetime.date(2026, 11, 30)

    def test_a_revoked_token_gets_401(self, world, client):
        token, raw = create(client, world.alice)
        client.force_login(world.alice)
        assert client.post(reverse("api_token_revoke", args=[token.pk]), {"confirmed": "1"}).status_code == 302
        client.logout()
        response = client.get(REGIONS, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 401
        assert "访问令牌" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_revoking_asks_for_confirmation_first_without_script(self, world, client):
        token, raw = create(client, world.alice)
        client.force_login(world.alice)
        listing = client.get(reverse("api_tokens")).content.decode()
        url = reverse("api_token_revoke", args=[token.pk])
        assert f'href="{url}"' in listing  # a link to the confirmation, not a one-tap form
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "确定吊销令牌“省托育平台同步”" in html and "确认吊销" in html and 'name="confirmed"' in html
        assert client.post(url).status_code == 200  # a POST without the confirmation: asked again
        token.refresh_from_db()
        assert token.revoked_at is None
        assert client.get(REGIONS, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
        response = client.post(url, {"confirmed": "1"}, follow=True)
        assert "已吊销访问令牌“省托育平台同步”" in response.content.decode()
        token.refresh_from_db()
        assert token.revoked_at is not None
        assert client.get(url).status_code == 302  # revoked already: back to the list

    def test_nobody_revokes_another_users_token(self, world, client):
        token, raw = create(client, world.alice)
        client.force_login(world.bob)
        assert client.get(reverse("api_token_revoke", args=[token.pk])).status_code == 404
        assert client.post(reverse("api_token_revoke", args=[token.pk]), {"confirmed": "1"}).status_code == 404
        assert client.get(REGIONS, headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    def test_the_page_lists_only_ones_own_tokens(self, world, client):
        create(client, world.alice, "甲的令牌")
        client.force_login(world.bob)
        assert "甲的令牌" not in client.get(reverse("api_tokens")).content.decode()

    def test_the_user_menu_links_to_the_token_page(self, world, client):
        client.force_login(world.alice)
        assert reverse("api_tokens") in client.get(reverse("mch_link:home")).content.decode()


class TestAuthentication:
    def test_without_credentials_401_in_chinese(self, world, client):
        response = client.get(REGIONS)
        assert response.status_code == 401
        assert "请提供有效的访问令牌" in response.json()["detail"]

    @pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Token abc", "Basic YWxpY2U6eA=="])
    def test_a_wrong_token_is_401(self, world, client, header):
        assert client.get(REGIONS, headers={"Authorization": header}).status_code == 401

    def test_an_inactive_users_token_is_401(self, world, client):
        headers = bearer(world.alice)
        world.alice.is_active = False
        world.alice.save()
        assert client.get(REGIONS, headers=headers).status_code == 401

    def test_the_login_session_reads(self, world, client):
        client.force_login(world.alice)
        assert client.get(REGIONS).status_code == 200

    def test_the_login_session_needs_the_csrf_token_to_write(self, planned, client):
        from django.test import Client

        csrf_client = Client(enforce_csrf_checks=True)
        csrf_client.force_login(planned.carol)
        path = f"/api/v1/sessions/{planned.guidance.pk}/move"
        response = csrf_client.post(path, {}, content_type="application/json")
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]


class TestRateLimit:
    def test_past_the_limit_429_with_retry_after_until_the_next_minute(self, world, client, settings):
        settings.API_RATE_LIMIT_PER_MINUTE = 3
        headers = bearer(world.alice)
        start = datetime.datetime(2026, 11, 30, 2, 0, 15, tzinfo=datetime.UTC)
        with time_machine.travel(start, tick=False):
            assert [client.get(REGIONS, headers=headers).status_code for _ in range(3)] == [200] * 3
            refused = client.get(REGIONS, headers=headers)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "45"
        assert "45 秒后再试" in refused.json()["detail"]
        with time_machine.travel(start + datetime.timedelta(seconds=45), tick=False):
            assert client.get(REGIONS, headers=headers).status_code == 200

    def test_each_token_has_its_own_count(self, world, client, settings):
        settings.API_RATE_LIMIT_PER_MINUTE = 1
        first, second = bearer(world.alice), bearer(world.alice)
        with at(datetime.date(2026, 11, 30)):  # one minute: the clock stands still
            assert client.get(REGIONS, headers=first).status_code == 200
            assert client.get(REGIONS, headers=first).status_code == 429
            assert client.get(REGIONS, headers=second).status_code == 200
