"""The registry import page: a thin interface over mch_link.importer (as is the command)."""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import ADMINS, role_required
from .forms import MultipleFileField
from .importer import (
    COLUMNS,
    TABLE_LABELS,
    TABLE_NAMES,
    TABLE_ORDER,
    SourceError,
    read_uploads,
    registry_import,
)
from .scoping import is_everything, membership_of


class ImportForm(forms.Form):
    files = MultipleFileField(
        accept=".xlsx,.csv",
        label=gettext_lazy("文件"),
        help_text=gettext_lazy("一个 .xlsx 工作簿，或若干 .csv 文件（regions.csv、providers.csv、"
                               "centres.csv、contracts.csv，可只选其中几个）。"),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("仅试运行：检查数据并显示将新增、更新多少行，不写入"), required=False,
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.MAX_UPLOAD_BYTES
        errors = [
            ValidationError(
                _("文件“%(name)s”大小为 %(size)s，超过上限 %(limit)s"), code="too_big",
                params={"name": f.name, "size": filesizeformat(f.size), "limit": filesizeformat(limit)},
            )
            for f in files if f.size > limit
        ]
        suffixes = [Path(f.name).suffix.lower() for f in files]
        if any(s not in (".xlsx", ".csv") for s in suffixes):
            errors.append(ValidationError(_("只能上传 .xlsx 或 .csv 文件"), code="type"))
        elif ".xlsx" in suffixes and len(files) > 1:
            errors.append(ValidationError(_("请只上传一个 .xlsx 工作簿，或只上传 .csv 文件"), code="mixed"))
        if errors:
            raise ValidationError(errors)
        return files


def _format():
    """(table, label, sheet or file names, columns) for the format summary on the page."""
    return [(t, TABLE_LABELS[t], TABLE_NAMES[t], COLUMNS[t]) for t in TABLE_ORDER]


def _run(request, form):
    """Read the uploads and import them; (ImportResult or None, errors)."""
    # A city admin imports into its own city only; a superuser anywhere.
    m = membership_of(request.user)
    within = None if is_everything(request.user) or m is None else m.region
    try:
        sources = read_uploads(form.cleaned_data["files"])
    except SourceError as exc:
        return None, exc.issues
    result = registry_import(sources=sources, dry_run=form.cleaned_data["dry_run"], user=request.user,
                             within=within)
    return result, result.errors


@role_required(*ADMINS)
def import_registry(request):
    result, errors = None, []
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if form.is_bound and form.is_valid():
        result, errors = _run(request, form)
        if errors:
            messages.error(request, _("发现 %(n)d 个错误，未写入任何数据。") % {"n": len(errors)})
        elif result.dry_run:
            messages.info(request, _("试运行通过：以下为将要写入的数量，未写入任何数据。"))
        else:
            messages.success(request, _("导入完成。"))
        # Files cannot be shown again; keep the dry-run choice.
        form = ImportForm(initial={"dry_run": form.cleaned_data["dry_run"]})
    ctx = {"form": form, "result": result, "errors": errors, "format": _format()}
    return render(request, "mch_link/import.html", ctx)
