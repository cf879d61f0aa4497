"""The guards' data: links of cancelled sessions are not live; answered parts name the
record version they answered. Its own migration: PostgreSQL refuses to add the constraints in
the transaction that updated the rows (pending trigger events)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Through = apps.get_model("scheduling", "SessionObligation")
    Through.objects.filter(session__status="cancelled").update(live=False)
    # Obligations that concurrent plans gave two live sessions (the bug these guards end):
    # keep a held session, else the first; a planned copy that serves nothing else is
    # cancelled with the reason, and every other copy's link stops being live.
    Session = apps.get_model("scheduling", "Session")
    live = Through.objects.filter(live=True)
    doubled = live.values("obligation").annotate(n=models.Count("pk")).filter(n__gt=1).values("obligation")
    by_obligation = {}
    for link in live.filter(obligation__in=doubled).select_related("session").order_by("session_id"):
        by_obligation.setdefault(link.obligation_id, []).append(link)
    for links in by_obligation.values():
        links.sort(key=lambda link: (link.session.status != "held", link.session_id))
        for link in links[1:]:
            Through.objects.filter(pk=link.pk).update(live=False)
            session = link.session
            if session.status == "planned" and not Through.objects.filter(session=session, live=True).exists():
                Session.objects.filter(pk=session.pk).update(
                    status="cancelled", sequence=models.F("sequence") + 1, version=models.F("version") + 1,
                    change_reason="重复排期，已自动取消")
    RecordCentre = apps.get_model("scheduling", "RecordCentre")
    for part in RecordCentre.objects.exclude(confirmation="unconfirmed").select_related("record"):
        RecordCentre.objects.filter(pk=part.pk).update(confirmed_version=part.record.version)


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0009_concurrency_guards"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
