"""Guards the database keeps whoever writes (issue: integrity under concurrency).

- Session.obligations gets an explicit through model on the same table, with `live`: false
  for the links of cancelled sessions. A partial unique index allows one live session per
  obligation, so two planners running at once cannot plan an obligation twice.
- RecordCentre.confirmed_version: the record version a centre's answer is about.
- Attachment.sha256: one copy of a file per record.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0008_report_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # the auto-created M2M table already has these columns and unique (session, obligation)
            state_operations=[
                migrations.CreateModel(
                    name="SessionObligation",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                verbose_name="ID")),
                        ("obligation", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                         to="scheduling.obligation")),
                        ("session", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      to="scheduling.session")),
                    ],
                    options={
                        "db_table": "scheduling_session_obligations",
                        "unique_together": {("session", "obligation")},
                    },
                ),
                migrations.AlterField(
                    model_name="session",
                    name="obligations",
                    field=models.ManyToManyField(related_name="sessions", through="scheduling.SessionObligation",
                                                 to="scheduling.obligation", verbose_name="服务义务"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="sessionobligation",
            name="live",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="recordcentre",
            name="confirmed_version",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="所确认的记录版本",
                help_text="确认或异议时记录的版本号；记录内容此后有改动，本确认即失效，恢复为待确认"),
        ),
        migrations.AddField(
            model_name="attachment",
            name="sha256",
            field=models.CharField(blank=True, default="", max_length=64,
                                   help_text="文件内容的 SHA-256：同一文件在一条记录下只保存一次"),
        ),
    ]
