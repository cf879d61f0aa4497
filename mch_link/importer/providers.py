"""Checks of the providers table: kinds, regions and the townships a grassroots provider also
covers. Whether a kind fits its region's level is Provider.clean's to say."""

from django.utils.translation import gettext as _

from ..models import Provider, Region, Tier
from .cells import code_list
from .job import assign, by_code, missing
from .spec import KIND_VALUES

# Model field -> the column it is read from, for errors the model finds.
COLUMNS_OF_FIELDS = {"code": "code", "name": "name", "kind": "kind", "region": "region_code",
                     "phone": "phone", "phone_ext": "phone", "doctors": "doctors", "address": "address"}


def check_providers(job, rows):
    job.load_regions([r.text("region_code") for r in rows]
                     + [code for r in rows for code in code_list(r.text("also_covers"))])
    existing = by_code(Provider.objects.select_related("region__parent__parent"),
                       [r.text("code") for r in rows])
    covered = {}  # provider id -> codes of the townships it also covers now
    for provider_id, code in Provider.also_covers.through.objects.filter(
            provider__in=[p.pk for p in existing.values()]).values_list("provider_id", "region__code"):
        covered.setdefault(provider_id, set()).add(code)
    seen = {}
    for row in rows:
        code = row.required("code")
        if code is None or not job.first_time(row, "code", code, seen, _("编码")):
            continue
        provider = existing.get(code) or Provider(code=code)
        job.providers[code] = provider
        new = provider.pk is None
        old_region = None if new else provider.region
        kind = _kind(row)
        region = job.region_ref(row, "region_code")
        phone, ext = row.phone("phone")
        values = {"name": row.required("name"), "kind": kind, "region": region, "phone": phone or "",
                  "phone_ext": ext, "doctors": row.count("doctors", 32767)}
        row.optional_text(values, "address")
        if region:
            job.check_scope(row, "region_code", old_region, region)
        covers = _also_covers(job, row, kind, region) if row.present("also_covers") else None
        changed = assign(provider, values)
        job.validate(row, provider, COLUMNS_OF_FIELDS)
        if row.failed:
            continue
        covers_changed = covers is not None and {r.code for r in covers} != covered.get(provider.pk, set())
        if job.tally("providers", row, new, changed or covers_changed):
            job.provider_writes.append(provider)
            if covers_changed:
                job.cover_writes.append((provider, covers))


def _also_covers(job, row, kind, region):
    """The townships a grassroots provider covers besides its own, from the also_covers
    column: codes separated by ; 、 , or spaces; empty clears them. Each must be a
    township within the importer's region; only 社区卫生服务中心 and 乡镇卫生院 have them."""
    codes = code_list(row.text("also_covers"))
    if codes and kind and Provider.TIER_BY_KIND.get(kind) != Tier.GRASSROOTS:
        row.error("also_covers", _("只有社区卫生服务中心、乡镇卫生院可另负责街道/镇/乡"))
        return []
    townships = []
    for code in dict.fromkeys(codes):  # in order, once each
        township = job.regions.get(code)
        if township is None:
            row.error("also_covers", missing(_("区划编码"), code))
        elif township.level and township.level != Region.Level.TOWNSHIP:
            row.error("also_covers", _("“%(name)s”（%(code)s）不是街道/镇/乡") % {
                "name": township.name, "code": code})
        elif region is not None and township.code == region.code:
            row.error("also_covers", _("“%(name)s”已是本机构的所在区划") % {"name": township.name})
        else:
            job.check_scope(row, "also_covers", township)
            townships.append(township)
    return townships


def _kind(row):
    text = row.required("kind")
    if text is None:
        return None
    kind = KIND_VALUES.get(text) or KIND_VALUES.get(text.lower())
    if kind is None:
        choices = "、".join(f"{k.value}（{k.label}）" for k in Provider.Kind)
        message = _("无法识别的机构类别“%(value)s”，可选：%(choices)s")
        row.error("kind", message % {"value": text, "choices": choices})
    return kind
