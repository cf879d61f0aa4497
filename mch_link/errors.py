"""Typed refusals of a write, and the one place that maps them to HTTP status codes.

Both are ValidationErrors, so every caller that catches ValidationError (forms, views, the
importer, the admin) keeps working; views ask `status_of(exc)` for the response code.
"""

from django.core.exceptions import ValidationError

CONFLICT_MESSAGE = "该记录已被他人修改（您看到的是旧版本），您的修改未保存。请刷新页面查看最新内容后再修改。"
LOCKED_MESSAGE = "该季度已审核锁定，不能修改。如需修改请联系区县卫健局重新开放。"


class Conflict(ValidationError):
    """Someone else saved the row since it was shown (a lost update): nothing was written."""

    status = 409

    def __init__(self, message=CONFLICT_MESSAGE, code="conflict", params=None):
        super().__init__(message, code=code, params=params)


class Locked(ValidationError):
    """The change touches a quarter its county reviewer approved: nothing was written."""

    status = 423

    def __init__(self, message=LOCKED_MESSAGE, code="locked", params=None):
        super().__init__(message, code=code, params=params)


def status_of(exc, default=400):
    """The HTTP status of a refused write: 409 for a Conflict, 423 for Locked, else `default`."""
    return getattr(exc, "status", default)


def add_to_form(form, exc):
    """Show a ValidationError on `form`: keyed messages on their field (or the form when the
    form has no such field), plain messages on the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for e in errors:
                form.add_error(field if field in form.fields else None, e.messages[0])
    else:
        for msg in exc.messages:
            form.add_error(None, msg)
