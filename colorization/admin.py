from django.contrib import admin

from colorization.models import Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "genre", "year_from", "year_to", "image_format", "width", "height", "created_at")
    list_filter = ("genre", "licence", "image_format", "is_colour_source")
    search_fields = ("title", "description", "place", "source_archive", "original_sha256")
    list_select_related = ("owner",)
    # The original and its checksum never change after upload.
    readonly_fields = (
        "original",
        "original_sha256",
        "original_bytes",
        "original_filename",
        "image_format",
        "width",
        "height",
        "bit_depth",
        "is_colour_source",
        "thumbnail",
        "created_at",
        "updated_at",
    )
