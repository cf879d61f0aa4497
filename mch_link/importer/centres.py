"""Checks of the centres table: codes, townships, grades and their history, ownership.
A centre's own rules (its code's check digit, its township's level, closed after filed) are
the model's, checked through Job.validate."""

import datetime

from django.utils.translation import gettext as _

from ..models import Centre, CentreGrade, Grade, Ownership
from .job import CHUNK, assign, by_code
from .spec import GRADE_SYNONYMS, UNGRADED_VALUES, clean_key

# Model field -> the column it is read from, for errors the model finds.
COLUMNS_OF_FIELDS = {"code": "code", "name": "name", "township": "region_code", "ownership": "ownership",
                     "places": "places", "phone": "phone", "phone_ext": "phone", "filed_on": "filed_on",
                     "closed_on": "closed_on", "address": "address"}


def check_centres(job, rows):
    job.load_regions([r.text("region_code") for r in rows])
    codes = [r.credit_code("code") for r in rows]
    existing = by_code(Centre.objects.select_related("township__parent__parent"), codes)
    grade_state = _grade_state([c.pk for c in existing.values()])
    grades = {g.name: g for g in Grade.objects.all()}
    ownerships = {o.name: o for o in Ownership.objects.all()}
    seen = {}
    for row, code in zip(rows, codes, strict=True):
        if code and job.first_time(row, "code", code, seen, _("统一社会信用代码")):
            centre = existing.get(code) or Centre(code=code)
            job.centres[code] = centre
        else:  # still check the rest of the row, to report all of its errors at once
            centre = Centre(code=code or "")
        new = centre.pk is None
        old_township = None if new else centre.township
        township = job.region_ref(row, "region_code")
        grade = _grade(row, grades)
        awarded_on = row.date("grade_awarded_on")
        if awarded_on and grade is None and row.text("grade") not in ("", *UNGRADED_VALUES):
            pass  # the grade itself is wrong, and said so
        elif awarded_on and grade is None:
            row.error("grade_awarded_on", _("填写了等级评定日期，但等级为空"))
        phone, ext = row.phone("phone")
        values = {
            "name": row.required("name"), "township": township, "ownership": _named(
                row, "ownership", ownerships, _("无法识别的举办性质“%(value)s”，可选：%(choices)s")),
            "places": row.count("places", 2147483647), "phone": phone or "", "phone_ext": ext,
            "filed_on": row.date("filed_on", required=True), "closed_on": row.date("closed_on"),
        }
        row.optional_text(values, "address")
        if township:
            job.check_scope(row, "region_code", old_township, township)
        changed = assign(centre, values)
        job.validate(row, centre, COLUMNS_OF_FIELDS)
        if row.failed:
            continue
        changed = _plan_grade(job, row, centre, grade, awarded_on, grade_state.get(centre.pk)) or changed
        if job.tally("centres", row, new, changed):
            job.centre_writes.append(centre)


def _grade(row, grades):
    """The grade a cell names, by name or through GRADE_SYNONYMS (noted); None if blank."""
    text = row.text("grade")
    key = clean_key(text)
    name = GRADE_SYNONYMS.get(key, key)
    if text not in ("", *UNGRADED_VALUES) and name in grades and name != text:
        row.note("grade", _("等级“%(value)s”按“%(name)s”读取") % {"value": text, "name": name})
        return grades[name]
    return _named(row, "grade", grades, _("无法识别的等级“%(value)s”，可选：%(choices)s，或留空"),
                  blank=("", *UNGRADED_VALUES))


def _named(row, column, known, message, blank=("",)):
    """The object a cell names, from `known` (name -> object): None for a blank cell, and an
    error listing the known names (`message` with value and choices) for an unknown one."""
    text = row.text(column)
    if text in blank:
        return None
    found = known.get(text)
    if found is None:
        row.error(column, message % {"value": text, "choices": "、".join(known)})
    return found


def _grade_state(centre_ids):
    """centre id -> (current CentreGrade or None, latest awarded_on of any of its grades).
    The current grade is the open one (valid_until null) awarded last."""
    state = {}
    for start in range(0, len(centre_ids), CHUNK):
        held_rows = (CentreGrade.objects.filter(centre__in=centre_ids[start:start + CHUNK])
                     .select_related("grade").order_by("awarded_on", "grade__rank"))
        for held in held_rows:
            current, _latest = state.get(held.centre_id, (None, None))
            if held.valid_until is None:
                current = held
            state[held.centre_id] = (current, held.awarded_on)
    return state


def _plan_grade(job, row, centre, grade, awarded_on, state):
    """Plan the change to the centre's grade history the row asks for; True if any.

    A new grade is awarded on grade_awarded_on, else today (a new centre's first grade:
    else its filed_on), and closes the current grade the day before. An empty grade
    closes the current one with valid_until = today: it still holds today, not tomorrow.
    The same grade again changes nothing.
    """
    if centre.pk is None:
        if grade:
            award = CentreGrade(centre=centre, grade=grade, awarded_on=awarded_on or centre.filed_on)
            job.grade_awards.append(award)
        return grade is not None
    current, latest = state or (None, None)
    if grade is None:
        if current is None:
            return False
        if current.awarded_on > job.today:
            message = _("当前等级“%(grade)s”的评定日期（%(day)s）在今天之后，不能取消")
            row.error("grade", message % {"grade": current.grade.name, "day": current.awarded_on})
            return False
        job.grade_closures.append((current, job.today))
        return True
    if current is not None and current.grade_id == grade.pk:
        return False
    day = awarded_on or job.today
    if latest and day <= latest:
        message = _("新等级的评定日期（%(day)s）须晚于该机构上一次评定日期（%(latest)s）")
        column = "grade_awarded_on" if row.present("grade_awarded_on") else "grade"
        row.error(column, message % {"day": day, "latest": latest})
        return False
    if current is not None:
        job.grade_closures.append((current, day - datetime.timedelta(days=1)))
    job.grade_awards.append(CentreGrade(centre=centre, grade=grade, awarded_on=day))
    return True
