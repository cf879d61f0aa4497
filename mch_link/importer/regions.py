"""Checks of the regions table: codes, levels, parents and successors.

Two passes: every code of the file is known, with its new level, before parents and
successors are resolved (a parent may come after its children in the file)."""

from django.utils.translation import gettext as _

from ..models import Region, level_label
from .job import assign, missing
from .spec import LEVEL_VALUES

# Model field -> the column it is read from, for errors the model finds.
COLUMNS_OF_FIELDS = {"code": "code", "name": "name", "level": "level", "valid_from": "valid_from",
                     "valid_to": "valid_to", "parent": "parent_code"}


def check_regions(job, rows):
    job.load_regions([r.text(c) for r in rows for c in ("code", "parent_code", "successor_code")])
    seen, planned = {}, []
    for row in rows:
        code = row.required("code")
        if code is None or not job.first_time(row, "code", code, seen, _("编码")):
            continue
        region = job.regions.get(code) or Region(code=code)
        job.regions[code] = region
        if region.pk:  # as it stands before this import
            job.check_scope(row, "code", region)
        values = {"name": row.required("name"), "level": _level(row)}
        level = values["level"]
        if level and region.pk and region.level != level and _has_dependants(region):
            message = _("该区划已有下级区划或机构，不能把级别从%(old)s改为%(new)s")
            row.error("level", message % {"old": level_label(region.level), "new": level_label(level)})
        for column in ("valid_from", "valid_to"):
            if row.present(column):
                values[column] = row.date(column)
        new = region.pk is None
        if row.failed:  # keep what did parse, so that rows referring to this one make sense
            values = {k: v for k, v in values.items() if v is not None}
        planned.append((row, region, new, assign(region, values)))
    for row, region, new, changed in planned:
        parent = _parent(job, row, region)
        successor = _successor(job, row, region)
        if parent is not None:
            changed = assign(region, {"parent": parent}) or changed
        job.validate(row, region, COLUMNS_OF_FIELDS)
        if row.failed:
            continue
        job.check_scope(row, "code", region)
        if row.present("successor_code") and (
            (successor is not None and successor.pk is None)
            or region.successor_id != (successor.pk if successor else None)
        ):
            job.successor_writes.append((region, successor))
            changed = True
        if job.tally("regions", row, new, changed):
            job.region_writes.append(region)


def _level(row):
    text = row.required("level")
    if text is None:
        return None
    level = LEVEL_VALUES.get(text.lower())
    if level is None:
        message = _("无法识别的级别“%(value)s”，"
                    "可选：city（市）、county（区/县）、township（街道/镇/乡）")
        row.error("level", message % {"value": text})
    return level


def _has_dependants(region):
    return (Region.objects.filter(parent=region).exists() or region.providers.exists()
            or region.centres.exists())


def _parent(job, row, region):
    """The parent the row names; whether its level fits is Region.clean's to say."""
    code = row.text("parent_code")
    level = LEVEL_VALUES.get(row.text("level").lower())
    if level == Region.Level.CITY:
        if code:
            row.error("parent_code", _("市级区划不能有上级编码"))
        return None
    if not code:
        if level:
            row.error("parent_code", _("区/县和街道/镇/乡必须填写上级编码"))
        return None
    parent = job.regions.get(code)
    if parent is None:
        row.error("parent_code", missing(_("上级编码"), code))
    return parent


def _successor(job, row, region):
    code = row.text("successor_code")
    if not code:
        return None
    successor = job.regions.get(code)
    if successor is None:
        row.error("successor_code", missing(_("继任区划编码"), code))
    elif successor is region:
        row.error("successor_code", _("继任区划不能是本区划"))
    elif region.level and successor.level != region.level:
        message = _("继任区划“%(name)s”的级别应与本区划相同")
        row.error("successor_code", message % {"name": successor.name})
    else:
        return successor
    return None
