from django.contrib import admin

from colorization.models import Draft, DraftStatus, Photo, TrainingExample


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


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ("id", "photo", "status", "progress", "model_slug", "model_version", "render_size", "created_at")
    list_filter = ("status", "model_slug", "queue")
    search_fields = ("photo__title", "error")
    list_select_related = ("photo",)
    readonly_fields = [f.name for f in Draft._meta.fields]
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed drafts (as new drafts)")
    def retry_failed(self, request, queryset):
        from colorization.drafting import draft_retry

        retried = 0
        for draft in queryset.filter(status=DraftStatus.FAILED).select_related("photo"):
            draft_retry(draft=draft, requested_by=request.user)
            retried += 1
        self.message_user(request, f"{retried} draft(s) queued again.")


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ("id", "photo", "source", "contributor", "genre", "era_bucket", "split", "withdrawn_at")
    list_filter = ("split", "genre", "era_bucket")
    search_fields = ("source", "photo__title")
    raw_id_fields = ("photo", "contributor")
    readonly_fields = ("created_at",)
