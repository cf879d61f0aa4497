"""The constraints of the concurrency guards, once the data holds them."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0010_concurrency_guards_data"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="sessionobligation",
            constraint=models.UniqueConstraint(condition=models.Q(("live", True)), fields=("obligation",),
                                               name="one_live_session_per_obligation",
                                               violation_error_message="该服务义务已有未取消的服务场次"),
        ),
        migrations.AddConstraint(
            model_name="attachment",
            constraint=models.UniqueConstraint(condition=models.Q(("sha256", ""), _negated=True),
                                               fields=("record", "sha256"), name="one_copy_per_record"),
        ),
    ]
