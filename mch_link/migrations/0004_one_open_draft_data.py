"""Before one_open_draft_per_pair: a pair drafted more than once (double submits, or two
managers at once) keeps its first open draft; the later copies, never signed, are removed."""

from django.db import migrations


def dedupe_drafts(apps, schema_editor):
    Contract = apps.get_model("mch_link", "Contract")
    seen = set()
    for pk, provider, centre in Contract.objects.filter(status="draft").order_by("pk").values_list(
            "pk", "provider_id", "centre_id"):
        if (provider, centre) in seen:
            Contract.objects.filter(pk=pk).delete()
        seen.add((provider, centre))


class Migration(migrations.Migration):

    dependencies = [
        ("mch_link", "0003_constraint_messages"),
    ]

    operations = [
        migrations.RunPython(dedupe_drafts, migrations.RunPython.noop),
    ]
