"""Benchmark: the doctor's path on a slow phone line, agenda → session → record form.

    .venv/bin/python benchmarks/throttled.py --url http://127.0.0.1:8000 [--rounds 5]

Drives Debian's Chromium (Playwright) at 390×844 against a running server (for the figure of
issue 19: gunicorn with DEBUG off on the demo data, static files collected; see
docs/accessibility.md), logs in as the demo doctor, loads the agenda once unthrottled (the
stylesheet and script are then in the browser's cache, as on a doctor's phone), then with
Chromium's network emulation at 400 ms latency and 400 kbps both ways times, per round: the
agenda, a click on its first session, a click on that session's record link, each until the
page's load event, by the browser's Navigation Timing (what the doctor waits) and by the
driver's clock (Playwright's own overhead included). Prints each round and the medians.
Loopback only; it asserts nothing.
"""

import argparse
import statistics
import time

from playwright.sync_api import sync_playwright

PASSWORD = "mch-demo-2026"  # mch_link.demo.DEFAULT_PASSWORD
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


# The browser's own clock of a navigation: from its start to the end of the load event.
LOADED = "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime })()"


def one_round(page, base):
    """(browser seconds: the three navigations by the page's Navigation Timing, what a person
    waits; wall seconds: the same seen from the driver, its own overhead included)."""
    started, browser = time.perf_counter(), 0.0
    page.goto(f"{base}/schedule/agenda/", wait_until="load")
    browser += page.evaluate(LOADED)
    page.locator("a[href*='/schedule/sessions/']").first.click()
    page.wait_for_load_state("load")
    browser += page.evaluate(LOADED)
    page.locator("a[href$='/record/']").first.click()
    page.wait_for_load_state("load")
    browser += page.evaluate(LOADED)
    assert "/record/" in page.url, page.url
    return browser / 1000, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="doctor")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    if not base.startswith(("http://127.", "http://localhost")):
        parser.error("loopback only")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        one_round(page, base)  # warm: static files cached, as on a phone used every day
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        times = [one_round(page, base) for _ in range(args.rounds)]
        browser.close()
    for i, (browser, wall) in enumerate(times, 1):
        print(f"round {i}: {browser:.2f} s in the browser ({wall:.2f} s seen by the driver)")
    print("median agenda → session → record form, 400 ms / 400 kbps: "
          f"{statistics.median(b for b, _w in times):.2f} s in the browser, "
          f"{statistics.median(w for _b, w in times):.2f} s seen by the driver")


if __name__ == "__main__":
    main()
