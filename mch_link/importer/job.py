"""The state of one import run (Job) and what every table check shares: reading a table's
header, filing problems, codes seen, references by code, the importer's region, and
validating a planned row through its model."""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _

from ..models import Region
from .cells import Row, cell_text
from .issues import ImportIssue
from .spec import COLUMNS, TABLE_ORDER

# SQLite before 3.32 allows 999 parameters a query.
CHUNK = 500


def _comparable(value):
    if value is None:
        return ""
    if hasattr(value, "as_e164"):
        return value.as_e164
    return value


def assign(obj, values):
    """Set `values` on `obj`; True if it is new or any value differs. Foreign keys compare by
    primary key, so a reference to a row created by this import always counts as a change."""
    changed = obj.pk is None
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            current = getattr(obj, model_field.attname)
            new_id = value.pk if value is not None else None
            changed = changed or (value is not None and new_id is None) or current != new_id
        else:
            changed = changed or _comparable(getattr(obj, name)) != _comparable(value)
        setattr(obj, name, value)
    return changed


def related(obj, name):
    """obj.<name>, or None where a row with errors left a required reference unset."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def by_code(queryset, codes, field_name="code"):
    codes = sorted({c for c in codes if c})
    found = {}
    for start in range(0, len(codes), CHUNK):
        for obj in queryset.filter(**{f"{field_name}__in": codes[start:start + CHUNK]}):
            found[getattr(obj, field_name)] = obj
    return found



def missing(noun, code):
    return _("%(noun)s“%(code)s”不存在（数据库和本次导入中都没有）") % {"noun": noun, "code": code}


def duplicate(noun, code, row):
    return _("%(noun)s“%(code)s”在本文件中重复（另见第%(row)d行）") % {"noun": noun, "code": code, "row": row}


class Job:
    """One run of the import: the table checks (regions.py, providers.py...) plan into it,
    write.py saves the plan. Holds one instance per code, loaded from the database or planned
    by this import, so a later table sees an earlier table's changes."""

    def __init__(self, *, today, within):
        self.today, self.within = today, within
        self.errors = []  # (order, ImportIssue): reported by table, row, then column
        self.warnings = []
        self.counts = {}
        self.regions, self.providers, self.centres = {}, {}, {}
        self.region_writes, self.provider_writes, self.centre_writes = [], [], []
        self.successor_writes = []  # (region, successor): set once every region is saved
        self.grade_closures = []  # (CentreGrade, valid_until)
        self.grade_awards = []  # new CentreGrade rows
        self.contract_writes = []  # (contract, snapshot before or None)
        self.cover_writes = []  # (provider, [township regions]): its also_covers, set once it is saved

    def error(self, sheet, row, column, message, order=(-1,)):
        # Python's sort is stable: issues with the same order keep the order they were found in.
        self.errors.append((order, ImportIssue(sheet, row, column, message)))

    def tally(self, kind, row, new, changed):
        """Count a row that passed; True if it has something to write."""
        if row.failed:
            return False
        status = "created" if new else ("updated" if changed else "unchanged")
        self.counts[kind][status] += 1
        return status != "unchanged"

    def rows(self, table):
        """The table's rows, or None if its header is unusable (a required column missing)."""
        spec = COLUMNS[table.kind]
        order = (TABLE_ORDER.index(table.kind), 1)
        lookup = {header.lower(): column for column in spec for header in column.headers}
        index = {}  # column name -> (position, header as written)
        ok = True
        for position, cell in enumerate(table.header):
            header = cell_text(cell)
            if not header:
                continue
            column = lookup.get(header.lower())
            if column is None:
                self.warnings.append(ImportIssue(table.name, 1, header, _("无法识别的列，已忽略")))
            elif column.name in index:
                message = _("与“%(other)s”是同一列（%(name)s），只能保留一个")
                other = index[column.name][1]
                self.error(table.name, 1, header, message % {"other": other, "name": column.name},
                           order=(*order, position))
                ok = False
            else:
                index[column.name] = (position, header)
        for column in spec:
            if column.required and column.name not in index:
                message = _("缺少必填列“%(name)s”（也可用列名：%(aliases)s）")
                self.error(table.name, 1, column.name,
                           message % {"name": column.name, "aliases": "、".join(column.aliases)},
                           order=(*order, len(table.header)))
                ok = False
        if not ok:
            return None
        return [Row(self, table, number, cells, index) for number, cells in table.rows]

    @staticmethod
    def first_time(row, column, key, seen, noun, shown=None):
        """False (and an error) if `key` already occurred in this file."""
        if key in seen:
            row.error(column, duplicate(noun, shown or key, seen[key]))
            return False
        seen[key] = row.number
        return True

    def load_regions(self, codes):
        wanted = [c for c in codes if c and c not in self.regions]
        self.regions.update(by_code(Region.objects.select_related("parent__parent"), wanted))

    def region_ref(self, row, column):
        code = row.required(column)
        if code is None:
            return None
        region = self.regions.get(code)
        if region is None:
            row.error(column, missing(_("区划编码"), code))
        return region

    def in_scope(self, region):
        """Whether `region`, as this import leaves it, lies within `within`."""
        if self.within is None or region is None:
            return True
        for _depth in range(3):  # township, county, city
            if region is None:
                return False
            region = self.regions.get(region.code, region)
            if region.code == self.within.code:
                return True
            region = region.parent
        return False

    def check_scope(self, row, column, *regions):
        if not all(self.in_scope(r) for r in regions):
            row.error(column, _("不在您管辖的%(region)s范围内") % {"region": self.within.name})

    # ----------------------------------------------------------------- tables

    def validate(self, row, obj, columns):
        """Validate `obj` as its model does (field validators, clean(), check constraints) and
        file each error on the row's column for the field, in the model's words.

        `columns` maps the fields the row sets to their columns; other fields, and those whose
        cell already failed, are left out. Related objects are the importer's to resolve (they
        may be rows it has yet to save), so foreign keys are not validated field by field;
        clean() still sees them. Uniqueness is checked by code above, so no query is made here
        unless clean() makes one."""
        exclude = [f.name for f in obj._meta.fields
                   if f.name not in columns or f.is_relation or columns[f.name] in row.failed_columns]
        try:
            obj.full_clean(exclude=exclude, validate_unique=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = columns.get(name) if name != NON_FIELD_ERRORS else None
                column = column or next(iter(columns.values()))
                if column not in row.failed_columns:
                    for message in messages:
                        row.error(column, message)
