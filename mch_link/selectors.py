"""Reads that cross relations: the registry as of a day, and the coverage it has.

Each function runs a fixed number of queries whatever the number of rows (tests pin them).
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import CharField, Exists, FilteredRelation, Q
from django.db.models.functions import Cast

from .models import Centre, CentreGrade, Contract, Provider, Region, Tier, held_on_q, in_force_q
from .rates import rate
from .statements import kept_rows
from .tiers import CentreFacts, ProviderFacts, RequiredPair, required_pairs, required_tiers


class RegionRow(NamedTuple):
    """A region as the tree reads it: Region's stored fields as a tuple (a province has 1,000s;
    making each a model instance cost a province report ~10 ms). RegionTree.get() gives the
    Region itself."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    successor_id: int | None

    @property
    def pk(self):
        return self.id


REGION_FIELDS = RegionRow._fields
# Region.from_db takes a full row in the model's field order (RegionTree.get)
assert REGION_FIELDS == tuple(f.attname for f in Region._meta.concrete_fields), "RegionRow: Region's fields"


@dataclass
class RegionTree:
    """All regions, resolved as of one day through boundary changes (successors).

    ancestors() and children() are memoised (a province asks them for every centre): the tree
    is read, never changed, once loaded. Its rows are RegionRow tuples; get() makes the Region
    of one (memoised)."""

    day: datetime.date
    rows: dict  # id -> RegionRow
    predecessors: dict = field(default_factory=dict)  # successor id -> [region ids]
    whole: bool = True  # every region; False: a region's subtree and parents (load(within=))
    as_stored: bool = False  # every region stood on `day` (no boundary change): the stored tree is the day's
    _ancestors: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # township id -> ids
    _children: dict | None = field(default=None, init=False, repr=False, compare=False)  # parent id -> [RegionRow]
    _regions: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # id -> Region (get)
    db: str = field(default="default", repr=False, compare=False)

    @classmethod
    def load(cls, day, within=None):
        """The tree of `day`: every region, or with `within` (a Region) only that region's
        stored subtree and its parents when no region changed by `day` (none begins after it
        or ended before it: the stored tree is then the tree of the day), and every region
        otherwise. One query either way (the test for a change is an uncorrelated EXISTS)."""
        def regions():
            qs = Region.objects.all()
            if within is not None:
                changed = Region.objects.filter(Q(valid_from__gt=day) | Q(valid_to__lt=day))
                parents = Region.objects.filter(pk=within.parent_id)
                qs = qs.filter(region_q(within) | Q(pk=within.parent_id) | Q(pk__in=parents.values("parent_id"))
                               | Q(Exists(changed)))
            # the days as ISO text, parsed below for the few regions that have one (a boundary
            # change): converting every row's two empty days cost a province ~0.4 ms
            return qs.values_list(*REGION_FIELDS[:5], Cast("valid_from", CharField()), Cast("valid_to", CharField()),
                                  "successor_id")

        # compiled once per process and input (statements.kept_rows)
        within_key = (within.pk, within.level, within.parent_id) if within is not None else None
        db = Region.objects.db
        make, parse = RegionRow._make, datetime.date.fromisoformat
        rows, changed, predecessors = {}, [], {}
        for row in kept_rows(("regions", db, day, within_key), regions):
            if row[5] is not None or row[6] is not None or row[7] is not None:
                pk, code, name, level, parent_id, valid_from, valid_to, successor_id = row
                row = (pk, code, name, level, parent_id, valid_from and parse(valid_from), valid_to and parse(valid_to),
                       successor_id)
                changed.append(row)
                if successor_id:
                    predecessors.setdefault(successor_id, []).append(pk)
            rows[row[0]] = make(row)
        tree = cls(day=day, rows=rows, predecessors=predecessors, db=db)
        # Whole when asked, or when a region changed (the EXISTS then returned every row); a
        # region without days stood on every day
        tree.as_stored = all(tree._valid(rows[row[0]]) for row in changed)
        tree.whole = within is None or not tree.as_stored
        return tree

    def resolve(self, region_id):
        """The id of the region standing on `day` for `region_id`: its successor once it was
        replaced, or its predecessor before it existed."""
        if self.as_stored:  # every region stood on the day: each stands for itself
            return region_id
        seen = set()
        current = region_id
        while current not in seen:
            seen.add(current)
            r = self.rows.get(current)
            if r is None:  # outside a subtree loaded by load(within=): as stored, nothing changed
                return current
            if r.valid_to and r.valid_to < self.day and r.successor_id:
                current = r.successor_id
            elif r.valid_from and r.valid_from > self.day and self.predecessors.get(current):
                current = sorted(self.predecessors[current])[0]
            else:
                return current
        return current

    def ancestors(self, township_id):
        """(township, county, city) ids of a township as of `day`, each resolved (a township
        under a county merged into another counts in the successor). Memoised per township."""
        found = self._ancestors.get(township_id)
        if found is None and self.as_stored:  # each stands for itself: the stored parents
            rows = self.rows
            county = rows[township_id].parent_id
            found = self._ancestors[township_id] = (township_id, county, rows[county].parent_id if county else None)
        elif found is None:
            t = self.resolve(township_id)
            county = self.rows[t].parent_id
            county = self.resolve(county) if county else None
            city = self.rows[county].parent_id if county else None
            city = self.resolve(city) if city else None
            found = self._ancestors[township_id] = (t, county, city)
        return found

    def get(self, region_id):
        """The Region of `region_id` (a row of the tree), made as the ORM makes it."""
        region = self._regions.get(region_id)
        if region is None:
            region = self._regions[region_id] = Region.from_db(self.db, REGION_FIELDS, self.rows[region_id])
        return region

    def inside(self, region_id):
        """The ids of the stored regions (replaced ones too, any level) that lie inside region
        `region_id` on `day`: a township that moved county counts in its new county."""
        return [pk for pk in self.rows if region_id in self.ancestors(pk)]

    def children(self, region_id):
        """The regions (RegionRow) valid on `day` whose parent is `region_id`, by code (a new
        list). The first call indexes the whole tree by parent."""
        children = self._children
        if children is None:  # built whole, then published: a kept tree is shared by threads
            children = {}
            for r in sorted(self.rows.values(), key=lambda r: r.code):
                if self._valid(r):
                    children.setdefault(r.parent_id, []).append(r)
            self._children = children
        return list(children.get(region_id, ()))

    def _valid(self, r):
        return (r.valid_from is None or r.valid_from <= self.day) and (r.valid_to is None or r.valid_to >= self.day)


@dataclass
class Registry:
    """Facts of the registry on one day: what the tier rules read."""

    day: datetime.date
    tree: RegionTree
    centres: list  # CentreFacts of centres open on the day
    providers: list  # ProviderFacts
    region_id: int | None = None  # the region (resolved on the day) the centres were limited to; None: all
    # the contracts in force on the day on those centres: (provider id, centre id) -> (valid_from,
    # valid_to) as ISO text (Cast to CharField: "2026-12-31" on SQLite and PostgreSQL), the
    # earliest of a pair (there is only one: signed contracts of a pair may not overlap)
    contracts: dict = field(default_factory=dict)


MAX_REGION_IDS = 2000  # well under SQLite's 32,766 parameters; a province has ~1,300 townships


def region_q(region, path="", *, on=None):
    """Q for the rows whose Region at FK `path` ("" for Region rows themselves) lies inside
    `region`: the region itself or any region below it. The one definition of "inside a
    region"; the tree is three levels deep, city > county > township.

    on=None: the tree as stored (each row's stored parent), as scoping reads it.
    on=a day, or a RegionTree of that day: the tree as it stood on that day, boundary changes
    resolved (a township filed under a replaced row counts in its successor, one that moved
    county in its new county), as the coverage and the reports read it. Exact either way: an
    IN list of the region ids inside; past MAX_REGION_IDS of them (read at each call), the stored tree corrected by the
    rows that moved in or out. (An IN list of a city's ~100 ids measured no slower than the
    stored tree's joins or a subquery of it, to compile or to run, on SQLite and PostgreSQL.)"""
    p = f"{path}__" if path else ""
    stored = Q(**{f"{p}pk": region.pk})
    if region.level in (Region.Level.COUNTY, Region.Level.CITY):
        stored |= Q(**{f"{p}parent": region.pk})
    if region.level == Region.Level.CITY:
        stored |= Q(**{f"{p}parent__parent": region.pk})
    if on is None:
        return stored
    tree = on if isinstance(on, RegionTree) else RegionTree.load(on)
    inside = tree.inside(region.pk)
    if len(inside) <= MAX_REGION_IDS:
        return Q(**{f"{p}pk__in": inside})
    as_stored = {pk for pk, r in tree.rows.items() if _stored_inside(tree, r, region.pk)}
    moved_in, moved_out = set(inside) - as_stored, as_stored - set(inside)
    q = stored & ~Q(**{f"{p}pk__in": sorted(moved_out)}) if moved_out else stored
    return q | Q(**{f"{p}pk__in": sorted(moved_in)}) if moved_in else q


def _stored_inside(tree, r, region_id):
    """Whether stored row `r` lies inside `region_id` following the stored parents."""
    if region_id in (r.pk, r.parent_id):
        return True
    parent = tree.rows.get(r.parent_id)
    return parent is not None and parent.parent_id == region_id


def registry_as_of(day, region=None):
    """The registry as it stood on `day`: 3 queries (regions, the centres with the grades they
    hold and the contracts in force on them, and the providers with the townships they also
    cover). With `region`, only the centres whose township lies within the region on `day`
    (and their contracts), and, unless a region changed by `day` (RegionTree.load), only the
    region's subtree and parents and the providers a report or the coverage of the region can
    name: those of the regions loaded, those that also cover one of its townships, and those
    with a contract on one of its centres. A province's small region then costs what its own
    rows cost."""
    tree = RegionTree.load(day, within=region)
    region_id = tree.resolve(region.pk) if region is not None else None
    # The queries' statements are compiled once per process and input (statements.kept_rows):
    # each key holds the day and the region filter (a Q object: equal when its ids are), and
    # the database.
    inside = region_q(tree.get(region_id), "township", on=tree) if region_id is not None else None

    def centre_qs():
        # each open centre once per grade entry held on the day and contract in force on it
        # (once, with None, if none): grades in award order within the centre (the latest award
        # wins: grade_ranks_on's rule), then contracts from the earliest
        qs = Centre.objects.open_on(day).annotate(
            held=FilteredRelation("grades", condition=held_on_q(day, "grades__")),
            force=FilteredRelation("contracts", condition=in_force_q(day, "contracts__")))
        return (qs.filter(inside) if inside is not None else qs).order_by(
            "code", "held__awarded_on", "held__pk", "force__valid_from", "force__pk").values_list(
            "pk", "code", "name", "township_id", "held__grade__rank", "force__provider_id",
            Cast("force__valid_from", CharField()), Cast("force__valid_to", CharField()))

    ancestors = tree.ancestors  # (township, county, city), memoised per township
    centres, contracts = [], {}
    last, new = None, tuple.__new__  # CentreFacts from a tuple (a province has 1,000s)
    for pk, code, name, township_id, rank, provider_id, valid_from, valid_to in kept_rows(
        ("registry.centres", Centre.objects.db, day, inside), centre_qs
    ):
        if last is None or last.id != pk:
            last = new(CentreFacts, (pk, code, name, *ancestors(township_id), rank))
            centres.append(last)
        elif last.grade_rank != rank:  # a later award of the same centre
            centres[-1] = last = last._replace(grade_rank=rank)
        if provider_id is not None:  # the earliest contract of a pair wins
            contracts.setdefault((provider_id, pk), (valid_from, valid_to))
    loaded = None if tree.whole else tuple(tree.rows)

    def provider_qs():
        qs = Provider.objects.all()
        if loaded is not None:
            qs = qs.filter(
                Q(region__in=loaded) | Q(pk__in=Provider.also_covers.through.objects.filter(region__in=loaded)
                                         .values("provider_id"))
                | Q(pk__in=Contract.objects.filter(Q(centre__in=Centre.objects.filter(inside).values("pk")))
                    .values("provider_id")))
        return qs.values_list("pk", "code", "name", "kind", "region_id", "also_covers")

    # One query: each provider once per township it also covers (once with None if none). A
    # provider's townships outside the region match none of the region's centres.
    # Each provider's rows are next to each other (by code, which is unique): one pass.
    providers = []
    grassroots = {kind for kind, tier in Provider.TIER_BY_KIND.items() if tier == Tier.GRASSROOTS}
    none, resolve = frozenset(), (lambda region_id: region_id) if tree.as_stored else tree.resolve
    last = None
    for pk, code, name, kind, provider_region, covered in kept_rows(
        ("registry.providers", Provider.objects.db, loaded, inside), provider_qs
    ):
        if last is None or last.id != pk:
            provider_region = resolve(provider_region)
            # grassroots: its own township and those it also covers
            townships = frozenset((provider_region,)) if kind in grassroots else none
            last = new(ProviderFacts, (pk, code, name, kind, provider_region, townships))
            providers.append(last)
        if covered is not None and kind in grassroots:
            providers[-1] = last = last._replace(township_ids=last.township_ids | {resolve(covered)})
    return Registry(day=day, tree=tree, centres=centres, providers=providers, region_id=region_id,
                    contracts=contracts)


@dataclass
class CoverageRow:
    """Coverage figures for one region (or the whole report)."""

    code: str
    name: str
    level: str
    centres: int = 0
    signed_centres: int = 0
    required_pairs: int = 0
    covered_pairs: int = 0

    @property
    def signed_guidance_rate(self):
        return rate(self.signed_centres, self.centres)  # a documented fraction, shown by mch_link.rates

    @property
    def pair_coverage(self):
        return rate(self.covered_pairs, self.required_pairs)


@dataclass
class Coverage:
    day: datetime.date
    region: Region | None
    totals: CoverageRow
    missing_pairs: list  # dicts: provider, provider_name, centre, centre_name, tier
    uncovered_centres: list  # CentreFacts
    extra_contracts: list  # dicts: provider, centre, tier, valid_from, valid_to
    by_tier: dict  # tier -> {"required", "covered", "missing"}
    children: list  # CoverageRow per sub-region
    centre_rows: list  # per centre: facts, signed providers, missing tiers (township level)

    def as_json(self):
        """The documented JSON of `manage.py coverage --format json`."""
        t = self.totals
        return {
            "date": self.day.isoformat(),
            "region": self.region.code if self.region else None,
            "centres": t.centres,
            "signed_centres": t.signed_centres,
            "signed_guidance_rate": t.signed_guidance_rate,
            "required_pairs": t.required_pairs,
            "covered_pairs": t.covered_pairs,
            "missing_pairs": [
                {"provider": m["provider"], "centre": m["centre"], "tier": m["tier"]} for m in self.missing_pairs
            ],
            "uncovered_centres": [c.code for c in self.uncovered_centres],
            "extra_contracts": [
                {"provider": e["provider"], "centre": e["centre"], "tier": e["tier"]} for e in self.extra_contracts
            ],
        }


def coverage(day, region=None, provider=None, registry=None, drill_down=True):
    """Signed-guidance rate and required-pair coverage on `day` for the centres in `region`
    (None: everywhere), optionally only the pairs of one `provider`. A fixed number of
    queries: registry_as_of()'s, which reads the contracts in force too, and none of its own. A
    `registry` passed in must be of `day` and hold the region's centres: the whole
    installation's, or registry_as_of(day, region)'s. Without `drill_down`, the per-sub-region and per-centre rows
    (`children`, `centre_rows`) are left empty: the reports count their own.

    Pairs are (provider id, centre id) tuples throughout, each counted once, so that a
    province (tens of thousands of pairs) costs a few dict passes."""
    registry = registry or registry_as_of(day, region)
    if registry.day != day:
        raise ValueError("coverage(): the registry is of another day")
    tree = registry.tree
    region_id = tree.resolve(region.pk) if region else None
    if registry.region_id is not None and registry.region_id != region_id:
        raise ValueError("coverage(): the registry is limited to another region")
    # The contracts in force on the centres, read with the registry's centres (each of them open
    # on `day`); parsed only for the few extra contracts.
    if region_id == registry.region_id:  # the registry's centres are the region's (or all)
        centres, in_force = registry.centres, registry.contracts
    else:  # the whole installation's registry: the region's centres and their contracts
        centres = [c for c in registry.centres if region_id in (c.township_id, c.county_id, c.city_id)]
        centre_ids = {c.id for c in centres}
        in_force = {pair: dates for pair, dates in registry.contracts.items() if pair[1] in centre_ids}
    providers = {p.id: p for p in registry.providers}
    required = required_tiers(centres, registry.providers)  # (provider id, centre id) -> tier
    if provider is not None:
        required = {pair: tier for pair, tier in required.items() if pair[0] == provider.pk}

    signed_centre_ids = {centre_id for (_p, centre_id) in in_force}
    covered = [pair for pair in required if pair in in_force]
    by_id = {c.id: c for c in centres}

    def pair_dict(provider_id, centre_id, tier):
        p, c = providers[provider_id], by_id[centre_id]
        return {"provider": p.code, "provider_name": p.name, "centre": c.code, "centre_name": c.name,
                "tier": tier, "township_id": c.township_id}

    tier_order = {tier: i for i, tier in enumerate(Tier.values)}
    missing = sorted(
        (pair_dict(*pair, tier) for pair, tier in required.items() if pair not in in_force),
        key=lambda m: (tier_order[m["tier"]], m["provider"], m["centre"]),
    )
    extra = sorted(
        (
            {**pair_dict(pid, cid, Provider.TIER_BY_KIND[providers[pid].kind]),
             "valid_from": _date(valid_from), "valid_to": _date(valid_to)}
            for (pid, cid), (valid_from, valid_to) in in_force.items()
            if (pid, cid) not in required and (provider is None or pid == provider.pk)
        ),
        key=lambda e: (e["provider"], e["centre"]),
    )
    required_by_tier = Counter(required.values())
    covered_by_tier = Counter(required[pair] for pair in covered)
    by_tier = {}
    for tier in Tier.values:
        req, cov = required_by_tier[tier], covered_by_tier[tier]
        by_tier[tier] = {"label": Tier(tier).label, "required": req, "covered": cov, "missing": req - cov}

    def row_for(r, members):  # a drill-down row adds up its members' (required_at, covered_at below)
        return CoverageRow(
            code=r.code if r else "", name=r.name if r else "全部", level=r.level if r else "",
            centres=len(members),
            signed_centres=sum(1 for c in members if c.id in signed_centre_ids),
            required_pairs=sum(required_at[c.id] for c in members),
            covered_pairs=sum(covered_at[c.id] for c in members),
        )

    top = tree.get(region_id) if region_id else None
    totals = CoverageRow(  # every pair and contract counted here is of the region's centres
        code=top.code if top else "", name=top.name if top else "全部", level=top.level if top else "",
        centres=len(centres), signed_centres=len(signed_centre_ids), required_pairs=len(required),
        covered_pairs=len(covered))
    # Sub-regions for the drill-down: counties of a city, townships of a county.
    children = []
    level = top.level if top else None
    if drill_down and (level in (Region.Level.CITY, Region.Level.COUNTY) or region_id is None):
        # Per centre, counted once
        required_at = Counter(centre_id for (_p, centre_id) in required)
        covered_at = Counter(centre_id for (_p, centre_id) in covered)
        key = "county_id" if level == Region.Level.CITY else "township_id" if level else "city_id"
        groups = {}
        for c in centres:
            groups.setdefault(getattr(c, key), []).append(c)
        child_regions = tree.children(region_id) if region_id else [
            r for r in tree.rows.values() if r.level == Region.Level.CITY]
        seen = set()
        for r in child_regions:
            seen.add(r.pk)
            children.append(row_for(r, groups.get(r.pk, [])))
        for rid in sorted(set(groups) - seen):
            children.append(row_for(tree.get(rid), groups[rid]))
    centre_rows = []
    if drill_down and level == Region.Level.TOWNSHIP:
        for c in sorted(centres, key=lambda c: c.name):
            signed_with = sorted(providers[pid].name for (pid, cid) in in_force if cid == c.id)
            missing_here = [m for m in missing if m["centre"] == c.code]
            centre_rows.append({"centre": c, "signed_with": signed_with, "missing": missing_here})
    uncovered = sorted((c for c in centres if c.id not in signed_centre_ids), key=lambda c: c.code)
    return Coverage(
        day=day, region=tree.get(region_id) if region_id else None, totals=totals,
        missing_pairs=missing, uncovered_centres=uncovered, extra_contracts=extra, by_tier=by_tier,
        children=children, centre_rows=centre_rows,
    )


def _date(value):
    """A date read as text (Cast to CharField, ISO), or already a date."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def missing_pairs_for_provider(provider, day):
    """The RequiredPair of `provider` on `day` that no signed contract in force covers."""
    registry = registry_as_of(day)
    required = {rp for rp in required_pairs(registry.centres, registry.providers) if rp.provider_id == provider.pk}
    covered = set(Contract.objects.in_force(day).filter(provider=provider).values_list("centre_id", flat=True))
    return sorted(rp for rp in required if rp.centre_id not in covered)


def grade_ranks_on(day, grades=None):
    """{centre id: rank of the grade held on `day`}; the latest award wins. One query.
    `grades`: CentreGrade.objects.held_on(day), narrowed (default: all of them)."""
    grades = grades if grades is not None else CentreGrade.objects.held_on(day)
    return dict(_grade_ranks_qs(grades))  # in award order: the latest award wins


def _grade_ranks_qs(grades):
    """(centre id, rank) of `grades` in award order (grade_ranks_on)."""
    return grades.order_by("awarded_on", "pk").values_list("centre_id", "grade__rank")


__all__ = ["RequiredPair", "registry_as_of", "coverage", "missing_pairs_for_provider", "grade_ranks_on"]
