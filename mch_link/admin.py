from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    AuditEvent,
    Centre,
    CentreGrade,
    Contract,
    Grade,
    Membership,
    Ownership,
    Provider,
    Region,
)

admin.site.site_header = _("医育结合签约服务 · 管理后台")
admin.site.site_title = _("mch-link 管理")


class ChildRegionInline(admin.TabularInline):
    model = Region
    fk_name = "parent"
    fields = ("code", "name", "level", "valid_from", "valid_to")
    extra = 0
    show_change_link = True


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to")
    list_filter = ("level", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "successor")
    inlines = [ChildRegionInline]
    list_select_related = ("parent",)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region", "phone", "doctors")
    list_filter = ("kind", ("region__parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "region__name")
    raw_id_fields = ("region",)
    filter_horizontal = ("also_covers",)
    list_select_related = ("region",)


class CentreGradeInline(admin.TabularInline):
    model = CentreGrade
    extra = 0


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "township", "ownership", "places", "filed_on", "closed_on")
    list_filter = ("ownership", ("township__parent", admin.RelatedOnlyFieldListFilter), "closed_on")
    search_fields = ("code", "name", "township__name")
    raw_id_fields = ("township",)
    date_hierarchy = "filed_on"
    inlines = [CentreGradeInline]
    list_select_related = ("township", "ownership")


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rank")


@admin.register(Ownership)
class OwnershipAdmin(admin.ModelAdmin):
    list_display = ("name",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "provider", "centre")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "provider__name", "centre__name")
    raw_id_fields = ("user", "region", "provider", "centre")


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("provider", "centre", "status", "signed_on", "valid_from", "valid_to", "terminated_on")
    list_filter = ("status", "provider__kind")
    search_fields = ("provider__name", "centre__name", "centre__code", "provider__code")
    raw_id_fields = ("provider", "centre", "renewed_from")
    date_hierarchy = "valid_from"
    list_select_related = ("provider", "centre")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "model", "object_repr", "reason")
    list_filter = ("model", "action")
    search_fields = ("object_repr", "user__username", "reason")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
