"""Who sees what: one scoping function per model (design.md, "Who sees what").

Every view, export, feed, command and job that serves a user starts from `scoped(user, Model)`
or `get_scoped_or_404(...)`: a row outside the user's scope is never returned, and a lookup
of one gives 404. `scoped` takes a user or a `Principal` (a role held in an organisation: what
a calendar feed asks as); the registered functions, one per model (`@scope_for(Model)`, other
apps register theirs), receive the Principal.

| role              | sees                                                              |
| city admin        | everything in its city                                            |
| county reviewer   | its county                                                        |
| provider manager  | its provider, its contracts, the centres of its area or contracts |
| doctor            | as the provider manager (changes limited by views)                |
| centre staff      | its own centre, its contracts and their providers                 |
"""

import functools
from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404

from .models import Centre, Contract, Membership, Provider, Region, Role
from .selectors import region_q

_SCOPES = {}


@dataclass(frozen=True)
class Principal:
    """Whom a scope is computed for: a role held in an organisation (a Membership: a user's,
    or an organisation's own, unsaved, when a calendar feed asks for it), everything
    (superusers), or nothing (anonymous users, users without a membership)."""

    membership: Membership | None = None
    everything: bool = False

    @classmethod
    def of(cls, who):
        """The principal of a user (or of a principal: itself)."""
        if isinstance(who, Principal):
            return who
        return cls(membership=membership_of(who), everything=is_everything(who))

    @classmethod
    def of_organisation(cls, *, centre=None, provider=None):
        """What an organisation's own staff see: a centre's staff, or a provider's manager."""
        if centre is not None:
            return cls(Membership(role=Role.CENTRE_STAFF, centre=centre))
        return cls(Membership(role=Role.PROVIDER_MANAGER, provider=provider))

    @property
    def role(self):
        return self.membership.role if self.membership is not None else None


def scope_for(model, *, of_membership=False):
    """Register `fn(principal)` as the scope of `model`. With `of_membership` the rule common
    to every model is applied first (a superuser sees every row, a user without a membership
    none) and `fn(membership, all rows)` decides the rest."""

    def register(fn):
        scope = fn
        if of_membership:
            @functools.wraps(fn)
            def scope(who):
                rows = model.objects.all()
                if who.everything:
                    return rows
                if who.membership is None:
                    return rows.none()
                return fn(who.membership, rows)
        _SCOPES[model] = scope
        return scope

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


def scoped(who, model):
    """The queryset of `model` rows `who` (a user or a Principal) may see."""
    return _SCOPES[model](Principal.of(who))


def get_scoped_or_404(who, model, *, shape=None, **lookup):
    """The row of `model` in `who`'s scope matching `lookup`, else 404. `shape`: a function
    adding what the page reads with it (select_related, prefetch_related) to the one query."""
    queryset = scoped(who, model)
    try:
        return (shape(queryset) if shape else queryset).get(**lookup)
    except (model.DoesNotExist, ValueError):
        raise Http404 from None


def provider_area_centres_q(provider):
    """Q for the centres in a provider's area: the city for the city MCH, its county for a
    county MCH, its township and those it also covers for a grassroots provider."""
    levels = {Provider.Kind.CITY_MCH: Region.Level.CITY, Provider.Kind.COUNTY_MCH: Region.Level.COUNTY}
    if provider.kind in levels:  # its region is of that level: no need to load it
        return region_q(Region(pk=provider.region_id, level=levels[provider.kind]), "township")
    township_ids = [provider.region_id, *provider.also_covers.values_list("pk", flat=True)]
    return Q(township__in=township_ids)


def breadcrumbs(who, region):
    """`region` and the regions above it, top first, leaving out those `who` may not see (a
    county reviewer's trail starts at its county). One query, plus the parents not loaded;
    none for a bureau whose region is on the trail: it sees its region and all below it
    (visible_regions), i.e. the trail from its region down."""
    chain, r = [], region
    while r is not None:
        chain.insert(0, r)
        r = r.parent
    m = Principal.of(who)
    own = m.membership.region_id if m.membership is not None and not m.everything and m.role in (
        Role.CITY_ADMIN, Role.COUNTY_REVIEWER) else None
    pks = [r.pk for r in chain]
    if own is not None and own in pks:
        return chain[pks.index(own):]
    visible = set(scoped(who, Region).filter(pk__in=pks).values_list("pk", flat=True))
    return [r for r in chain if r.pk in visible]


def default_region(who):
    """The region a page opens on when none is asked for (coverage, reports): the user's own
    region, i.e. its bureau's region, else its provider's region, else its centre's township;
    without a membership (superusers), the installation's city when there is exactly one
    top-level city, else None: the whole installation. Never a region the user may not see."""
    m = Principal.of(who).membership
    if m is not None and m.region_id:
        return m.region
    if m is not None and m.provider_id:
        return m.provider.region
    if m is not None and m.centre_id:
        return m.centre.township
    cities = list(Region.objects.filter(level=Region.Level.CITY, parent__isnull=True)[:2])
    return cities[0] if len(cities) == 1 else None


@scope_for(Region, of_membership=True)
def visible_regions(m, qs):
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(region_q(m.provider.region))
    return qs.filter(pk=m.centre.township_id)


@scope_for(Centre, of_membership=True)
def visible_centres(m, qs):
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region, "township"))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        contracted = Contract.objects.filter(provider=m.provider_id).values("centre_id")
        return qs.filter(provider_area_centres_q(m.provider) | Q(pk__in=contracted))
    return qs.filter(pk=m.centre_id)


@scope_for(Provider, of_membership=True)
def visible_providers(m, qs):
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


@scope_for(Contract, of_membership=True)
def visible_contracts(m, qs):
    if m.role in (Role.CITY_ADMIN, Role.COUNTY_REVIEWER):
        return qs.filter(region_q(m.region, "centre__township"))
    if m.role in (Role.PROVIDER_MANAGER, Role.DOCTOR):
        return qs.filter(provider=m.provider_id)
    # A centre sees the contracts offered or signed with it, drafts included only once
    # they are no longer the provider's private working copy: drafts stay hidden.
    return qs.filter(centre=m.centre_id).exclude(status=Contract.Status.DRAFT)
