"""Hardening: login lockout (django-axes), the password policy, the Content-Security-Policy with
no inline script or style on any page, and safe settings defaults."""

import datetime
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from mch_link.models import Contract
from mch_link.security import client_ip
from scheduling.models import Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db
LOCKED = "登录失败次数过多，已暂时锁定"
PASSWORD = "correct-horse-battery"
ROOT = Path(__file__).resolve().parents[2]

throttled = override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5)


@pytest.fixture
def alice(db):
    user = f.user("alice-sec")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def admin_user(db):
    return f.user("root-sec", is_staff=True, is_superuser=True)


def attempt(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client):
    return "_auth_user_id" in client.session


# --------------------------------------------------------------------------- lockout


@throttled
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_five_failures_lock_the_account_and_the_right_password_is_then_refused(client, alice, url):
    alice.is_staff = True  # so the admin login would accept her
    alice.save()
    for _ in range(4):
        response = attempt(client, url, alice.username, "wrong")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = attempt(client, url, alice.username, "wrong")
    assert response.status_code == 429
    assert LOCKED in response.content.decode() and "15 分钟" in response.content.decode()

    response = attempt(client, url, alice.username, PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert not logged_in(client)


@throttled
def test_the_account_is_locked_from_every_address(client, alice):
    for n in range(5):
        attempt(client, "/accounts/login/", alice.username, "wrong", ip=f"10.0.1.{n}")
    response = attempt(client, "/accounts/login/", alice.username, PASSWORD, ip="10.0.2.99")
    assert response.status_code == 429 and not logged_in(client)


@throttled
def test_the_address_is_locked_for_every_account(client, alice):
    for n in range(5):
        attempt(client, "/accounts/login/", f"guess{n}", "wrong", ip="10.0.3.3")
    response = attempt(client, "/accounts/login/", alice.username, PASSWORD, ip="10.0.3.3")
    assert response.status_code == 429 and not logged_in(client)
    # Another address still logs in.
    response = attempt(client, "/accounts/login/", alice.username, PASSWORD, ip="10.0.3.4")
    assert response.status_code == 302 and logged_in(client)


@throttled
def test_fewer_failures_than_the_limit_still_log_in(client, alice):
    for _ in range(4):
        attempt(client, "/accounts/login/", alice.username, "wrong")
    response = attempt(client, "/accounts/login/", alice.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


@throttled
def test_the_lock_ends_after_the_cool_off(client, alice):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt(client, "/accounts/login/", alice.username, "wrong")
        assert attempt(client, "/accounts/login/", alice.username, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        assert attempt(client, "/accounts/login/", alice.username, PASSWORD).status_code == 302


@throttled
def test_an_admin_unlocks_through_the_admin(client, alice, admin_user):
    for _ in range(5):
        attempt(client, "/accounts/login/", alice.username, "wrong")
    lock = AccessAttempt.objects.get(username=alice.username)

    admin = type(client)()
    admin.force_login(admin_user)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and alice.username in listing.content.decode()
    admin.post(reverse("admin:axes_accessattempt_delete", args=[lock.pk]), {"post": "yes"})

    response = attempt(client, "/accounts/login/", alice.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


@throttled
def test_an_admin_unlocks_with_the_command(client, alice):
    for _ in range(5):
        attempt(client, "/accounts/login/", alice.username, "wrong")
    call_command("axes_reset_username", alice.username)
    response = attempt(client, "/accounts/login/", alice.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


@override_settings(NUMBER_OF_PROXIES=1)
def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw():
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"  # the forged left entry is ignored


def test_without_a_proxy_forwarded_for_is_ignored():
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.2", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == "198.51.100.2"


# --------------------------------------------------------------------------- password policy


@pytest.mark.parametrize("weak, reason", [("12345678901", "只包含数字"), ("abc123", "太短"),
                                          ("password123", "太常见")])
def test_weak_passwords_are_refused_in_chinese(weak, reason):
    with pytest.raises(ValidationError) as refused:
        validate_password(weak)
    assert any(reason in message for message in refused.value.messages)


def test_the_login_page_states_the_rules(client):
    html = client.get("/accounts/login/").content.decode()
    assert "密码与登录规则" in html and "至少 10 个字符" in html
    assert "连续 5 次登录失败后" in html and "锁定 15 分钟" in html


def test_a_password_change_is_checked_against_the_policy(client, alice):
    client.force_login(alice)
    page = client.get(reverse("password_change")).content.decode()
    assert "至少 10 个字符" in page
    weak = client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "1234567",
                                                    "new_password2": "1234567"})
    assert weak.status_code == 200 and "太短" in weak.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    good = client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "绿水青山-2026-mch",
                                                    "new_password2": "绿水青山-2026-mch"})
    assert good.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("绿水青山-2026-mch")


# --------------------------------------------------------------------------- CSP and inline code


class InlineFinder(HTMLParser):
    """Inline <script>, <style> elements, style= and on*= attributes in a page. Speculation
    rules (JSON the browser reads, no code: mch_link/prefetch.py) are allowed with the nonce of
    the page's policy, `nonce`."""

    def __init__(self, nonce=None):
        super().__init__()
        self.found = []
        self.nonce = nonce

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and names.get("type") == "speculationrules" and self.nonce \
                and names.get("nonce") == self.nonce:
            pass
        elif tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html, nonce=None):
    finder = InlineFinder(nonce)
    finder.feed(html)
    return finder.found


def test_the_finder_finds_inline_code():
    assert inline_code('<p style="color:red">x</p><script>alert(1)</script><button onclick="f()">') == [
        "<p style='color:red'>", "<script> without src", "<button onclick='f()'>"]
    assert inline_code('<script src="/static/js/app.js" defer></script><p class="x">') == []
    rules = '<script type="speculationrules" nonce="abc">{"prefetch": []}</script>'
    assert inline_code(rules, nonce="abc") == []
    assert inline_code(rules) == inline_code(rules, nonce="xyz") == ["<script> without src"]


def page_nonce(response):
    """The nonce the page's policy allows, or None."""
    found = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    return found and found[1]


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_pages_carry_a_policy_without_inline_script_or_style(client, url):
    response = client.get(url)
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PAGES = ["mch_link:home", "mch_link:centre_list", "mch_link:provider_list", "mch_link:coverage",
         "mch_link:contract_list", "mch_link:import_registry", "scheduling:provider_plan",
         "scheduling:notifications", "scheduling:workdays", "scheduling:agenda", "scheduling:centre_records",
         "scheduling:quarters", "calendar:centre_month", "calendar:centre_sessions", "calendar:doctor_week",
         "calendar:provider_month", "reports:dashboard", "password_change"]


@pytest.fixture
def planned(world):
    with time_machine.travel(NOW, tick=True):
        for provider, centre in [(world.tashan_chc, world.sunny), (world.yc_mch, world.sunny),
                                 (world.keqiao_chc, world.bamboo)]:
            Contract.objects.create(provider=provider, centre=centre, status="signed",
                                    signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                    valid_to=datetime.date(2026, 12, 31))
        schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
        yield world


@pytest.mark.parametrize("username", ["alice", "bob", "carol", "dan", "erin", "fay", "gus"])
def test_no_page_holds_inline_script_or_style(client, planned, username):
    user = getattr(planned, username)
    session = Session.objects.filter(provider=planned.tashan_chc).order_by("date").first()
    contract = Contract.objects.order_by("pk").first()
    urls = [reverse(name) for name in PAGES] + [
        reverse("scheduling:session_detail", args=[session.pk]),
        reverse("mch_link:contract_detail", args=[contract.pk]),
        reverse("mch_link:centre_detail", args=[planned.sunny.code]),
        reverse("mch_link:provider_detail", args=[planned.tashan_chc.code]),
        reverse("reports:dashboard") + f"?region={planned.yc.code}",
        reverse("scheduling:quarter_review", args=[planned.yc.code, "2026Q1"]),
    ]
    client.force_login(user)
    shown = 0
    with time_machine.travel(NOW, tick=True):
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, url
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            shown += 1
            html = response.content.decode()
            assert inline_code(html, page_nonce(response)) == [], url
            assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
    assert shown >= 8, f"{username} saw only {shown} pages"


def test_the_admin_pages_hold_no_inline_script_or_style(client, admin_user, world):
    client.force_login(admin_user)
    for url in [reverse("admin:index"), reverse("admin:axes_accessattempt_changelist"),
                reverse("admin:mch_link_centre_changelist"),
                reverse("admin:mch_link_centre_change", args=[world.sunny.pk])]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_the_styles_the_pages_name_are_in_the_stylesheet():
    css = (ROOT / "static/css/app.css").read_text()
    for rule in [".w-0 {", ".w-37 {", ".w-100 {", ".card-link {", ".pre-line {", "body.page-report .bar {",
                 "body.page-calendar .cal-grid {", ".card-narrow {"]:
        assert rule in css
    assert not list((ROOT / "templates").rglob("_style.html"))


# --------------------------------------------------------------------------- settings


def settings_in_a_clean_environment(code, **env):
    """Run `code` after importing the settings with only `env` set (no DEBUG, no DATABASE_URL...)."""
    clean = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "mch_link.settings", **env}
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; "
                           f"{code}"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_debug_is_off_unless_set():
    result = settings_in_a_clean_environment("print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
                                             SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_without_debug_a_secret_key_is_required():
    result = settings_in_a_clean_environment("print(settings.DEBUG)")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_the_demo_switch_turns_debug_on():
    result = settings_in_a_clean_environment("print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)", DEBUG="1")
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_the_production_profile_passes_check_deploy():
    env = {"DEBUG": "0", "SECRET_KEY": "k" * 20 + "Qz9-" * 10, "ALLOWED_HOSTS": "mch.example.cn",
           "SECURE_SSL_REDIRECT": "1", "SECURE_PROXY_SSL_HEADER": "1", "SECURE_HSTS_SECONDS": "31536000",
           "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1",
           "DATABASE_URL": f"sqlite:///{ROOT / 'nonexistent-check.sqlite3'}"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_session_lifetime_is_a_setting():
    result = settings_in_a_clean_environment("print(settings.SESSION_COOKIE_AGE)", DEBUG="1",
                                             SESSION_COOKIE_AGE="1800")
    assert result.stdout.split() == ["1800"], result.stderr
