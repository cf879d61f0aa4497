"""The tier rules of the plan (section 三(三)3), as one pure function, required_tiers()
(required_pairs() gives its pairs as RequiredPair).

Who must sign with whom, given the registry as it stood on a day:

| tier       | provider                               | must sign with                              |
| city       | the city MCH agency                    | every 市级示范 centre of its city            |
| county     | a county MCH agency                    | every centre of its county graded 二级 or up |
| grassroots | a 社区卫生服务中心 / 乡镇卫生院          | every filed centre of its township(s)       |

No ORM here: `selectors.registry_as_of()` loads the facts (grade, township and county already
taken as of the day) and callers compare the result with the contracts in force.
"""

from dataclasses import dataclass
from typing import NamedTuple

from .models import RANK_CITY_MODEL, RANK_LEVEL_2, Provider, Tier


class CentreFacts(NamedTuple):
    """A centre open on the day, with its township, county and city as of that day. A named
    tuple: a province has 10,000s, built for every report."""

    id: int
    code: str
    name: str
    township_id: int
    county_id: int
    city_id: int
    grade_rank: int | None  # None: ungraded on the day


class ProviderFacts(NamedTuple):
    """A provider with its region and, grassroots, its townships, as of the day. A named tuple
    (a province has 1,000s, built for every report)."""

    id: int
    code: str
    name: str
    kind: str
    region_id: int  # the city for city_mch, the county for county_mch
    township_ids: frozenset = frozenset()  # grassroots: the townships it covers, as of the day


@dataclass(frozen=True, order=True)
class RequiredPair:
    provider_id: int
    centre_id: int
    tier: str


def required_tiers(centres, providers):
    """{(provider id, centre id): tier} of the pairs that the rules demand among `centres` (open
    on the day) and `providers`: the pairs of required_pairs(), keyed by plain tuples, which are
    cheap to hash and look up at province scale (coverage() compares them with the contracts in
    force). A provider has one tier, so a pair has one. Pure: same facts in, same dict out."""
    # The centre ids each provider may owe: 市级示范 ones by city, 二级 or up by county, all by township.
    model_by_city, level_2_by_county, by_township = {}, {}, {}
    for c in centres:
        by_township.setdefault(c.township_id, []).append(c.id)
        if c.grade_rank is not None and c.grade_rank >= RANK_LEVEL_2:
            level_2_by_county.setdefault(c.county_id, []).append(c.id)
            if c.grade_rank >= RANK_CITY_MODEL:
                model_by_city.setdefault(c.city_id, []).append(c.id)
    # one pass over the providers, the rule of each kind with plain names (a province: 1,000s)
    city_mch, county_mch = Provider.Kind.CITY_MCH.value, Provider.Kind.COUNTY_MCH.value
    city, county, grassroots = Tier.CITY, Tier.COUNTY, Tier.GRASSROOTS
    tiers = {}
    for p in providers:
        kind, pid = p.kind, p.id
        if kind == city_mch:
            for centre_id in model_by_city.get(p.region_id, ()):
                tiers[(pid, centre_id)] = city
        elif kind == county_mch:
            for centre_id in level_2_by_county.get(p.region_id, ()):
                tiers[(pid, centre_id)] = county
        else:
            townships = p.township_ids
            for township_id in (townships if len(townships) < 2 else sorted(townships)):
                for centre_id in by_township.get(township_id, ()):
                    tiers[(pid, centre_id)] = grassroots
    return tiers


def required_pairs(centres, providers):
    """The set of RequiredPair that the rules demand among `centres` (open on the day) and
    `providers`. Pure: same facts in, same set out."""
    return {RequiredPair(provider_id, centre_id, tier)
            for (provider_id, centre_id), tier in required_tiers(centres, providers).items()}
