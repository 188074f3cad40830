"""PostgreSQL refuses DELETE of a ledger entry too, as it does for budget entries: no code path
removes a points movement, and the model's guard alone would not stop raw SQL."""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS points_ledger_no_update ON points_ledgerentry;
CREATE TRIGGER points_ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS points_ledger_no_update_or_delete ON points_ledgerentry;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("points", "0003_points_adjustment_request")]

    operations = [migrations.RunPython(forwards, backwards)]
