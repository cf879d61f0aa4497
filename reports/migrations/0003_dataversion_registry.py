from django.db import migrations, models
from django.db.models import F


def registry_from_n(apps, schema_editor):
    """The registry version starts where the data version is (the clock, for a new database):
    a value the counter had, never one an earlier database's reports were kept under."""
    apps.get_model("reports", "DataVersion").objects.update(registry=F("n"))


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0002_dataversion"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataversion",
            name="registry",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(registry_from_n, migrations.RunPython.noop),
    ]
