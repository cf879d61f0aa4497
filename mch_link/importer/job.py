"""The state of one import run (Job) and what every table check shares: reading a table's
header, filing problems, codes seen, references by code, the importer's region, and
validating a planned row through its model."""

import re

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Region
from .cells import CONTROL_CHARS, Row, cell_text
from .issues import ImportIssue
from .spec import COLUMNS, TABLE_ORDER, clean_key

# SQLite before 3.32 allows 999 parameters a query.
CHUNK = 500
# The header is looked for in this many first non-blank rows (a title, a date line above it).
HEADER_SEARCH_ROWS = 10
# Progress is reported every so many rows checked.
PROGRESS_EVERY = 500
CONTROL_MESSAGE = gettext_lazy("含有不可见的控制字符（如 NUL、垂直制表符），请删除后重新输入")
# A 12-digit statistical code (统计用区划代码): 330602001000 is the township 330602001,
# 330602000000 the county 330602.
_STATISTICAL_CODE = re.compile(r"\d{12}")


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



def statistical_short(text):
    """The region code a 12-digit statistical code stands for (330602001000 -> 330602001,
    330602000000 -> 330602), else None."""
    if not _STATISTICAL_CODE.fullmatch(text or ""):
        return None
    if text[6:] == "000000":
        return text[:6]
    return text[:9] if text[9:] == "000" else None


def missing(noun, code):
    return _("%(noun)s“%(code)s”不存在（数据库和本次导入中都没有）") % {"noun": noun, "code": code}


def duplicate(noun, code, row):
    return _("%(noun)s“%(code)s”在本文件中重复（另见第%(row)d行）") % {"noun": noun, "code": code, "row": row}


class Job:
    """One run of the import: the table checks (regions.py, providers.py...) plan into it,
    write.py saves the plan. Holds one instance per code, loaded from the database or planned
    by this import, so a later table sees an earlier table's changes."""

    def __init__(self, *, today, within, progress=None):
        self.today, self.within = today, within
        self.progress, self.checked, self.total = progress, 0, 0
        self.errors = []  # (order, ImportIssue): reported by table, row, then column
        self.warnings = []
        self.notes = []  # normalisations made: ImportIssue, in the order found
        self._by_name = None  # region name (and county + name) -> [Region], built when needed
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

    def note(self, sheet, row, column, message):
        self.notes.append(ImportIssue(sheet, row, column, message))

    def tally(self, kind, row, new, changed):
        """Count a row that passed; True if it has something to write."""
        if row.failed:
            return False
        status = "created" if new else ("updated" if changed else "unchanged")
        self.counts[kind][status] += 1
        return status != "unchanged"

    def rows(self, table):
        """The table's data rows (after its header), or None if no header row is usable.

        The header is the first of the first few rows holding every required column, so that a
        title (merged or not) or a blank line above it is skipped, with a note saying which row
        was taken. Cells holding control characters are errors, and the characters are dropped
        so that they go no further (PostgreSQL refuses a NUL in any query)."""
        spec = COLUMNS[table.kind]
        lookup = {clean_key(header): column for column in spec for header in column.headers}
        header_number, header = self._find_header(table, lookup)
        index = self._header(table, header_number, header, lookup)
        if index is None:
            return None
        if table.rows and header_number != table.rows[0][0]:
            self.note(table.name, header_number, "", _("第%(row)d行为表头，其上方的标题行已跳过")
                      % {"row": header_number})
        rows = []
        for number, cells in table.rows:
            if number > header_number:
                rows.append(Row(self, table, number, cells, index))
                self._refuse_controls(rows[-1])
        self.total += len(rows)
        return rows

    @staticmethod
    def _find_header(table, lookup):
        """(row number, cells) of the first row, among the first HEADER_SEARCH_ROWS, holding every
        required column; else the one holding the most columns (its errors are reported)."""
        required = {c.name for c in COLUMNS[table.kind] if c.required}
        best, most = (1, []), -1
        for number, cells in table.rows[:HEADER_SEARCH_ROWS]:
            found = {lookup[key].name for key in (clean_key(cell_text(c)) for c in cells) if key in lookup}
            if required <= found:
                return number, cells
            if len(found) > most:
                best, most = (number, cells), len(found)
        return best

    def _header(self, table, number, header, lookup):
        """column name -> (position, header as written, free text) from the header row, or None
        (with errors) if a required column is missing or one is given twice."""
        spec = COLUMNS[table.kind]
        order = (TABLE_ORDER.index(table.kind), number)
        index = {}
        ok = True
        for position, cell in enumerate(header):
            written = CONTROL_CHARS.sub("", cell_text(cell))
            if written != cell_text(cell):
                self.error(table.name, number, written, str(CONTROL_MESSAGE), order=(*order, position))
                ok = False
            if not written:
                continue
            column = lookup.get(clean_key(written))
            if column is None:
                self.warnings.append(ImportIssue(table.name, number, written, _("无法识别的列，已忽略")))
            elif column.name in index:
                message = _("与“%(other)s”是同一列（%(name)s），只能保留一个")
                other = index[column.name][1]
                self.error(table.name, number, written, message % {"other": other, "name": column.name},
                           order=(*order, position))
                ok = False
            else:
                index[column.name] = (position, written, column.free_text)
                if written.lower() not in {h.lower() for h in column.headers}:
                    standard = next((h for h in column.headers if clean_key(h) == clean_key(written)), column.name)
                    self.note(table.name, number, written, _("列名“%(written)s”按“%(name)s”识别")
                              % {"written": " ".join(written.split()), "name": standard})
        missing_columns = [c for c in spec if c.required and c.name not in index]
        for column in missing_columns:
            message = _("缺少必填列“%(name)s”（也可用列名：%(aliases)s）")
            self.error(table.name, number, column.name,
                       message % {"name": column.name, "aliases": "、".join(column.aliases)},
                       order=(*order, len(header)))
        written = [cell_text(c) for c in header if cell_text(c)]
        if missing_columns and len(written) == 1:
            message = _("第%(row)d行只有一个单元格“%(text)s”，像是标题，且其下%(n)d行内没有找到表头："
                        "请检查列名，或删除标题行")
            self.error(table.name, number, "", message % {"row": number, "text": written[0],
                                                           "n": HEADER_SEARCH_ROWS}, order=(*order, -1))
        return index if ok and not missing_columns else None

    def _refuse_controls(self, row):
        for position, cell in enumerate(row.cells):
            if isinstance(cell, str) and CONTROL_CHARS.search(cell):
                row.cells[position] = CONTROL_CHARS.sub("", cell)
                name = next((n for n, c in row.index.items() if c[0] == position), None)
                message = str(CONTROL_MESSAGE)
                if name is None:
                    self.error(row.table.name, row.number, _("第%(n)d列") % {"n": position + 1}, message,
                               order=(TABLE_ORDER.index(row.table.kind), row.number, position))
                else:
                    row.error(name, message)

    @staticmethod
    def first_time(row, column, key, seen, noun, shown=None):
        """False (and an error) if `key` already occurred in this file."""
        if key in seen:
            row.error(column, duplicate(noun, shown or key, seen[key]))
            return False
        seen[key] = row.number
        return True

    def load_regions(self, codes):
        codes = [statistical_short(c) or c for c in codes]
        wanted = [c for c in codes if c and c not in self.regions]
        self.regions.update(by_code(Region.objects.select_related("parent__parent"), wanted))

    def region_ref(self, row, column):
        """The region a cell names: by its code; by its 12-digit statistical code; or by its
        exact name, or its county's name and its own, when that is unique (within the
        importer's region). Other spellings are noted; an ambiguous name lists the candidates."""
        text = row.required(column)
        if text is None:
            return None
        region = self.regions.get(text)
        if region is not None:
            return region
        short = statistical_short(text)
        if short:
            region = self.regions.get(short)
            if region is not None:
                row.note(column, _("统计用区划代码“%(value)s”按区划编码 %(code)s 读取")
                         % {"value": text, "code": region.code})
                return region
        if text.isdigit():
            row.error(column, missing(_("区划编码"), text))
            return None
        found = [r for r in self.regions_named(text) if self.in_scope(r)] or self.regions_named(text)
        if len(found) == 1:
            region = found[0]
            row.note(column, _("“%(value)s”按名称识别为 %(name)s（%(code)s）")
                     % {"value": text, "name": region.name, "code": region.code})
            return region
        if found:
            row.error(column, _("名称“%(value)s”对应多个区划：%(candidates)s；请填写区划编码") % {
                "value": text, "candidates": "、".join(f"{r.parent.name if r.parent else ''}{r.name}（{r.code}）"
                                                      for r in found)})
            return None
        similar = [r for names in self._names().values() for r in names
                   if text in r.name or r.name in text][:5]
        hint = _("；相近的有：%(names)s") % {"names": "、".join(
            dict.fromkeys(f"{r.name}（{r.code}）" for r in similar))} if similar else ""
        row.error(column, _("区划“%(value)s”不存在（数据库和本次导入中都没有）") % {"value": text} + hint
                  + _("。可填写区划编码、统计用区划代码或区划名称"))
        return None

    def regions_named(self, text):
        return self._names().get(text, [])

    def _names(self):
        """name -> regions of that name, and county name + township name -> that township,
        over every stored region and those this import plans."""
        if self._by_name is None:
            stored = {r.code: r for r in Region.objects.select_related("parent__parent")}
            self._by_name = {}
            for region in {**stored, **self.regions}.values():
                parent = related(region, "parent")
                keys = [region.name, parent.name + region.name] if parent is not None else [region.name]
                for key in keys:
                    self._by_name.setdefault(key, []).append(region)
        return self._by_name

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
        self.checked += 1
        if self.progress and self.checked % PROGRESS_EVERY == 0:
            self.progress(self.checked, self.total)
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
