import time

from django.db import migrations, models


def first_row(apps, schema_editor):
    """The counter starts at the clock (milliseconds), as reports.freshness._fresh_start: a
    database created again (reset, a new test run) while a shared cache still holds reports of
    the one before never gives their versions again."""
    apps.get_model("reports", "DataVersion").objects.get_or_create(pk=1, defaults={"n": int(time.time() * 1000)})


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("n", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "report data version"},
        ),
        migrations.AddConstraint(
            model_name="dataversion",
            constraint=models.CheckConstraint(condition=models.Q(pk=1), name="data_version_one_row"),
        ),
        migrations.RunPython(first_row, migrations.RunPython.noop),
    ]
