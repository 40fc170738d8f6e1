"""Mark the training examples of corrections hidden before ``TrainingExample.source_hidden_at``
existed, so the model registry redacts their revocations too."""

from django.db import migrations


def backfill(apps, schema_editor):
    Correction = apps.get_model("community", "Correction")
    TrainingExample = apps.get_model("colorization", "TrainingExample")
    for pk, hidden_at in Correction.objects.filter(hidden_at__isnull=False).values_list("pk", "hidden_at"):
        TrainingExample.objects.filter(source=f"correction:{pk}", source_hidden_at__isnull=True).update(
            source_hidden_at=hidden_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0007_backfill_replaced"),
        ("colorization", "0012_training_example_source_hidden"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
