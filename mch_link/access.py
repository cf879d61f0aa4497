"""The page checks, kept under their old import path: they live in permissions.py."""

from .permissions import (  # noqa: F401
    ADMINS,
    BUREAUS,
    CENTRE_STAFF,
    MANAGERS,
    PROVIDER_STAFF,
    has_role,
    role_required,
)
