"""Steps the browser tests share."""

from tests.factories import PASSWORD


def login(page, live_server, username):
    """Log in through the real login page and wait for the home page's actions."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.actions")
