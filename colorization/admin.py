from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from colorization import model_registry
from colorization.models import (
    ColorModel,
    Draft,
    DraftStatus,
    FinetuneSchedule,
    Job,
    ModelStatus,
    Photo,
    Shot,
    TrainingExample,
    TrainingRun,
)


def _job_fields_last(model) -> list[str]:
    """All fields, read-only, with the worker's bookkeeping (the fields from Job) at the end."""
    job = {f.name for f in Job._meta.fields}
    names = [f.name for f in model._meta.fields]
    return [n for n in names if n not in job] + [n for n in names if n in job]


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


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    """A clip's shots as the render job's detector found them (read-only: the next render finds them again)."""

    list_display = ["photo", "number", "start_frame", "end_frame"]
    list_select_related = ["photo"]
    raw_id_fields = ["photo"]
    readonly_fields = ["photo", "number", "start_frame", "end_frame", "keyframes"]


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ("id", "photo", "status", "progress", "model_slug", "model_version", "render_size", "created_at")
    list_filter = ("status", "model_slug", "queue")
    search_fields = ("photo__title", "error")
    list_select_related = ("photo",)
    readonly_fields = _job_fields_last(Draft)
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed drafts (as new drafts)")
    def retry_failed(self, request, queryset):
        from colorization.drafting import draft_retry

        retried, refused = 0, []
        for draft in queryset.filter(status=DraftStatus.FAILED).select_related("photo"):
            try:
                draft_retry(draft=draft, requested_by=request.user)
            except ValidationError as exc:
                refused.append(f"draft {draft.pk}: {' '.join(exc.messages)}")
            else:
                retried += 1
        self.message_user(request, f"{retried} draft(s) queued again.")
        for line in refused:
            self.message_user(request, line, level=messages.WARNING)


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ("id", "photo", "source", "contributor", "genre", "era_bucket", "split", "withdrawn_at")
    list_filter = ("split", "genre", "era_bucket")
    search_fields = ("source", "photo__title")
    raw_id_fields = ("photo", "contributor")
    readonly_fields = ("created_at",)


# --- Community models ---


@admin.register(ColorModel)
class ColorModelAdmin(admin.ModelAdmin):
    list_display = ("slug", "genre", "era", "version", "status", "parent", "created_at", "promoted_at")
    list_filter = ("status", "genre", "era")
    search_fields = ("slug", "note", "sha256")
    readonly_fields = [
        f.name for f in ColorModel._meta.fields if f.name not in ("note",)
    ]  # status changes go through promotion and rollback, which keep one active model per bucket
    actions = ["roll_back", "promote"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Roll back: retire the selected active models and restore the ones they replaced")
    def roll_back(self, request, queryset):
        for model in queryset.filter(status=ModelStatus.ACTIVE).exclude(slug=model_registry.BASE_SLUG):
            try:
                retired, restored = model_registry.model_rollback(model.genre, model.era)
            except (ValueError, LookupError, ConnectionError) as exc:
                self.message_user(request, f"{model.slug}: {exc}", level="error")
                continue
            self.message_user(
                request,
                f"{retired.slug} retired; "
                + (f"{restored.slug} is active again." if restored else "the bucket uses its parent buckets."),
            )

    @admin.action(description="Promote the selected retired or rejected model (overrides the evaluation gate)")
    def promote(self, request, queryset):
        for model in queryset.exclude(status=ModelStatus.ACTIVE).exclude(slug=model_registry.BASE_SLUG):
            try:
                model_registry.check_available(model)
                model_registry.model_promote(model, note=f"promoted by hand by {request.user}")
            except (LookupError, ConnectionError) as exc:
                self.message_user(request, f"{model.slug}: {exc}", level="error")
                continue
            self.message_user(request, f"{model.slug} is now active for {model.bucket_label}.")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "genre", "era", "status", "parent", "candidate", "steps", "queued_at", "finished_at")
    list_filter = ("status", "genre", "era", "trigger")
    readonly_fields = _job_fields_last(TrainingRun)
    exclude = ("examples",)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(FinetuneSchedule)
class FinetuneScheduleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "enabled", "crontab", "min_examples", "min_new_examples", "margin_db", "minutes")
    readonly_fields = ("last_checked_at", "last_fired_at")

    def has_add_permission(self, request) -> bool:
        return not FinetuneSchedule.objects.exists()
