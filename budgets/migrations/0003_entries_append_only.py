"""PostgreSQL refuses any UPDATE or DELETE of a budget entry: the entries are append-only.

Unlike the points ledger's trigger, this one refuses deletes too: no code path removes a money
movement, so a tenant that moved money can no longer be deleted row by row (TRUNCATE, which the
test database's flush uses, fires no row trigger). On SQLite (`make run`) the model's guards stand
alone, as for the ledger.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION budgets_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'budget entries are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER budgets_entry_no_update_or_delete BEFORE UPDATE OR DELETE ON budgets_budgetentry
    FOR EACH ROW EXECUTE FUNCTION budgets_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS budgets_entry_no_update_or_delete ON budgets_budgetentry;
DROP FUNCTION IF EXISTS budgets_entry_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("budgets", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
