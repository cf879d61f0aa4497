"""Admin for the work calendar, obligations and sessions: for looking and for repairs.

Calendar years are better loaded with `load_workdays` or the /schedule/workdays/ page, which
validate the whole year and re-plan it; edits here do neither (run generate_schedule after).

An obligation's stored status and confirmation are computed (statuses_refresh), never typed:
they are read-only here, and saving or deleting an obligation or a session refreshes the
statuses it touches, as the services do, so that the reports never count a stale one.
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CentreClosure, DoctorLeave, Obligation, Session, WorkDay, WorkYear
from .services import statuses_refresh


class RefreshesStatuses:
    """Admin mixin: after a save (with its many-to-many links) or a delete, refresh the stored
    statuses of the obligations the objects touch. `touched_path`: the lookup from an
    Obligation to the admin's model ("pk" for obligations, "sessions" for sessions); the ids
    are read with one query, whatever the number of objects (a bulk delete too)."""

    touched_path = "pk"

    def touched(self, objects):
        """The ids of the obligations touching `objects` (a queryset of the admin's model)."""
        return set(Obligation.objects.filter(**{f"{self.touched_path}__in": objects}).values_list("pk", flat=True))

    def save_related(self, request, form, formsets, change):
        this = type(form.instance).objects.filter(pk=form.instance.pk)
        before = self.touched(this) if change else set()
        super().save_related(request, form, formsets, change)
        self._refresh(before | self.touched(this))

    def delete_model(self, request, obj):
        ids = self.touched(type(obj).objects.filter(pk=obj.pk))
        super().delete_model(request, obj)
        self._refresh(ids)

    def delete_queryset(self, request, queryset):
        ids = self.touched(queryset)
        super().delete_queryset(request, queryset)
        self._refresh(ids)

    @staticmethod
    def _refresh(ids):
        if ids:
            statuses_refresh(timezone.localdate(), Obligation.objects.filter(pk__in=ids))


class WorkDayInline(admin.TabularInline):
    model = WorkDay
    fields = ("date", "is_off", "name")
    extra = 0


@admin.register(WorkYear)
class WorkYearAdmin(admin.ModelAdmin):
    list_display = ("year", "estimated", "source", "days_off", "makeup_days", "loaded_at")
    list_filter = ("estimated",)
    inlines = [WorkDayInline]
    list_select_related = True  # no relations to follow; stated for the habit

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
class CentreClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "centre", "reason")
    search_fields = ("centre__name", "centre__code", "reason")
    raw_id_fields = ("centre",)
    date_hierarchy = "date"
    list_select_related = ("centre",)


@admin.register(DoctorLeave)
class DoctorLeaveAdmin(admin.ModelAdmin):
    list_display = ("date", "doctor", "provider", "reason")
    list_filter = (("provider", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("doctor__username", "doctor__first_name", "provider__name", "provider__code")
    raw_id_fields = ("provider", "doctor")
    date_hierarchy = "date"
    list_select_related = ("provider", "doctor")


@admin.register(Obligation)
class ObligationAdmin(RefreshesStatuses, admin.ModelAdmin):
    list_display = ("period", "kind", "provider", "centre", "status", "resolution", "done_on")
    readonly_fields = ("status", "status_on", "confirmation")
    list_filter = ("kind", "period", "status", "resolution")
    search_fields = ("contract__centre__name", "contract__centre__code")
    raw_id_fields = ("contract",)
    list_select_related = ("contract__provider", "contract__centre")

    @admin.display(description=_("医疗卫生机构"), ordering="contract__provider__code")
    def provider(self, obj):
        return obj.contract.provider

    @admin.display(description=_("托育机构"), ordering="contract__centre__code")
    def centre(self, obj):
        return obj.contract.centre



@admin.register(Session)
class SessionAdmin(RefreshesStatuses, admin.ModelAdmin):
    list_display = ("date", "start", "end", "kind", "provider", "doctor", "status", "estimated", "pinned",
                    "sequence")
    list_filter = ("kind", "status", "estimated")
    search_fields = ("provider__name", "provider__code", "doctor__username", "place")
    date_hierarchy = "date"
    raw_id_fields = ("provider", "doctor", "obligations")
    readonly_fields = ("uid", "sequence", "version", "created_at", "updated_at")
    list_select_related = ("provider", "doctor")
    touched_path = "sessions"
