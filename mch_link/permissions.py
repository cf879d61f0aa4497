"""Who may do what: every permission rule as a plain predicate over a user (design.md, "Who
sees what"). Views, the pages' flags (what a template shows), feeds and commands all ask here.

Seeing is scoping's job (scoping.py): these decide which pages a user may open and which
actions a visible row allows. Two kinds of rule:

- pages: `has_role(user, *roles)`, behind `role_required(*roles)`. Superusers pass every one.
- actions on a row: `can_record(user, session)`, `can_manage_contracts(user, provider)`, ...
  They follow the user's own membership: a superuser without one acts through the admin.

Every predicate takes a user or a scoping.Principal.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import Role
from .scoping import Principal

ADMINS = (Role.CITY_ADMIN,)
BUREAUS = (Role.CITY_ADMIN, Role.COUNTY_REVIEWER)
PROVIDER_STAFF = (Role.PROVIDER_MANAGER, Role.DOCTOR)
MANAGERS = (Role.PROVIDER_MANAGER,)
CENTRE_STAFF = (Role.CENTRE_STAFF,)
REVIEWERS = (Role.COUNTY_REVIEWER,)
DOCTORS = (Role.DOCTOR,)
ALL_ROLES = tuple(Role.values)


# --------------------------------------------------------------------------- pages


def has_role(who, *roles):
    """Whether `who` may open a page of `roles`: a member in one of them, or a superuser."""
    p = Principal.of(who)
    return p.everything or p.role in roles


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


def acting_role(who):
    """The role whose pages the home page offers: a superuser's is the city admin's."""
    p = Principal.of(who)
    return Role.CITY_ADMIN if p.everything else p.role


# --------------------------------------------------------------------------- own organisation


def own_role(who):
    """The role of the user's own membership; None without one (superusers included)."""
    return Principal.of(who).role


def _own(who, roles):
    """The user's membership when it holds one of `roles`, else None."""
    m = Principal.of(who).membership
    return m if m is not None and m.role in roles else None


def is_doctor(who):
    return _own(who, DOCTORS) is not None


def is_centre_staff(who):
    return _own(who, CENTRE_STAFF) is not None


def own_centre_id(who):
    """The centre a centre's staff work at (their calendar's default), else None."""
    m = _own(who, CENTRE_STAFF)
    return m.centre_id if m else None


def own_provider_id(who):
    """The provider a doctor or manager works at (their pages' default), else None."""
    m = _own(who, PROVIDER_STAFF)
    return m.provider_id if m else None


def is_staff_of_centre(who, centre):
    """Whether `who` works at `centre` (subscribes to and renews its calendar feed)."""
    centre_id = own_centre_id(who)
    return centre_id is not None and centre_id == _pk(centre)


# --------------------------------------------------------------------------- actions


def can_record(who, session):
    """Log a session's record, move it: a doctor or manager of the session's provider."""
    provider_id = own_provider_id(who)
    return provider_id is not None and provider_id == session.provider_id


def can_resolve(who, session):
    """Cancel or waive a session's obligations: the manager of its provider."""
    return can_record(who, session) and can_manage_contracts(who, session.provider_id)


def can_manage_contracts(who, provider):
    """Draft, sign, renew and terminate `provider`'s contracts, plan its sessions, renew its
    calendar feed: its manager. `provider` is a Provider or its id."""
    m = _own(who, MANAGERS)
    return m is not None and m.provider_id == _pk(provider)


def is_manager(who):
    """A provider's manager (of whichever provider)."""
    return _own(who, MANAGERS) is not None


def can_confirm(who, part=None):
    """Confirm or dispute a record's part (RecordCentre): the staff of the part's centre
    (`part` None: of any centre, what the session page asks before it lists the parts)."""
    m = _own(who, CENTRE_STAFF)
    return m is not None and (part is None or part.centre_id == m.centre_id)


def can_approve(who, county=None):
    """Approve or reopen a county's quarters: its reviewer (`county` None: of any county)."""
    m = _own(who, REVIEWERS)
    return m is not None and (county is None or _pk(county) == m.region_id)


def can_import(who):
    """Import the registry, load the work calendar: a city admin (or a superuser)."""
    return acting_role(who) == Role.CITY_ADMIN


def report_provider_forced(who):
    """A manager's reports are of its own provider only (a superuser's are not)."""
    return is_manager(who) and not Principal.of(who).everything


def _pk(obj):
    return getattr(obj, "pk", obj)
