"""Calendar feeds answered ahead of the session, locale, CSRF, auth, messages, CSP and axes
middleware: a feed is anonymous and authenticated by its token alone, sets no cookie and
reads no form, so none of them has anything to do for it, and together they cost more than
the feed's own work (a 304 from its fingerprint, a 200 from the cache: docs/calendars.md).

Placed right after SecurityMiddleware, GZip and WhiteNoise (settings.MIDDLEWARE): HTTPS
redirects, HSTS and the compression of the body still apply, and so does ALLOWED_HOSTS (checked
here, as CommonMiddleware checks it for the other requests); the request log (first) still
sees the URL pattern, not the token."""

from django.http import Http404
from django.urls import Resolver404, get_script_prefix, resolve, reverse

FEED_VIEW = "calendar:feed"


class FeedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None  # the feed URLs' common start, "/calendar/feed/"

    def __call__(self, request):
        if self.prefix is None:  # of path_info: without the script prefix a sub-path deployment adds
            path = reverse(FEED_VIEW, kwargs={"token": "x"}).removeprefix(get_script_prefix())
            self.prefix = "/" + path.removesuffix("x.ics")
        if request.path_info.startswith(self.prefix) and "\x00" not in request.path_info:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.view_name == FEED_VIEW:
                # the Host check that CommonMiddleware makes for every other request (DisallowedHost: 400)
                request.get_host()
                request.resolver_match = match
                try:
                    response = match.func(request, *match.args, **match.kwargs)
                except Http404:  # the 404 page is a page: the whole stack renders it
                    return self.get_response(request)
                if not response.streaming and not response.has_header("Content-Length"):
                    response.headers["Content-Length"] = str(len(response.content))
                response.headers.setdefault("X-Frame-Options", "DENY")
                return response
        return self.get_response(request)
