from django.core.management.base import BaseCommand

from scheduling.jobs import SCHEDULES, register_schedules


class Command(BaseCommand):
    help = "Register the background jobs with django-q (idempotent: safe to run on every start)."

    def handle(self, *args, **opts):
        created = register_schedules()
        for name in SCHEDULES:
            self.stdout.write(f"{'created' if name in created else 'present'}: {name}")
