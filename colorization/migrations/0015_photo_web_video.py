"""Photo.web_video: what a film clip's player shows as the original (issue 19).

Clips uploaded before this field existed get their original where browsers play it as it is
(the rule of ``engine.video.browser_playable``, by the container, codecs recorded at upload; the
pixel format was not recorded, so 8-bit 4:2:0 is assumed); the others get a copy at their next
render.
"""

from django.db import migrations, models

PLAYABLE = {
    "MP4": ({"h264", "vp9", "av1", "libdav1d"}, {"", "aac", "mp3", "opus", "flac"}),
    "WEBM": ({"vp8", "vp9", "av1", "libdav1d"}, {"", "opus", "vorbis"}),
}


def originals_that_play(apps, schema_editor):
    Photo = apps.get_model("colorization", "Photo")
    for photo in Photo.objects.filter(media_kind="video", web_video="").only(
        "image_format", "video_codec", "audio_codec", "original"
    ):
        video, audio = PLAYABLE.get(photo.image_format, (set(), set()))
        if photo.video_codec in video and photo.audio_codec in audio:
            Photo.objects.filter(pk=photo.pk).update(web_video=photo.original.name)


class Migration(migrations.Migration):
    dependencies = [
        ("colorization", "0014_merge_source_hidden"),
    ]

    operations = [
        migrations.AddField(
            model_name="photo",
            name="web_video",
            field=models.FileField(blank=True, max_length=300, upload_to=""),
        ),
        migrations.RunPython(originals_that_play, migrations.RunPython.noop),
    ]
