"""Obligation.confirmation: the centre's answer to the obligation's submitted record, stored
with the status (statuses_refresh) so that reports can count it in one GROUP BY. Filled here
for the existing records with the rule of scheduling.services.confirmations_of."""

from django.db import migrations, models
from django.db.models import F


def fill_confirmations(apps, schema_editor):
    Obligation = apps.get_model("scheduling", "Obligation")
    found = {}
    for pk, confirmation in Obligation.objects.filter(
        sessions__record__status="submitted",
        sessions__record__centres__confirmation__in=("confirmed", "disputed"),
        sessions__record__centres__centre_id=F("contract__centre_id"),
    ).order_by().values_list("pk", "sessions__record__centres__confirmation"):
        if found.get(pk) != "confirmed":
            found[pk] = confirmation
    by_answer = {}
    for pk, confirmation in found.items():
        by_answer.setdefault(confirmation, []).append(pk)
    for confirmation, pks in by_answer.items():
        for i in range(0, len(pks), 900):
            Obligation.objects.filter(pk__in=pks[i:i + 900]).update(confirmation=confirmation)


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0006_obligation_period_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="obligation",
            name="confirmation",
            field=models.CharField(
                choices=[("unconfirmed", "待确认"), ("confirmed", "已确认"), ("disputed", "有异议")],
                default="unconfirmed", help_text="本托育机构对已提交服务记录的确认，与状态一同刷新", max_length=12,
                verbose_name="托育机构确认"),
        ),
        migrations.RunPython(fill_confirmations, migrations.RunPython.noop),
    ]
