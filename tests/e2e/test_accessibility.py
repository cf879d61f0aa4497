"""Accessibility on a phone (390×844, zh-CN): axe-core on every page of the URL conf for every
role, and the touch targets of the doctor's and the centre's forms (docs/accessibility.md).

The page list is generated from the URL conf: a route with parameters must have its
arguments in ARGS or a reason in NOT_PAGES, so a new page is audited or the test fails."""

import datetime
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from api.models import ApiToken
from mch_link.models import Contract, ImportJob, Role
from scheduling.models import Obligation, Session
from scheduling.services import schedule_generate
from scheduling.services.records import record_save
from tests.e2e.pages import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Installed by `make axe` (npm, pinned in the Makefile); AXE_JS points elsewhere.
AXE_JS = Path(os.environ.get("AXE_JS") or Path(settings.BASE_DIR) / ".axe/node_modules/axe-core/axe.min.js")
AXE_VERSION = re.search(r"^AXE_VERSION := (\S+)", (Path(settings.BASE_DIR) / "Makefile").read_text(), re.M).group(1)
FAILING_IMPACTS = {"critical", "serious"}

# Routes that are not pages a role reads: downloads, feeds, POST-only actions, the admin
# (Django's own), and the probes. Each with its reason.
NOT_PAGES = {
    "mch_link:contract_scan": "a file download",
    "mch_link:import_template": "an xlsx download",
    "mch_link:contract_sign": "POST only",
    "mch_link:contract_terminate": "POST only",
    "scheduling:attachment": "a file download",
    "reports:filed": "a filed report's PDF or JSON download",
    "scheduling:obligation_resolve": "POST only",
    "scheduling:record_confirm": "POST only",
    "calendar:feed": "an iCalendar feed",
    "set_language": "POST only (one language: docs/accessibility.md)",
    "healthz": "JSON for the load balancer",
    "favicon": "a redirect to the icon",
}
# The JSON API answers JSON, not pages (tests/api checks it); its documentation page is
# django-ninja's Swagger UI, third-party markup for the integrators of other systems at a desk,
# not a page of the app's users (docs/api.md says so).
NOT_PAGE_NAMESPACES = {"api": "the JSON API (tests/api) and its Swagger UI"}


def walk(patterns, namespace=None):
    """(name, parameter names) of every named route, the admin's left out."""
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.app_name == "admin":
                continue
            ns = p.namespace or namespace
            yield from walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield name, list(p.pattern.converters)


def page_urls(args):
    urls, missing = [], []
    for name, params in walk(get_resolver().url_patterns):
        if name in NOT_PAGES or name.split(":")[0] in NOT_PAGE_NAMESPACES:
            continue
        if params and name not in args:
            missing.append(name)
            continue
        urls.append(reverse(name, args=args.get(name, ())))
    assert not missing, f"routes with parameters but no ARGS nor NOT_PAGES entry: {missing}"
    return urls


@pytest.fixture
def busy(world):
    """Signed contracts for this year, the plan, a submitted record and an import job."""
    year = timezone.localdate().year
    for provider, centre in [(world.tashan_chc, world.sunny), (world.yc_mch, world.sunny),
                             (world.tashan_chc, world.little), (world.keqiao_chc, world.bamboo)]:
        Contract.objects.create(provider=provider, centre=centre, status="signed",
                                signed_on=datetime.date(year, 1, 1), valid_from=datetime.date(year, 1, 1),
                                valid_to=datetime.date(year, 12, 31))
    schedule_generate(year=year, today=datetime.date(year, 1, 2))
    session = Session.objects.filter(provider=world.tashan_chc, kind="guidance").order_by("date").first()
    record_save(session=session, user=world.dan, submit=True,
                data={"held_on": session.date, "start": session.start, "end": session.end, "topics": [],
                      "topics_other": "", "content": "检查晨检记录", "findings": {}, "advice": "",
                      "follow_up_on": None})
    job = ImportJob.objects.create(user=world.alice, folder="imports/x", names=["名单.xlsx"])
    token, _raw = ApiToken.issue(user=world.dan, name="省托育平台同步")
    contract = Contract.objects.order_by("pk").first()
    quarter = f"{year}Q1"
    world.args = {
        "scheduling:session_detail": [session.pk],
        "scheduling:record_edit": [session.pk],
        "scheduling:session_move": [session.pk],
        "scheduling:obligation_session": [Obligation.objects.filter(sessions=session).first().pk],
        "scheduling:quarter_review": [world.yc.code, quarter],
        "mch_link:contract_detail": [contract.pk],
        "mch_link:centre_detail": [world.sunny.code],
        "mch_link:provider_detail": [world.tashan_chc.code],
        "mch_link:import_job": [job.pk],
        "api_token_revoke": [token.pk],  # the confirmation page, its owner's only
    }
    world.session = session
    return world


def one_user_per_role(world):
    users = {}
    for name in ("alice", "bob", "carol", "dan", "erin", "fay", "gus"):
        user = getattr(world, name)
        users.setdefault(user.membership.role, user)
    assert set(users) == set(Role.values), "every role is audited"
    return list(users.values())


def axe_violations(page):
    page.evaluate(AXE_SOURCE[0])
    assert page.evaluate("axe.version") == AXE_VERSION
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")


AXE_SOURCE = []


@pytest.fixture
def axe():
    if not AXE_JS.exists():
        pytest.fail(f"axe-core not found at {AXE_JS}: run `make axe` (npm, pinned in the Makefile)")
    if not AXE_SOURCE:
        AXE_SOURCE.append(AXE_JS.read_text())


def test_no_page_of_any_role_has_a_serious_axe_violation(busy, live_server, phone, axe):
    urls = page_urls(busy.args)
    assert len(urls) >= 25
    failures, audited = {}, 0
    phone.goto(f"{live_server.url}/accounts/login/")
    found = [v for v in axe_violations(phone) if v["impact"] in FAILING_IMPACTS]
    if found:
        failures["anonymous /accounts/login/"] = found
    for user in one_user_per_role(busy):
        phone.context.clear_cookies()
        login(phone, live_server, user.username)
        for url in urls:
            probe = phone.request.get(live_server.url + url, max_redirects=0)  # the role's cookies
            if probe.status != 200 or "text/html" not in probe.headers.get("content-type", ""):
                continue  # not this role's page (403, 404, 405) or a redirect to one audited
            phone.goto(live_server.url + url)
            audited += 1
            found = [v for v in axe_violations(phone) if v["impact"] in FAILING_IMPACTS]
            width = phone.evaluate("document.documentElement.scrollWidth")
            if width > 390:  # nothing (a long name, an 18-character credit code) widens the page
                found.append({"impact": "layout", "id": "page-width", "help": f"{width} px wide", "nodes": []})
            if found:
                failures[f"{user.username} {url}"] = found
    assert not failures, "\n".join(f"{page}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                                    for page, found in failures.items() for v in found)
    assert audited >= 40


def tappable_too_small(page, selector):
    """Controls under `selector` whose tap area (the control, or the label around it when
    larger) is under 44×44 px, as 'name w×h'."""
    return page.evaluate("""(selector) => {
        const small = [];
        for (const form of document.querySelectorAll(selector)) {
            for (const el of form.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]")) {
                let box = el.getBoundingClientRect();
                const label = el.closest("label");
                if (label) {
                    const l = label.getBoundingClientRect();
                    if (l.height * l.width > box.height * box.width) box = l;
                }
                if (box.height < 44 || box.width < 44) {
                    const size = `${Math.round(box.width)}×${Math.round(box.height)}`;
                    small.push(`${el.name || el.textContent.trim()} ${size}`);
                }
            }
        }
        return small;
    }""", selector)


def test_the_doctors_and_the_centres_controls_are_big_enough_to_tap(busy, live_server, phone):
    session = Session.objects.filter(provider=busy.tashan_chc, kind="guidance").order_by("date")[1]
    login(phone, live_server, "dan")
    phone.goto(f"{live_server.url}/schedule/sessions/{session.pk}/record/")
    assert phone.locator("form input[name=start]").count() == 1
    assert tappable_too_small(phone, "main form") == []
    font = phone.evaluate("getComputedStyle(document.querySelector('input[name=start]')).fontSize")
    assert float(font.rstrip("px")) >= 16  # iOS zooms into smaller inputs
    phone.goto(f"{live_server.url}/schedule/agenda/")
    assert tappable_too_small(phone, "main") == []

    phone.context.clear_cookies()
    login(phone, live_server, "fay")
    phone.goto(f"{live_server.url}/schedule/sessions/{busy.session.pk}/")
    assert phone.locator("button[name=confirm]").count() == 1
    assert tappable_too_small(phone, "main form") == []
    phone.goto(f"{live_server.url}/schedule/records/")
    assert tappable_too_small(phone, "main") == []


def test_a_failed_submit_focuses_the_error_summary_and_enter_submits_the_record(busy, live_server, phone):
    session = Session.objects.filter(provider=busy.tashan_chc, kind="guidance").order_by("date")[1]
    login(phone, live_server, "dan")
    phone.goto(f"{live_server.url}/schedule/sessions/{session.pk}/record/")
    assert phone.locator("fieldset legend:text-is('主题')").count() == 1  # the topics are a named group
    phone.press("#id_topics_other", "Enter")  # Enter in a text field: submit, which needs content

    summary = phone.wait_for_selector("[data-error-summary]")
    assert summary.get_attribute("role") == "alert"
    assert phone.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    assert "提交前请填写服务主题或内容" in summary.inner_text()  # a draft would have been saved
    summary.query_selector("a[href='#id_content']").click()
    assert phone.evaluate("document.activeElement.id") == "id_content"

    phone.fill("#id_content", "检查晨检记录")
    phone.fill("#id_finding_0", "晨检记录齐全")
    phone.fill("#id_late_reason", "当时现场无网络，回单位后补录")  # held months ago: 补录 asks why
    phone.press("#id_topics_other", "Enter")
    message = phone.wait_for_selector(".messages li:has-text('服务记录已提交')")  # submitted, not a draft
    assert message.get_attribute("role") == "status"


def test_audit_times_stay_on_one_line_on_a_phone(busy, live_server, phone):
    """"11-29 16:18" (the year only when not this one), never broken over two lines at 390 px."""
    for username, url in [("alice", reverse("mch_link:audit_list")),
                          ("dan", reverse("scheduling:session_detail", args=[busy.session.pk]))]:
        phone.context.clear_cookies()
        login(phone, live_server, username)
        phone.goto(live_server.url + url)
        lines = phone.eval_on_selector_all("td.when time", "ts => ts.map(t => t.getClientRects().length)")
        assert lines and set(lines) == {1}, (url, lines)
