"""Role checks for views: who may change what (design.md, "Who sees what").

Seeing is scoping's job (scoping.py); these decide which actions a visible row allows.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import Role
from .scoping import is_everything, membership_of


def has_role(user, *roles):
    if is_everything(user):
        return True
    m = membership_of(user)
    return m is not None and m.role in roles


def role_required(*roles):
    """Login, then 404 (not 403: we do not confirm the page exists) for other roles."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


ADMINS = (Role.CITY_ADMIN,)
BUREAUS = (Role.CITY_ADMIN, Role.COUNTY_REVIEWER)
PROVIDER_STAFF = (Role.PROVIDER_MANAGER, Role.DOCTOR)
MANAGERS = (Role.PROVIDER_MANAGER,)
CENTRE_STAFF = (Role.CENTRE_STAFF,)
