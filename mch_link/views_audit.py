"""The audit list: who changed what, when and why, for the bureaus (a city admin's city, a
reviewer's county), filterable by day, action, kind of object and person, and exportable as
CSV for a file or an inspector."""

import csv
import io

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import ACTION_LABELS, PERSON, audited_models, readable
from .forms import DateInput
from .models import AuditEvent
from .permissions import BUREAUS, role_required
from .scoping import scoped

PAGE_SIZE = 50
CSV_LIMIT = 50_000  # a county's years of changes fit; the file says so when cut
CSV_HEADERS = (_("时间"), _("操作人"), _("所在单位"), _("操作"), _("对象类型"), _("对象"), _("修改内容"), _("原因"))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    """Days are local (Asia/Shanghai) and inclusive."""

    date_from = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=DateInput())
    action = forms.ChoiceField(label=_("操作"), required=False)
    model = forms.ChoiceField(label=_("对象类型"), required=False)
    user = forms.CharField(label=_("操作人"), required=False, max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部操作")), *((k, v) for k, v in ACTION_LABELS.items())]
        self.fields["model"].choices = [("", _("全部对象")), *(
            (name, model._meta.verbose_name) for name, model in audited_models().items())]

    def filter(self, events):
        if not self.is_valid():
            return events
        data = self.cleaned_data
        if data["date_from"]:
            events = events.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            events = events.filter(at__date__lte=data["date_to"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["model"]:
            events = events.filter(model=data["model"])
        if data["user"]:
            who = data["user"].strip()
            events = events.filter(Q(user__username__icontains=who) | Q(user__first_name__icontains=who)
                                   | Q(user__last_name__icontains=who))
        return events


@role_required(*BUREAUS)
def audit_list(request):
    """The events the user may see, newest first: a page of 50, or every one as CSV
    (?format=csv). Queries: a fixed number, whatever the number of events."""
    form = AuditFilterForm(request.GET or None)
    events = form.filter(scoped(request.user, AuditEvent)).select_related(*PERSON).order_by("-at", "-pk")
    if request.GET.get("format") == "csv":
        return audit_csv(readable(events[:CSV_LIMIT]))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"form": form, "page": page, "rows": readable(page.object_list)}
    return render(request, "mch_link/audit_list.html", ctx)


def neutral(text):
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def audit_csv(rows):
    """UTF-8 with a BOM (Excel reads the Chinese right), CRLF, one line per event."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(h) for h in CSV_HEADERS])
    for r in rows:
        writer.writerow([neutral(v) for v in (r.when, r.person, r.organisation, r.action, r.model, r.object,
                                              r.changes_text(), r.reason)])
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    name = f"audit-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
