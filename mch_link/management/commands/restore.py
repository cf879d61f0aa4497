from django.core.management.base import BaseCommand, CommandError

from ._dbtools import restore


class Command(BaseCommand):
    help = ("Replace the whole database with a file written by `manage.py backup` on the same kind "
            "of database. Stop web and workers first. Asks unless --noinput.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, **opts):
        if opts["interactive"]:
            answer = input("This replaces every row of the database with the backup. Type 'yes' to go on: ")
            if answer != "yes":
                raise CommandError("restore cancelled")
        restore(opts["path"])
        self.stdout.write(f"restored from {opts['path']}")
