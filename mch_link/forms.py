from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import params
from .dates import one_year_from
from .models import Contract

# Magic bytes of the file types we accept as scans and attachments.
FILE_SIGNATURES = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


def validate_upload(upload, allowed=("pdf", "png", "jpg", "jpeg")):
    """Refuse files over MAX_UPLOAD_BYTES and files whose content is not of an allowed type."""
    ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if ext not in allowed:
        raise ValidationError(_("只接受以下类型的文件：%(types)s") % {"types": "、".join(allowed)})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_("文件过大：不能超过 %(mb)d MB") % {"mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024)})
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in FILE_SIGNATURES.get(ext, ())):
        raise ValidationError(_("文件内容与扩展名“%(ext)s”不符") % {"ext": ext})
    return upload


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list of UploadedFile (empty when optional and
    none given). `accept` hints the browser's picker; `max_files` caps the count."""

    def __init__(self, *args, accept="", max_files=None, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept} if accept else {}))
        self.max_files = max_files
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if self.max_files and len(files) > self.max_files:
            raise ValidationError(_("一次最多上传 %(n)d 个文件") % {"n": self.max_files})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def validate_on_model(form, instance):
    """Add to `form` what the model's constraints say of `instance`, on the form's fields, in
    the constraint's own words. Fields the form left empty or invalid are not checked."""
    given = {name for name in form.fields if form.cleaned_data.get(name) is not None}
    exclude = {f.name for f in instance._meta.concrete_fields} - given
    try:
        instance.validate_constraints(exclude=exclude)
    except ValidationError as exc:
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)


def _today():
    return timezone.localdate()


class DraftMissingForm(forms.Form):
    valid_from = forms.DateField(label=_("生效日期"), widget=DateInput(), initial=_today)
    valid_to = forms.DateField(label=_("到期日期"), widget=DateInput(), required=False,
                               help_text=_("留空则为一年"))

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and not end:
            data["valid_to"] = one_year_from(start)
        validate_on_model(self, Contract(valid_from=start, valid_to=data.get("valid_to")))
        return data


class SignForm(forms.Form):
    signed_on = forms.DateField(label=_("签约日期"), widget=DateInput(), initial=_today)
    valid_from = forms.DateField(label=_("生效日期"), widget=DateInput())
    valid_to = forms.DateField(label=_("到期日期"), widget=DateInput())
    scan = forms.FileField(label=_("协议扫描件（PDF或图片）"), required=False)

    def clean_signed_on(self):
        day = self.cleaned_data["signed_on"]
        if day > timezone.localdate():
            raise ValidationError(_("签约日期不能晚于今天"))
        return day

    def clean_scan(self):
        scan = self.cleaned_data.get("scan")
        return validate_upload(scan) if scan else None

    def clean(self):
        data = super().clean()
        validate_on_model(self, Contract(valid_from=data.get("valid_from"), valid_to=data.get("valid_to")))
        return data


class TerminateForm(forms.Form):
    terminated_on = forms.DateField(label=_("终止日期"), widget=DateInput(), initial=_today,
                                    help_text=_("自该日起协议不再有效"))
    reason = forms.CharField(label=_("终止原因"), max_length=200)


class RenewForm(forms.Form):
    signed_on = forms.DateField(label=_("续签签约日期"), widget=DateInput(), initial=_today)
    contracts = forms.TypedMultipleChoiceField(coerce=int, choices=(), label=_("续签的协议"),
                                               error_messages={"required": _("请至少选择一份协议")})

    def __init__(self, *args, contract_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contracts"].choices = [(pk, pk) for pk in contract_ids]


class CoverageFilterForm(forms.Form):
    date = forms.DateField(label=_("统计日期"), widget=DateInput(), required=False)
    region = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_date(self):
        return params.check_date(self.cleaned_data["date"])

    def day(self):
        if self.is_valid() and self.cleaned_data.get("date"):
            return self.cleaned_data["date"]
        return timezone.localdate()

