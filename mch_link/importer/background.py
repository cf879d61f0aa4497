"""Large imports as a background task (django-q): the page saves the uploads in private storage
and creates an ImportJob; `run_job` (the task) reads, checks and writes them, storing its
progress and result on the job, which the import page shows (docs/import.md)."""

import logging
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ImportJob
from ..scoping import is_everything, membership_of
from .issues import ImportIssue, ImportResult, SourceError
from .reading import read_uploads
from .run import registry_import

log = logging.getLogger(__name__)

TASK = "mch_link.importer.background.run_job"


def scope_of(user):
    """The region a user imports within: a city admin's city; None (anywhere) for a superuser."""
    m = membership_of(user)
    return None if is_everything(user) or m is None else m.region


def start_job(files, *, user, dry_run):
    """Save `files` (uploads) and queue their import; returns the ImportJob."""
    from django_q.tasks import async_task

    folder = f"imports/{uuid.uuid4().hex}"
    names = [Path(upload.name).name for upload in files]
    for position, upload in enumerate(files):
        upload.seek(0)
        default_storage.save(_stored(folder, position, names[position]), upload)
    job = ImportJob.objects.create(user=user, folder=folder, names=names, dry_run=dry_run)
    transaction.on_commit(lambda: async_task(TASK, job.pk, task_name=f"import-{job.pk}"))
    return job


def run_job(job_id):
    """The task: import the job's files, recording progress and the result; the files are
    deleted afterwards whatever happens."""
    job = ImportJob.objects.get(pk=job_id)
    _update(job, stage=ImportJob.Stage.CHECKING)
    handles = []
    try:
        for position, name in enumerate(job.names):
            handles.append(File(default_storage.open(_stored(job.folder, position, name), "rb"), name=name))
        try:
            sources = read_uploads(handles)
        except SourceError as exc:
            result = ImportResult(errors=exc.issues, dry_run=job.dry_run)
        else:
            job.total = sum(max(len(t.rows) - 1, 0) for t in sources)
            _update(job, total=job.total)

            def progress(done, total):
                if done is None:
                    _update(job, stage=ImportJob.Stage.WRITING, done=total)
                else:
                    _update(job, done=done, total=max(total, job.total))

            result = registry_import(sources=sources, dry_run=job.dry_run, user=job.user,
                                     within=scope_of(job.user), progress=progress)
        _update(job, stage=ImportJob.Stage.DONE, result=result.to_json(), finished_at=timezone.now(),
                done=job.total)
    except Exception:
        log.exception("import job %s failed", job_id)
        failed = ImportResult(errors=[ImportIssue("", None, "", _("导入任务意外出错，未写入任何数据；请联系管理员"))])
        _update(job, stage=ImportJob.Stage.FAILED, result=failed.to_json(), finished_at=timezone.now())
        raise
    finally:
        for handle in handles:
            handle.close()
        for position, name in enumerate(job.names):
            default_storage.delete(_stored(job.folder, position, name))


def _stored(folder, position, name):
    """Where an upload waits: numbered, not named as uploaded (any name is safe to show, not
    to use as a path)."""
    return f"{folder}/{position}{Path(name).suffix.lower()[:5]}"


def _update(job, **values):
    for name, value in values.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**values)
