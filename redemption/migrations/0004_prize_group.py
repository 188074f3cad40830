"""A prize's product group: prizes of one program, kind and group are of the same kind."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("redemption", "0003_portal_fulfilment_and_request_keys")]

    operations = [
        migrations.AddField(
            model_name="prize",
            name="group",
            field=models.CharField(blank=True, default="", max_length=100),
            preserve_default=False,
        ),
    ]
