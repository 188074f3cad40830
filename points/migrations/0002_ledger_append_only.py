"""PostgreSQL refuses any UPDATE of a ledger entry: the ledger is append-only (ARCHITECTURE §3).

Deletes are left to the application's guard so a tenant can still be removed as a whole.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION points_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points ledger entries are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS points_ledger_no_update ON points_ledgerentry;
DROP FUNCTION IF EXISTS points_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
