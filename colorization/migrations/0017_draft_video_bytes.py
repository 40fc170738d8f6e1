"""Draft.video_bytes: the size of a film clip render's colour clip, recorded when it finishes, so the
Atom feed states each enclosure's length without asking storage (one S3 request per entry, inside a
web request, before this).

Renders finished before this field existed are measured once here from storage: clip renders are
few (one per clip and one per accepted keyframe change), so this is a few storage requests at
migrate time. One whose file cannot be read stays null, and its feed entry leaves ``length`` out.
"""

from django.core.files.storage import default_storage
from django.db import migrations, models


def measure_finished_renders(apps, schema_editor):
    Draft = apps.get_model("colorization", "Draft")
    for pk, key in Draft.objects.filter(video_bytes__isnull=True).exclude(video="").values_list("pk", "video"):
        try:
            size = default_storage.size(key)
        except (OSError, NotImplementedError, ValueError):
            continue  # missing or unreadable: left null (the feed omits the length)
        Draft.objects.filter(pk=pk).update(video_bytes=size)


class Migration(migrations.Migration):
    dependencies = [
        ("colorization", "0016_merge_keyframe_stills_and_web_video"),
    ]

    operations = [
        migrations.AddField(
            model_name="draft",
            name="video_bytes",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, help_text="the colour clip's size in bytes (null: not measured)"
            ),
        ),
        migrations.RunPython(measure_finished_renders, migrations.RunPython.noop),
    ]
