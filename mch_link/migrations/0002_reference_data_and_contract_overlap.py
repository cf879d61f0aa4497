"""Seed grades and ownership kinds; refuse overlapping signed contracts of one pair in the DB.

The overlap rule: two signed (or since terminated) contracts of the same provider and centre
may not both be in force on any day. A contract is in force valid_from..valid_to, and a
terminated one only before terminated_on. Intervals [a1, e1] and [a2, e2] meet iff
a1 <= e2 and a2 <= e1, which without date arithmetic reads as the condition below.
"""

from django.db import migrations

GRADES = [
    ("city_model", "市级示范", 4),
    ("level_1", "一级", 3),
    ("level_2", "二级", 2),
    ("level_3", "三级", 1),
]
OWNERSHIPS = ["公办", "公建民营", "民办", "用人单位办", "幼儿园托班"]

OVERLAP_CONDITION = """
    other.provider_id = NEW.provider_id AND other.centre_id = NEW.centre_id
    AND other.id <> NEW.id
    AND other.status IN ('signed', 'terminated')
    AND other.valid_from <= NEW.valid_to AND NEW.valid_from <= other.valid_to
    AND (other.terminated_on IS NULL OR other.terminated_on > NEW.valid_from)
    AND (NEW.terminated_on IS NULL OR NEW.terminated_on > other.valid_from)
"""
MESSAGE = "contract_overlap: signed contracts of the same provider and centre overlap in time"

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER contract_no_overlap_{op.lower()}
    BEFORE {op} ON mch_link_contract
    WHEN NEW.status IN ('signed', 'terminated') AND EXISTS (
        SELECT 1 FROM mch_link_contract AS other WHERE {OVERLAP_CONDITION})
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """
    for op in ("INSERT", "UPDATE")
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS contract_no_overlap_{op};" for op in ("insert", "update")]

POSTGRES_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION mch_link_contract_no_overlap() RETURNS trigger AS $$
    BEGIN
        IF NEW.status IN ('signed', 'terminated') AND EXISTS (
            SELECT 1 FROM mch_link_contract AS other WHERE {OVERLAP_CONDITION}) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '23P01';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER contract_no_overlap BEFORE INSERT OR UPDATE ON mch_link_contract
    FOR EACH ROW EXECUTE FUNCTION mch_link_contract_no_overlap();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS contract_no_overlap ON mch_link_contract;",
    "DROP FUNCTION IF EXISTS mch_link_contract_no_overlap();",
]


def seed(apps, schema_editor):
    Grade = apps.get_model("mch_link", "Grade")
    Ownership = apps.get_model("mch_link", "Ownership")
    for code, name, rank in GRADES:
        Grade.objects.update_or_create(code=code, defaults={"name": name, "rank": rank})
    for name in OWNERSHIPS:
        Ownership.objects.get_or_create(name=name)


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("mch_link", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
