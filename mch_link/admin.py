"""The admin: a scoped, mostly read-only tool for looking (issue 13, "one gate for every write").

Every list and page starts from `scoping.scoped(user, Model)` (a city admin sees its city,
a superuser everything; another city's row is a 404). Nothing is added or deleted here, and
no field is typed over the domain's rules: the few edits offered go through the domain's own
methods, which check the quarter lock, audit, and re-plan:

- a provider's or centre's contact and registry details (name, phone, address, places,
  ownership): saved with an audit row carrying the reason typed with the edit;
- a contract's termination, as an admin action: Contract.terminate (audit, contract_changed);
- a session's "allow a record before the period" (scheduling/admin.py): Session.change.

Codes, regions, dates in force and the rest come through the registry import, the contract
pages and the work calendar page, which validate and re-plan.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .audit import ACTION_LABELS, audit_if_changed, audited_models, snapshot
from .forms import TerminateForm
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
from .scoping import scoped

admin.site.site_header = _("医育结合签约服务 · 管理后台")
admin.site.site_title = _("mch-link 管理")

ADMIN_REASON = _("管理后台修改")


class AuditedChangeForm(forms.ModelForm):
    """An admin edit says why: the reason goes into the audit row."""

    audit_reason = forms.CharField(label=_("修改原因"), max_length=200,
                                   help_text=_("记入操作记录"))

    def clean(self):
        data = super().clean()
        try:
            self.admin_check(self.instance)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return data

    def admin_check(self, obj):
        """Refuse the edit before anything is written (the quarter lock); overridden per admin."""


class ScopedAdmin(admin.ModelAdmin):
    """Rows through scoping, no add, no delete, and only `editable_fields` changeable (saved
    with an audit row through `save_through_domain`). Without editable fields: view only."""

    editable_fields = ()

    def scope(self, request):
        """The rows the user may see: the scoping registry's, unless overridden."""
        return scoped(request.user, self.model)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=self.scope(request).values("pk"))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:  # outside the scope or absent: the same answer, no redirect hinting at it
            raise Http404
        return obj

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return bool(self.editable_fields) and super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.get_fields()
                 if getattr(f, "concrete", False) and (f.editable or f.many_to_many) and not f.auto_created]
        return [n for n in names if n not in self.editable_fields]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self.editable_fields and self.has_change_permission(request, obj):
            check = self.admin_check
            kwargs["form"] = type("AdminForm", (AuditedChangeForm,), {"admin_check": lambda form, o: check(o)})
        return super().get_form(request, obj, change=change, **kwargs)

    def admin_check(self, obj):
        """Raise ValidationError to refuse an edit of `obj` (the form shows it, nothing is saved)."""

    def save_model(self, request, obj, form, change):
        self.save_through_domain(request, obj, form.cleaned_data["audit_reason"],
                                 {name: form.cleaned_data[name] for name in form.changed_data
                                  if name in self.editable_fields})

    def save_through_domain(self, request, obj, reason, changes):
        """Save `changes` (field -> value, already set on `obj` and validated by the form) and
        audit them as "update" with `reason`."""
        before = snapshot(type(obj).objects.get(pk=obj.pk))
        obj.save()
        audit_if_changed(obj, user=request.user, action="update", before=before, reason=reason)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyInline:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChildRegionInline(ReadOnlyInline, admin.TabularInline):
    model = Region
    fk_name = "parent"
    fields = ("code", "name", "level", "valid_from", "valid_to")
    extra = 0
    show_change_link = True


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to")
    list_filter = ("level", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")
    inlines = [ChildRegionInline]
    list_select_related = ("parent",)


@admin.register(Provider)
class ProviderAdmin(ScopedAdmin):
    list_display = ("code", "name", "kind", "region", "phone", "doctors")
    list_filter = ("kind", ("region__parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "region__name")
    list_select_related = ("region",)
    # the number of doctors sets the plan's capacity: it changes through the registry import
    editable_fields = ("name", "phone", "phone_ext", "address")


class CentreGradeInline(ReadOnlyInline, admin.TabularInline):
    model = CentreGrade
    extra = 0


@admin.register(Centre)
class CentreAdmin(ScopedAdmin):
    list_display = ("code", "name", "township", "ownership", "places", "filed_on", "closed_on")
    list_filter = ("ownership", ("township__parent", admin.RelatedOnlyFieldListFilter), "closed_on")
    search_fields = ("code", "name", "township__name")
    date_hierarchy = "filed_on"
    inlines = [CentreGradeInline]
    list_select_related = ("township", "ownership")
    # code, township, filing and closing dates decide which contracts the rules require:
    # they change through the registry import
    editable_fields = ("name", "phone", "phone_ext", "address", "places", "ownership")


@admin.register(Grade)
class GradeAdmin(ScopedAdmin):
    """Reference data (the ranks are the tier rules' input): set by migration."""

    list_display = ("name", "code", "rank")

    def scope(self, request):
        return Grade.objects.all()


@admin.register(Ownership)
class OwnershipAdmin(ScopedAdmin):
    list_display = ("name",)

    def scope(self, request):
        return Ownership.objects.all()


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    """Memberships of the organisations the user sees; accounts are the installation's."""

    list_display = ("user", "role", "region", "provider", "centre")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "provider__name", "centre__name")
    list_select_related = ("user", "region", "provider", "centre")

    def scope(self, request):
        who = request.user
        return Membership.objects.filter(
            Q(region__in=scoped(who, Region).values("pk"))
            | Q(provider__in=scoped(who, Provider).values("pk"))
            | Q(centre__in=scoped(who, Centre).values("pk")))


@admin.register(Contract)
class ContractAdmin(ScopedAdmin):
    list_display = ("provider", "centre", "status", "signed_on", "valid_from", "valid_to", "terminated_on")
    list_filter = ("status", "provider__kind")
    search_fields = ("provider__name", "centre__name", "centre__code", "provider__code")
    date_hierarchy = "valid_from"
    list_select_related = ("provider", "centre")
    actions = ["terminate_contracts"]

    def has_terminate_permission(self, request):
        return request.user.has_perm("mch_link.change_contract")

    @admin.action(description=_("终止所选协议（记入操作记录并重新排期）"), permissions=["terminate"])
    def terminate_contracts(self, request, queryset):
        """Ask the date and reason, then Contract.terminate each (audit, contract_changed)."""
        form = TerminateForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done, errors = 0, []
            for contract in queryset.select_related("provider", "centre"):
                try:
                    with transaction.atomic():
                        contract.terminate(on=form.cleaned_data["terminated_on"],
                                           reason=form.cleaned_data["reason"], by=request.user)
                    done += 1
                except ValidationError as exc:
                    errors.append(f"{contract.centre}：{'；'.join(exc.messages)}")
            if done:
                self.message_user(request, _("已终止 %(n)d 份协议") % {"n": done}, messages.SUCCESS)
            for error in errors:
                self.message_user(request, error, messages.ERROR)
            return None
        ctx = {**self.admin_site.each_context(request), "title": _("终止所选协议"), "form": form,
               "contracts": queryset.select_related("provider", "centre"), "opts": self.model._meta,
               "action": "terminate_contracts", "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)}
        return TemplateResponse(request, "admin/mch_link/contract/terminate.html", ctx)


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    list_display = ("at", "user", "action_name", "model_name", "object_repr", "reason")
    list_filter = ("model", "action")
    search_fields = ("object_repr", "user__username", "reason")
    date_hierarchy = "at"
    list_select_related = ("user",)

    @admin.display(description=_("操作"), ordering="action")
    def action_name(self, obj):
        return ACTION_LABELS.get(obj.action, obj.action)

    @admin.display(description=_("对象类型"), ordering="model")
    def model_name(self, obj):
        model = audited_models().get(obj.model)
        return model._meta.verbose_name if model else obj.model
