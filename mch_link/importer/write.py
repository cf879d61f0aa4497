"""Writing registry rows: the importer's plan (write_plan) and the bulk upsert by natural key
the demo builds with (upsert). Both are called inside a transaction."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..audit import audit_change
from ..dbstats import analyze_after_bulk_write
from ..models import contracts_changed
from .spec import LEVEL_RANK


def write_plan(job, user):
    """Save what the table checks planned into `job`, parents before children; audit each
    contract as "import" by `user`, and send contract_changed once committed."""
    for region in sorted(job.region_writes, key=lambda r: LEVEL_RANK[r.level]):
        region.save()
    for region, successor in job.successor_writes:
        region.successor = successor
        region.save(update_fields=["successor"])
    for obj in (*job.provider_writes, *job.centre_writes):
        obj.save()
    for provider, townships in job.cover_writes:
        provider.also_covers.set(townships)
    for held, valid_until in job.grade_closures:
        held.valid_until = valid_until
        held.save(update_fields=["valid_until"])
    for award in job.grade_awards:
        award.save()
    # Updates before inserts: a contract moved out of the way frees its time before the
    # database's overlap trigger sees the new one.
    for contract, before in sorted(job.contract_writes, key=lambda w: w[0].pk is None):
        contract.save()
        audit_change(contract, user=user, action="import", before=before, reason=_("登记数据导入"))
    contracts_changed(c.pk for c, _before in job.contract_writes)


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __iadd__(self, other):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        return self


def upsert(model, key_fields, rows, existing, *, update=True):
    """Make `model` hold `rows` ({key tuple: {attname: value}}), matching on `key_fields`.
    With update=False only missing rows are created: a row found keeps whatever it holds.

    `existing` is a queryset holding at least the rows with these keys. Values are compared
    as the database stores them (get_prep_value), so a phone number or a date read back
    equals the one written. Bulk writes, so no save() signals and no audit: for seeding.
    Returns (Tally, {key tuple: pk}). Two or three queries.
    """
    tally = Tally()
    found = {tuple(getattr(obj, f) for f in key_fields): obj for obj in existing}
    to_create, to_update, fields = [], [], set()
    for key, values in rows.items():
        obj = found.get(key)
        if obj is None:
            to_create.append(model(**dict(zip(key_fields, key, strict=True)), **values))
            continue
        if not update:
            tally.unchanged += 1
            continue
        changed = [name for name, value in values.items()
                   if model._meta.get_field(name).get_prep_value(getattr(obj, name))
                   != model._meta.get_field(name).get_prep_value(value)]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            to_update.append(obj)
            fields.update(changed)
        else:
            tally.unchanged += 1
    if to_create:
        model.objects.bulk_create(to_create, batch_size=500)
        tally.created = len(to_create)
    if to_update:
        model.objects.bulk_update(to_update, sorted(fields), batch_size=500)
        tally.updated = len(to_update)
    analyze_after_bulk_write(len(to_create) + len(to_update), model)
    if to_create:
        # Read the keys back rather than rely on bulk_create returning primary keys.
        found = {tuple(getattr(obj, f) for f in key_fields): obj for obj in existing.all()}
    return tally, {key: found[key].pk for key in rows}
