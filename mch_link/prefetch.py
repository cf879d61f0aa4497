"""Prefetching the page a person opens next, so a phone on a slow line saves a round trip
(docs/accessibility.md: agenda → session → record form).

A page passes the few URLs its user most likely opens next to `speculation_rules`; the base
template writes them as an inline `<script type="speculationrules">` with the request's CSP
nonce (settings.CONTENT_SECURITY_POLICY allows nonced scripts, nothing else inline). The
browser fetches them same-origin with the user's cookies and keeps them for this document
only (not in the shared HTTP cache); `private` keeps them out of any proxy cache as well.
Nothing is prefetched when the phone asks to save data (`Save-Data: on`).
"""

import json

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers

MAX_PREFETCH = 3  # a few kilobytes each: more would compete with the page being read


def saves_data(request):
    """Whether the browser asks for less traffic (the `Save-Data: on` client hint)."""
    return request.headers.get("Save-Data", "").strip().lower() == "on"


def speculation_rules(request, urls):
    """The JSON of a same-origin prefetch rule for the first MAX_PREFETCH distinct `urls`
    (paths from reverse()), or "" when there is nothing to prefetch or the user saves data.
    Escaped for an inline script (no "</script>" can close it)."""
    if saves_data(request):
        return ""
    distinct = list(dict.fromkeys(urls))[:MAX_PREFETCH]
    if not distinct:
        return ""
    rules = {"prefetch": [{"source": "list", "urls": distinct, "eagerness": "immediate"}]}
    return json.dumps(rules).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def private(response):
    """A page that may be prefetched holds one user's data: no shared cache keeps it, and
    the browser revalidates it on a normal visit (a prefetch is used once, within minutes)."""
    patch_cache_control(response, private=True, no_cache=True)
    return response


def varies_with_save_data(response):
    """A page whose speculation rules depend on `Save-Data`: caches keep the two apart."""
    patch_vary_headers(response, ["Save-Data"])
    return response


def is_prefetch(request):
    """Whether the browser fetches ahead of a tap (speculation rules send `Sec-Purpose: prefetch`)."""
    return "prefetch" in request.headers.get("Sec-Purpose", "")


class PrefetchSetsNoCookieMiddleware:
    """A prefetch answer repeats no cookie the request already carried. Django sends the CSRF
    cookie again with every page that has a form; a prefetch still in flight when the person
    logs out and someone logs in on the same phone would otherwise put the previous user's
    CSRF secret back (their next form: "页面已过期"). Listed before the session and CSRF
    middleware, so it sees their cookies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_prefetch(request):
            for name in (settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_NAME):
                if name in request.COOKIES:
                    response.cookies.pop(name, None)
        return response
