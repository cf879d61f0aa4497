"""The tier rules of the plan (section 三(三)3), as one pure function.

Who must sign with whom, given the registry as it stood on a day:

| tier       | provider                               | must sign with                              |
| city       | the city MCH agency                    | every 市级示范 centre of its city            |
| county     | a county MCH agency                    | every centre of its county graded 二级 or up |
| grassroots | a 社区卫生服务中心 / 乡镇卫生院          | every filed centre of its township(s)       |

No ORM here: `selectors.registry_as_of()` loads the facts (grade, township and county already
taken as of the day) and callers compare the result with the contracts in force.
"""

from dataclasses import dataclass

from .models import RANK_CITY_MODEL, RANK_LEVEL_2, Provider, Tier


@dataclass(frozen=True)
class CentreFacts:
    """A centre open on the day, with its township, county and city as of that day."""

    id: int
    code: str
    name: str
    township_id: int
    county_id: int
    city_id: int
    grade_rank: int | None  # None: ungraded on the day


@dataclass(frozen=True)
class ProviderFacts:
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


def required_pairs(centres, providers):
    """The set of RequiredPair that the rules demand among `centres` (open on the day) and
    `providers`. Pure: same facts in, same set out."""
    by_city, by_county, by_township = {}, {}, {}
    for c in centres:
        by_city.setdefault(c.city_id, []).append(c)
        by_county.setdefault(c.county_id, []).append(c)
        by_township.setdefault(c.township_id, []).append(c)
    pairs = set()
    for p in providers:
        if p.kind == Provider.Kind.CITY_MCH:
            pairs.update(
                RequiredPair(p.id, c.id, Tier.CITY) for c in by_city.get(p.region_id, ())
                if c.grade_rank is not None and c.grade_rank >= RANK_CITY_MODEL
            )
        elif p.kind == Provider.Kind.COUNTY_MCH:
            pairs.update(
                RequiredPair(p.id, c.id, Tier.COUNTY) for c in by_county.get(p.region_id, ())
                if c.grade_rank is not None and c.grade_rank >= RANK_LEVEL_2
            )
        else:
            for township_id in sorted(p.township_ids):
                pairs.update(RequiredPair(p.id, c.id, Tier.GRASSROOTS) for c in by_township.get(township_id, ()))
    return pairs
