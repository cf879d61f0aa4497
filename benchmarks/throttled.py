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

The pages prefetch the next one (mch_link/prefetch.py). By default the driver taps as soon as a
page has loaded, before a prefetch can finish (the worst case); `--think 1.5` waits that long
on each page first, as a doctor reading the page does (the wait is not counted on either
clock). `--direct` follows the agenda's own "记录" link to the record form (two pages, not
three); `--save-data` sends `Save-Data: on` (no prefetching).
"""

import argparse
import statistics
import time

from playwright.sync_api import sync_playwright

PASSWORD = "mch-demo-2026"  # mch_link.demo.DEFAULT_PASSWORD
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


# The browser's own clock of a navigation: from its start to the end of the load event.
LOADED = "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime })()"


def one_round(page, base, think=0.0, direct=False):
    """(browser seconds: the navigations by the page's Navigation Timing, what a person
    waits; wall seconds: the same seen from the driver, its own overhead included, the
    `think` seconds spent on each page before tapping left out)."""
    started, browser = time.perf_counter(), 0.0
    page.goto(f"{base}/schedule/agenda/", wait_until="load")
    browser += page.evaluate(LOADED)
    links = ["a.record-link"] if direct else ["a[href*='/schedule/sessions/']", "a[href$='/record/']"]
    for link in links:
        time.sleep(think)
        page.locator(link).first.click()
        page.wait_for_load_state("load")
        browser += page.evaluate(LOADED)
    assert "/record/" in page.url, page.url
    return browser / 1000, time.perf_counter() - started - think * len(links)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="doctor")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--think", type=float, default=0.0, help="seconds on each page before the tap")
    parser.add_argument("--direct", action="store_true", help="the agenda's 记录 link: two pages")
    parser.add_argument("--save-data", action="store_true", help="send Save-Data: on (no prefetch)")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    if not base.startswith(("http://127.", "http://localhost")):
        parser.error("loopback only")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                extra_http_headers={"Save-Data": "on"} if args.save_data else None)
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        one_round(page, base)  # warm: static files cached, as on a phone used every day
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        times = [one_round(page, base, args.think, args.direct) for _ in range(args.rounds)]
        browser.close()
    for i, (browser, wall) in enumerate(times, 1):
        print(f"round {i}: {browser:.2f} s in the browser ({wall:.2f} s seen by the driver)")
    path = "agenda → record form" if args.direct else "agenda → session → record form"
    print(f"median {path}, 400 ms / 400 kbps, think {args.think:g} s"
          f"{', Save-Data' if args.save_data else ''}: "
          f"{statistics.median(b for b, _w in times):.2f} s in the browser, "
          f"{statistics.median(w for _b, w in times):.2f} s seen by the driver")


if __name__ == "__main__":
    main()
