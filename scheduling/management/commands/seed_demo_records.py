from django.core.management.base import BaseCommand
from django.utils import timezone

from scheduling.demo import demo_records_build


class Command(BaseCommand):
    help = ("Demo only: log and mostly confirm about 90% of the past planned sessions (deterministic; a "
            "second run adds nothing). Run after seed_demo and generate_schedule.")

    def handle(self, *args, **opts):
        n = demo_records_build(today=timezone.localdate())
        self.stdout.write(f"demo records created: {n}")
