import datetime

from django.core.management.base import BaseCommand

from ._dbtools import backup


class Command(BaseCommand):
    help = ("Write a consistent copy of the database to a file while the site runs: SQLite's online "
            "backup (a SQLite file) or pg_dump's custom format (PostgreSQL). Uploaded files "
            "(MEDIA_ROOT) are not in it: copy that folder too (docs/deploy.md).")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="the file to write (default: mch-link-<time>.backup)")

    def handle(self, *args, **opts):
        path = opts["path"] or f"mch-link-{datetime.datetime.now():%Y%m%d-%H%M%S}.backup"
        backup(path)
        self.stdout.write(f"backup written: {path}")
