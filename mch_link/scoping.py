"""Who sees what: one scoping function per model (design.md, "Who sees what").

Every view, export, feed, command and job that serves a user starts from `scoped(user, Model)`
or `get_scoped_or_404(...)`: a row outside the user's scope is never returned, and a lookup
of one gives 404. Other apps register their models' functions with `@scope_for(Model)`.

| role              | sees                                                              |
| city admin        | everything in its city                                            |
| county reviewer   | its county                                                        |
| provider manager  | its provider, its contracts, the centres of its area or contracts |
| doctor            | as the provider manager (changes limited by views)                |
| centre staff      | its own centre, its contracts and their providers                 |
"""

from django.db.models import Q
from django.http import Http404

from .models import Centre, Contract, Membership, Provider, Region, Role

_SCOPES = {}


def scope_for(model):
    def register(fn):
        _SCOPES[model] = fn
        return fn

    return register


def membership_of(user):
    """The user's Membership, or None (anonymous users and users without one)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def is_everything(user):
    """Superusers see every row (they run the installation, not an organisation)."""
    return bool(user is not None and user.is_authenticated and user.is_superuser)


def scoped(user, model):
    """The queryset of `model` rows `user` may see."""
    return _SCOPES[model](user)


def get_scoped_or_404(user, model, **lookup):
    try:
        return scoped(user, model).get(**lookup)
    except (model.DoesNotExist, ValueError):
        raise Http404 from None


def region_q(region, path):
    """Q for rows whose Region at FK `path` ("" for Region rows themselves) lies within
    `region`. The tree is three levels deep: city > county > township."""
    p = f"{path}__" if path else ""
    q = Q(**{f"{p}pk": region.pk})
    if region.level in (Region.Level.COUNTY, Region.Level.CITY):
        q |= Q(**{f"{p}parent": region.pk})
    if region.level == Region.Level.CITY:
        q |= Q(**{f"{p}parent__parent": region.pk})
    return q


def provider_area_centres_q(provider):
    """Q for the centres in a provider's area: the city for the city MCH, its county for a
    county MCH, its township(s) for a grassroots provider."""
    if provider.kind == Provider.Kind.CITY_MCH:
        return Q(township__parent__parent=provider.region_id)
    if provider.kind == Provider.Kind.COUNTY_MCH:
        return Q(township__parent=provider.region_id)
    township_ids = [provider.region_id, *provider.also_covers.values_list("pk", flat=True)]
    return Q(township__in=township_ids)


@scope_for(Region)
def visible_regions(user):
    qs = Region.objects.all()
    if is_everything(user):
        return qs
    m = membership_of(user)
    if m is None:
        return qs.none()
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region, ""))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(region_q(m.provider.region, ""))
    return qs.filter(pk=m.centre.township_id)


@scope_for(Centre)
def visible_centres(user):
    qs = Centre.objects.all()
    if is_everything(user):
        return qs
    m = membership_of(user)
    if m is None:
        return qs.none()
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region, "township"))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        contracted = Contract.objects.filter(provider=m.provider_id).values("centre_id")
        return qs.filter(provider_area_centres_q(m.provider) | Q(pk__in=contracted))
    return qs.filter(pk=m.centre_id)


@scope_for(Provider)
def visible_providers(user):
    qs = Provider.objects.all()
    if is_everything(user):
        return qs
    m = membership_of(user)
    if m is None:
        return qs.none()
    if m.role == Role.CITY_ADMIN:
        return qs.filter(region_q(m.region, "region"))
    if m.role == Role.COUNTY_REVIEWER:
        serving = Contract.objects.filter(region_q(m.region, "centre__township")).values("provider_id")
        return qs.filter(region_q(m.region, "region") | Q(pk__in=serving))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(pk=m.provider_id)
    serving = Contract.objects.filter(centre=m.centre_id).exclude(
        status=Contract.Status.DRAFT).values("provider_id")
    return qs.filter(pk__in=serving)


@scope_for(Contract)
def visible_contracts(user):
    qs = Contract.objects.all()
    if is_everything(user):
        return qs
    m = membership_of(user)
    if m is None:
        return qs.none()
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region, "centre__township"))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(provider=m.provider_id)
    # A centre sees the contracts offered or signed with it, drafts included only once
    # they are no longer the provider's private working copy: drafts stay hidden.
    return qs.filter(centre=m.centre_id).exclude(status=Contract.Status.DRAFT)
