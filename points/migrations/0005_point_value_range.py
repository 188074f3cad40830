"""A program's point value band (± a fraction) becomes a range of value per point, min to max:
the band's two ends, to six places (SPEC §8 `point_value_range`)."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import F, Q

STEP = Decimal("0.000001")


def band_to_range(apps, schema_editor):
    PointsProgram = apps.get_model("points", "PointsProgram")
    for program in PointsProgram.objects.all().only("pk", "point_value", "point_value_band"):
        value, band = program.point_value, program.point_value_band
        low = max((value * (1 - band)).quantize(STEP), STEP)
        high = max((value * (1 + band)).quantize(STEP), value)
        # .update, not .save: only the two new columns are written.
        PointsProgram.objects.filter(pk=program.pk).update(
            point_value_min=min(low, value), point_value_max=high
        )


def range_to_band(apps, schema_editor):
    """Back to a band: the wider side of the range as a fraction of the point value."""
    PointsProgram = apps.get_model("points", "PointsProgram")
    for program in PointsProgram.objects.all().only(
        "pk", "point_value", "point_value_min", "point_value_max"
    ):
        value = program.point_value
        wider = max(value - program.point_value_min, program.point_value_max - value)
        band = min((wider / value).quantize(Decimal("0.0001")), Decimal("9.9999"))
        PointsProgram.objects.filter(pk=program.pk).update(point_value_band=band)


class Migration(migrations.Migration):
    dependencies = [("points", "0004_ledger_refuses_delete")]

    operations = [
        migrations.AddField(
            model_name="pointsprogram",
            name="point_value_min",
            field=models.DecimalField(decimal_places=6, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name="pointsprogram",
            name="point_value_max",
            field=models.DecimalField(decimal_places=6, max_digits=12, null=True),
        ),
        migrations.RunPython(band_to_range, range_to_band),
        migrations.AlterField(
            model_name="pointsprogram",
            name="point_value_min",
            field=models.DecimalField(decimal_places=6, max_digits=12),
        ),
        migrations.AlterField(
            model_name="pointsprogram",
            name="point_value_max",
            field=models.DecimalField(decimal_places=6, max_digits=12),
        ),
        migrations.RemoveField(model_name="pointsprogram", name="point_value_band"),
        migrations.AddConstraint(
            model_name="pointsprogram",
            constraint=models.CheckConstraint(
                condition=Q(point_value_min__gt=0)
                & Q(point_value_min__lte=F("point_value"))
                & Q(point_value_max__gte=F("point_value")),
                name="points_program_value_range",
            ),
        ),
    ]
