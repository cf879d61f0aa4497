"""The registry import page: a thin interface over mch_link.importer (as is the command)."""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .forms import MultipleFileField
from .importer import (
    COLUMNS,
    TABLE_LABELS,
    TABLE_NAMES,
    TABLE_ORDER,
    ImportResult,
    SourceError,
    read_uploads,
    registry_import,
)
from .importer.background import scope_of, start_job
from .importer.reading import XLS_MESSAGE, size_problem
from .importer.template import template_workbook
from .models import ImportJob, Region
from .permissions import ADMINS, role_required
from .scoping import is_everything


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
        errors = [ValidationError(problem, code="too_big")
                  for problem in (size_problem(f.name, f.size) for f in files) if problem]
        suffixes = [Path(f.name).suffix.lower() for f in files]
        if ".xls" in suffixes:
            errors.append(ValidationError(XLS_MESSAGE, code="xls"))
        elif any(s not in (".xlsx", ".csv") for s in suffixes):
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
    try:
        sources = read_uploads(form.cleaned_data["files"])
    except SourceError as exc:
        return None, exc.issues
    result = registry_import(sources=sources, dry_run=form.cleaned_data["dry_run"], user=request.user,
                             within=scope_of(request.user))
    return result, result.errors


def _announce(request, result, errors):
    if errors:
        messages.error(request, _("发现 %(n)d 个错误，未写入任何数据。") % {"n": len(errors)})
    elif result.dry_run:
        messages.info(request, _("试运行通过：以下为将要写入的数量，未写入任何数据。"))
    else:
        messages.success(request, _("导入完成。"))


def _context(form, result, errors):
    """The page's context; errors and notes grouped (one line a kind, with its count)."""
    return {"form": form, "result": result, "errors": errors, "error_groups": ImportResult(errors=list(errors))
            .error_groups, "format": _format()}


@role_required(*ADMINS)
def import_registry(request):
    result, errors = None, []
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if form.is_bound and form.is_valid():
        files = form.cleaned_data["files"]
        if sum(f.size for f in files) > settings.IMPORT_BACKGROUND_BYTES:
            job = start_job(files, user=request.user, dry_run=form.cleaned_data["dry_run"])
            return redirect("mch_link:import_job", pk=job.pk)
        result, errors = _run(request, form)
        _announce(request, result, errors)
        # Files cannot be shown again; keep the dry-run choice.
        form = ImportForm(initial={"dry_run": form.cleaned_data["dry_run"]})
    return render(request, "mch_link/import.html", _context(form, result, errors))


@role_required(*ADMINS)
def import_job(request, pk):
    """A background import: its progress while it runs (the page reloads itself), then its result."""
    job = get_object_or_404(ImportJob, pk=pk)
    if job.user_id != request.user.pk and not is_everything(request.user):
        raise Http404
    result = ImportResult.from_json(job.result) if job.result is not None else None
    errors = result.errors if result else []
    if result is not None:
        _announce(request, result, errors)
    ctx = {**_context(ImportForm(initial={"dry_run": job.dry_run}), result, errors), "job": job}
    return render(request, "mch_link/import.html", ctx)


@role_required(*ADMINS)
def import_template(request):
    """The XLSX template: Chinese headers, code columns formatted as text, drop-down lists for
    grade, ownership and the townships the user may import into."""
    within = scope_of(request.user)
    townships = Region.objects.filter(level=Region.Level.TOWNSHIP).select_related("parent")
    if within is not None:
        townships = townships.filter(parent__parent=within) if within.level == Region.Level.CITY \
            else townships.filter(parent=within)
    response = HttpResponse(template_workbook(townships),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''registry-template.xlsx"
    return response
