from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('evac_dashboard', '0006_audit_takeover'),
    ]

    operations = [
        migrations.AddField(
            model_name='evacuationbatch',
            name='pacing',
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
