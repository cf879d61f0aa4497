"""The format of the registry import: the tables, their columns and the headers accepted for
each, and the words accepted in coded cells. docs/import.md describes it to the people who
fill the files in (a test checks every alias is documented there)."""

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from ..models import Provider, Region

TABLE_ORDER = ("regions", "providers", "centres", "contracts")

TABLE_LABELS = {
    "regions": gettext_lazy("行政区划"),
    "providers": gettext_lazy("医疗卫生机构"),
    "centres": gettext_lazy("托育机构"),
    "contracts": gettext_lazy("签约协议"),
}

# File stems and sheet names (compared case-insensitively) that name each table.
TABLE_NAMES = {
    "regions": ("regions", "区划", "行政区划"),
    "providers": ("providers", "医疗卫生机构"),
    "centres": ("centres", "centers", "托育机构"),
    "contracts": ("contracts", "签约协议"),
}


@dataclass(frozen=True)
class Column:
    """One column of a table: its canonical (English) header and the other headers accepted.
    `required` columns must be present in the header row; whether a cell may be empty is
    decided per column by the checks below."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    # Free text (names, addresses) is kept as typed; other cells have full-width characters
    # folded to half-width (fold_width).
    free_text: bool = False

    @property
    def headers(self):
        return (self.name, *self.aliases)


# Every alias here is listed in docs/import.md (a test checks it).
COLUMNS = {
    "regions": (
        Column("code", ("编码", "代码", "区划编码", "区划代码")),
        Column("name", ("名称", "区划名称"), free_text=True),
        Column("level", ("级别", "层级")),
        Column("parent_code", ("上级编码", "上级代码", "上级区划编码", "上级区划代码")),
        Column("valid_from", ("生效日期",), required=False),
        Column("valid_to", ("失效日期",), required=False),
        Column("successor_code", ("继任区划编码", "继任区划代码", "继任编码"), required=False),
    ),
    "providers": (
        Column("code", ("编码", "代码", "机构编码")),
        Column("name", ("名称", "机构名称"), free_text=True),
        Column("kind", ("类别", "机构类别")),
        Column("region_code", ("所在区划编码", "所在区划代码", "区划编码", "区划代码")),
        Column("phone", ("电话", "联系电话")),
        Column("doctors", ("儿保医生数", "儿童保健医生数", "医生数")),
        Column("address", ("地址",), required=False, free_text=True),
        Column("also_covers", ("另负责区划编码", "另负责街道乡镇编码", "另负责的街道/镇/乡"), required=False),
    ),
    "centres": (
        Column("code", ("统一社会信用代码", "编码", "代码")),
        Column("name", ("名称", "机构名称", "托育机构名称"), free_text=True),
        Column("region_code", ("所在区划编码", "所在区划代码", "区划编码", "区划代码", "所在街道/镇/乡")),
        Column("grade", ("等级",)),
        Column("ownership", ("举办性质",)),
        Column("places", ("托位数", "托位")),
        Column("phone", ("电话", "联系电话")),
        Column("filed_on", ("备案日期",)),
        Column("closed_on", ("注销日期",)),
        Column("address", ("地址",), required=False, free_text=True),
        Column("grade_awarded_on", ("等级评定日期", "评定日期"), required=False),
    ),
    "contracts": (
        Column("provider_code", ("机构编码", "医疗卫生机构编码")),
        Column("centre_code", ("center_code", "托育机构代码", "托育机构统一社会信用代码", "托育机构编码")),
        Column("signed_on", ("签约日期",)),
        Column("valid_from", ("生效日期",)),
        Column("valid_to", ("到期日期", "失效日期")),
    ),
}

LEVEL_VALUES = {
    "city": Region.Level.CITY, "市": Region.Level.CITY, "地级市": Region.Level.CITY,
    "county": Region.Level.COUNTY, "区/县": Region.Level.COUNTY, "区": Region.Level.COUNTY,
    "县": Region.Level.COUNTY, "县级市": Region.Level.COUNTY,
    "township": Region.Level.TOWNSHIP, "街道/镇/乡": Region.Level.TOWNSHIP,
    "街道": Region.Level.TOWNSHIP, "镇": Region.Level.TOWNSHIP, "乡": Region.Level.TOWNSHIP,
}
LEVEL_RANK = {Region.Level.CITY: 0, Region.Level.COUNTY: 1, Region.Level.TOWNSHIP: 2}

KIND_VALUES = {
    **{kind.value: kind for kind in Provider.Kind},
    **{str(kind.label): kind for kind in Provider.Kind},
    "市级妇幼": Provider.Kind.CITY_MCH,
    "县级妇幼": Provider.Kind.COUNTY_MCH,
    "区级妇幼保健机构": Provider.Kind.COUNTY_MCH,
}

# Grade cells that mean "no grade", besides an empty cell.
UNGRADED_VALUES = ("未评级", "无")

# Grade spellings seen in office spreadsheets -> the stored grade's name. Compared after
# clean_key (full-width folded, spaces and a bracketed hint removed: "三级（合格）" is "三级").
# docs/import.md lists them (a test checks it).
GRADE_SYNONYMS = {
    "1级": "一级", "2级": "二级", "3级": "三级",
    "一级托育机构": "一级", "二级托育机构": "二级", "三级托育机构": "三级",
    "市级示范性托育机构": "市级示范", "市级示范托育机构": "市级示范", "市级示范性": "市级示范",
    "示范性托育机构": "市级示范", "市示范": "市级示范",
}

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as typed with a Chinese IME.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_BRACKETED = re.compile(r"[(\[【][^)\]】]*[)\]】]")


def fold_width(text):
    """`text` with full-width letters, digits and signs as their half-width forms."""
    return text.translate(_FULL_WIDTH)


def clean_key(text):
    """What a header or a coded word is compared by: full-width folded, without white space
    (line breaks of a wrapped header included) or a bracketed unit or hint, in lower case:
    "托位数（个）", "联系电话(座机/手机)" and "托 位 数" all give "托位数"."""
    text = _BRACKETED.sub("", fold_width(text or ""))
    return re.sub(r"\s+", "", text).lower()


def table_kind(name):
    """The table a file stem or sheet name stands for ("Centres", "托育机构" -> "centres"), or None."""
    wanted = (name or "").strip().lower()
    for kind, names in TABLE_NAMES.items():
        if wanted in names:
            return kind
    return None


def table_guess(name):
    """The table a name that is not one of TABLE_NAMES seems to mean ("托育机构名单" -> "centres"),
    or None: the longest table name it contains."""
    wanted = clean_key(name)
    found = [(len(n), kind) for kind, names in TABLE_NAMES.items() for n in names if n in wanted]
    return max(found)[1] if found else None


def table_title(kind):
    """"托育机构（centres）"."""
    return f"{TABLE_LABELS[kind]}（{kind}）"


def known_names():
    """Every accepted name, Chinese and English: "行政区划（regions、区划、行政区划）、..."."""
    return "；".join(f"{TABLE_LABELS[kind]}：{'、'.join(names)}" for kind, names in TABLE_NAMES.items())
