"""Admin for the work calendar, obligations and sessions: for looking (see mch_link/admin.py).

Rows come through scoping; nothing is added, deleted or typed over the rules here. Calendar
years are loaded with `load_workdays` or the /schedule/workdays/ page, which validate the
year and re-plan it; closures and leave are the planner's input; obligations are resolved
and sessions moved or cancelled on the session page (the quarter lock, the audit and the
calendar SEQUENCE are theirs). The one edit offered, a session's "allow a record before the
period", goes through Session.change under the same lock.
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from mch_link.admin import ReadOnlyInline, ScopedAdmin
from mch_link.models import Centre, Provider
from mch_link.scoping import scoped

from .models import CentreClosure, DoctorLeave, Obligation, Session, WorkDay, WorkYear


class WorkDayInline(ReadOnlyInline, admin.TabularInline):
    model = WorkDay
    fields = ("date", "is_off", "name")
    extra = 0


@admin.register(WorkYear)
class WorkYearAdmin(ScopedAdmin):
    list_display = ("year", "estimated", "source", "days_off", "makeup_days", "loaded_at")
    list_filter = ("estimated",)
    inlines = [WorkDayInline]
    list_select_related = True  # no relations to follow; stated for the habit

    def scope(self, request):
        return WorkYear.objects.all()  # the national calendar: the same for everyone

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_off=Count("days", filter=Q(days__is_off=True)),
            n_makeup=Count("days", filter=Q(days__is_off=False)),
        )

    @admin.display(description=_("放假天数"), ordering="n_off")
    def days_off(self, obj):
        return obj.n_off

    @admin.display(description=_("调休上班天数"), ordering="n_makeup")
    def makeup_days(self, obj):
        return obj.n_makeup


@admin.register(CentreClosure)
class CentreClosureAdmin(ScopedAdmin):
    list_display = ("date", "centre", "reason")
    search_fields = ("centre__name", "centre__code", "reason")
    date_hierarchy = "date"
    list_select_related = ("centre",)

    def scope(self, request):
        return CentreClosure.objects.filter(centre__in=scoped(request.user, Centre).values("pk"))


@admin.register(DoctorLeave)
class DoctorLeaveAdmin(ScopedAdmin):
    list_display = ("date", "doctor", "provider", "reason")
    list_filter = (("provider", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("doctor__username", "doctor__first_name", "provider__name", "provider__code")
    date_hierarchy = "date"
    list_select_related = ("provider", "doctor")

    def scope(self, request):
        return DoctorLeave.objects.filter(provider__in=scoped(request.user, Provider).values("pk"))


@admin.register(Obligation)
class ObligationAdmin(ScopedAdmin):
    list_display = ("period", "kind", "provider", "centre", "status", "resolution", "done_on")
    list_filter = ("kind", "period", "status", "resolution")
    search_fields = ("contract__centre__name", "contract__centre__code")
    list_select_related = ("contract__provider", "contract__centre")

    @admin.display(description=_("医疗卫生机构"), ordering="contract__provider__code")
    def provider(self, obj):
        return obj.contract.provider

    @admin.display(description=_("托育机构"), ordering="contract__centre__code")
    def centre(self, obj):
        return obj.contract.centre


@admin.register(Session)
class SessionAdmin(ScopedAdmin):
    list_display = ("date", "start", "end", "kind", "provider", "doctor", "status", "estimated", "pinned",
                    "sequence")
    list_filter = ("kind", "status", "estimated")
    search_fields = ("provider__name", "provider__code", "doctor__username", "place")
    date_hierarchy = "date"
    list_select_related = ("provider", "doctor")
    editable_fields = ("allow_early_record",)

    def admin_check(self, obj):
        obj.refuse_if_locked()  # Locked: the form shows the message, nothing is written

    def save_through_domain(self, request, obj, reason, changes):
        """Session.change on the row held for update: the calendar SEQUENCE, the version, the
        audit row. The lock was checked by the form; checked again on the held row."""
        session = Session.objects.select_for_update().get(pk=obj.pk)
        session.refuse_if_locked()
        if changes:
            session.change(by=request.user, action="update", reason=reason, **changes)
