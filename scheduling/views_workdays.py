"""The work calendar page: the loaded years, one year's days, and an upload of the State
Council's notice as a holiday-cn file. A thin interface over load_workdays.workdays_load."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mch_link import params
from mch_link.permissions import ADMINS, role_required

from . import calendar_rules, workdays
from .management.commands.load_workdays import package_names, read_holiday_json, workdays_load
from .models import WorkDay, WorkYear

# Moved sessions listed one by one after an upload; the rest are counted.
MOVED_SHOWN = 20


class HolidayFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("节假日安排文件（JSON）"),
        help_text=gettext_lazy("holiday-cn 格式（UTF-8 编码的 JSON）：{\"year\": 年份, \"papers\": [通知网址], "
                               "\"days\": [{\"name\": \"元旦\", \"date\": \"YYYY-MM-DD\", \"isOffDay\": true}, …]}"
                               "。isOffDay 为 true 是放假日，false 是调休上班日；"
                               "days 须列出通知中的全部放假日（含全部法定节假日）和调休上班日。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    dry_run = forms.BooleanField(label=gettext_lazy("仅检查：显示将载入的天数，不写入、不重新排期"), required=False)

    def clean_file(self):
        """The file's JSON (a dict), checked in full by workdays.read_notice: every problem at once."""
        upload = self.cleaned_data["file"]
        limit = settings.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise ValidationError(_("文件大小为 %(size)s，超过上限 %(limit)s"), code="too_big",
                                  params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)})
        try:
            data = read_holiday_json(upload.read())
            params.check_year(workdays.read_notice(data, upload.name).year)
        except workdays.HolidayFileError as exc:
            raise ValidationError([ValidationError(e, code="invalid") for e in exc.errors]) from None
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None
        return data


def _selected_year(request, years):
    """?year= when it is a year within the span, else this year when it is loaded, else None.
    Junk in ?year= shows the default year, as this page always did (the other pages answer 400)."""
    try:
        year = params.year(request.GET.get("year"))
    except params.BadParam:
        year = None
    if year is not None:
        return year
    today = timezone.localdate()
    return today.year if today.year in years else None


def _replan_messages(request, report):
    messages.info(request, _("重新排期：移动 %(moved)d 场，取消 %(cancelled)d 场，新建 %(created)d 场，"
                             "保留 %(kept)d 场。") % {
        "moved": len(report.moved), "cancelled": len(report.cancelled), "created": report.created,
        "kept": report.kept})
    for session_id, old, new, reason in report.moved[:MOVED_SHOWN]:
        messages.info(request, _("场次 #%(id)s：%(old)s → %(new)s（%(reason)s）") % {
            "id": session_id, "old": f"{old:%Y-%m-%d}", "new": f"{new:%Y-%m-%d}", "reason": reason})
    if len(report.moved) > MOVED_SHOWN:
        messages.info(request, _("……另有 %(n)d 场已移动。") % {"n": len(report.moved) - MOVED_SHOWN})
    for session_id, day, reason in report.needs_decision:
        messages.warning(request, _("需要决定：场次 #%(id)s（%(day)s）%(reason)s，已通知机构负责人。") % {
            "id": session_id, "day": f"{day:%Y-%m-%d}", "reason": reason})


def _load(request, data, dry_run):
    parsed = workdays.parse_holiday_cn(data)  # checked in full by the form
    counts = {"year": parsed.year, "off": len(parsed.days_off), "makeup": len(parsed.makeup_days)}
    if dry_run:
        messages.info(request, _("检查通过，未写入：%(year)d 年放假 %(off)d 天，调休上班 %(makeup)d 天。") % counts)
        return parsed.year
    _row, report = workdays_load(data, user=request.user)  # form-checked: no error left
    messages.success(request, _("已载入 %(year)d 年节假日安排：放假 %(off)d 天，调休上班 %(makeup)d 天。") % counts)
    _replan_messages(request, report)
    return parsed.year


def _days_shown(row):
    """The days of a year's table, each with its holiday name (the file's; else the
    chinese-calendar package's or the statutory rule's, so that no day reads "—"); an estimated
    year adds its likely bridge days as "可能调休"."""
    if row is None:
        return []
    days = list(row.days.all())
    statutory = calendar_rules.statutory_days_off(row.year)
    known = _names_of_year(row.year) if any(not d.name for d in days) else {}
    for d in days:
        d.name = d.name or known.get(d.date) or statutory.get(d.date, "")
        d.bridge = False
    if row.estimated:
        listed = {d.date for d in days}
        for day, name in calendar_rules.possible_bridge_days(row.year).items():
            if day not in listed:
                days.append(WorkDay(year=row, date=day, name=name, is_off=False))
                days[-1].bridge = True
        days.sort(key=lambda d: d.date)
    return days


def _names_of_year(year):
    """{day: Chinese holiday name} of the chinese-calendar package for `year` ({} if unknown)."""
    work_year = workdays.from_chinese_calendar(year)
    if work_year is None:
        return {}
    return package_names(work_year.days_off | work_year.makeup_days)


@role_required(*ADMINS)
def workdays_page(request):
    form = HolidayFileForm(request.POST, request.FILES) if request.method == "POST" else HolidayFileForm()
    if form.is_bound:
        if form.is_valid():
            year = _load(request, form.cleaned_data["file"], form.cleaned_data["dry_run"])
            return redirect(f"{reverse('scheduling:workdays')}?year={year}")
        messages.error(request, _("文件有误，未写入任何数据。"))

    years = list(WorkYear.objects.annotate(
        days_off=Count("days", filter=Q(days__is_off=True)),
        makeup_days=Count("days", filter=Q(days__is_off=False)),
    ))
    selected = _selected_year(request, {y.year for y in years})
    row = next((y for y in years if y.year == selected), None)
    for y in years:
        y.source_shown = workdays.ESTIMATED_SOURCE if y.estimated else y.source
    ctx = {
        "form": form,
        "years": years,
        "selected": selected,
        "row": row,
        "days": _days_shown(row),
    }
    return render(request, "scheduling/workdays.html", ctx)
