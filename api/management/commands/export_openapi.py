import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "openapi.json"


def openapi_text():
    """The API's OpenAPI 3.1 document as the text kept in docs/openapi.json (sorted keys,
    Chinese unescaped, a final newline): the same code gives the same bytes."""
    from api.main import api

    return json.dumps(api.get_openapi_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = ("Write the JSON API's OpenAPI 3.1 document (generated from the code) to docs/openapi.json; "
            "with --check, write nothing and fail when the file differs from the code (CI).")

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(DEFAULT_PATH), help="file to write (default docs/openapi.json)")
        parser.add_argument("--check", action="store_true", help="fail if the file is not what the code generates")

    def handle(self, *args, **opts):
        path = Path(opts["output"])
        text = openapi_text()
        if opts["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(f"{path} is out of date: run `python manage.py export_openapi`")
            self.stdout.write(f"{path}: up to date")
            return
        path.write_text(text, encoding="utf-8")
        self.stderr.write(f"wrote {path}")
