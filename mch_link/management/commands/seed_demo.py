from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mch_link.demo import DEFAULT_PASSWORD, demo_seed


class Command(BaseCommand):
    help = (
        "Build the demo Shaoxing from data/shaoxing-regions.csv: regions, the MCH agencies and a "
        "grassroots provider per township, about 500 centres with grades, and one user per role "
        "sharing one password, and contracts for most required pairs. Deterministic. By default it "
        "only creates what is missing and leaves every existing row as users left it; --update makes "
        "the demo rows as the plan says again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password",
                            help=f"password of every demo user, also set on existing ones "
                                 f"(default: {DEFAULT_PASSWORD} for new users; existing ones keep theirs)")
        parser.add_argument("--reset", action="store_true",
                            help="empty the database first (every row, users' work included) and start over")
        parser.add_argument("--update", action="store_true",
                            help="make existing demo rows as the plan says again (overwrites users' changes)")
        parser.add_argument("--dry-run", action="store_true",
                            help="build in a transaction that is rolled back; print what would change")
        parser.add_argument("--force", action="store_true",
                            help="run even with DEBUG off (the demo users share a published password)")

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("DEBUG is off: seed_demo creates users with a shared, published password. "
                               "Pass --force if this really is a demo installation.")
        if opts["reset"] and not opts["dry_run"]:
            _empty_database()
        result = demo_seed(password=opts["password"] or DEFAULT_PASSWORD, dry_run=opts["dry_run"],
                           update=opts["update"], reset_passwords=opts["password"] is not None)

        width = max(len(label) for label in result.tallies)
        row = "{:<" + str(width) + "}  {:>7}  {:>7}  {:>9}  {:>7}"
        lines = [row.format("table", "created", "updated", "unchanged", "deleted")]
        for label, t in result.tallies.items():
            lines.append(row.format(label, t.created, t.updated, t.unchanged, t.deleted))
        total = result.total()
        lines.append(f"Total: {total.created} created, {total.updated} updated, "
                     f"{total.unchanged} unchanged, {total.deleted} deleted"
                     + (" (dry run: rolled back)" if opts["dry_run"] else ""))
        lines.append("")
        users = [(u.username, u.role.label, u.organisation, result.password) for u in result.plan.users]
        header = ("username", "role", "organisation", "password")
        widths = [max(_width(row[i]) for row in [header, *users]) for i in range(4)]
        for row in [header, *users]:
            lines.append("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("\n".join(lines))


def _empty_database():
    """Every table emptied (flush), then the reference data the migrations seed put back."""
    from django.core.management import call_command

    from mch_link.demo import reference_data_ensure

    call_command("flush", interactive=False, verbosity=0)
    reference_data_ensure()


def _width(text):
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(text))


def _pad(text, width):
    return str(text) + " " * (width - _width(text))
