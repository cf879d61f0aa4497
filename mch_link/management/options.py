"""Shared argument handling for management commands."""

from django.core.management.base import CommandError

from mch_link.models import Region


def region_option(code):
    """The Region with `code`, None when no code is given; a CommandError for an unknown code."""
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise CommandError(f"--region {code!r}: no region has this code")
    return region
