from django.contrib import admin

from community.models import (
    Collection,
    CollectionItem,
    Comment,
    Correction,
    Evidence,
    GalleryEntry,
    GoldStandard,
    HistorianRequest,
    ModerationAction,
    Notification,
    Profile,
    Report,
    ReputationEvent,
    Revocation,
    RevocationVote,
    SourceVerification,
    Vote,
)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "reputation", "affiliation", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "display_name", "affiliation")
    list_select_related = ("user",)


@admin.register(HistorianRequest)
class HistorianRequestAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("user__username", "statement")
    readonly_fields = ("created_at",)


class EvidenceInline(admin.TabularInline):
    model = Evidence
    fk_name = "correction"
    extra = 0


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ("pk", "photo", "author", "kind", "status", "votes_up", "votes_down", "is_gold", "created_at")
    list_filter = ("status", "kind", "is_gold")
    search_fields = ("photo__title", "author__username", "note")
    list_select_related = ("photo", "author")
    raw_id_fields = ("photo", "author", "base_draft", "base_correction", "render", "decided_by")
    readonly_fields = ("created_at", "updated_at", "upload_sha256", "luminance_difference")
    inlines = [EvidenceInline]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("correction", "voter", "value", "weight", "is_historian", "updated_at")
    list_filter = ("value", "is_historian")
    raw_id_fields = ("correction", "voter")


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ("text", "url", "correction", "vote")
    raw_id_fields = ("correction", "vote")


@admin.register(SourceVerification)
class SourceVerificationAdmin(admin.ModelAdmin):
    list_display = ("evidence", "historian", "verdict", "updated_at")
    list_filter = ("verdict",)
    raw_id_fields = ("evidence", "historian")


@admin.register(Revocation)
class RevocationAdmin(admin.ModelAdmin):
    list_display = ("correction", "status", "proposed_by", "decided_by", "created_at", "decided_at")
    list_filter = ("status",)
    raw_id_fields = ("correction", "proposed_by", "decided_by", "restored")


@admin.register(RevocationVote)
class RevocationVoteAdmin(admin.ModelAdmin):
    list_display = ("revocation", "voter", "value", "weight", "is_historian")
    raw_id_fields = ("revocation", "voter")


@admin.register(ReputationEvent)
class ReputationEventAdmin(admin.ModelAdmin):
    list_display = ("user", "points", "reason", "correction", "created_at")
    list_filter = ("reason",)
    raw_id_fields = ("user", "correction")


@admin.register(GoldStandard)
class GoldStandardAdmin(admin.ModelAdmin):
    list_display = ("photo", "marked_by", "created_at")
    raw_id_fields = ("photo", "marked_by")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("author", "photo", "correction", "created_at", "hidden_at")
    raw_id_fields = ("author", "photo", "correction")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "verb", "text", "created_at", "read_at")
    raw_id_fields = ("recipient", "correction")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("pk", "reporter", "status", "photo", "correction", "comment", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("reporter", "photo", "correction", "comment", "resolved_by")


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log is append-only: readable here, never edited."""

    list_display = ("created_at", "moderator", "action", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ("photo",)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "is_public", "created_at")
    raw_id_fields = ("owner",)
    inlines = [CollectionItemInline]


admin.site.register(CollectionItem)


@admin.register(GalleryEntry)
class GalleryEntryAdmin(admin.ModelAdmin):
    """Derived data (community.gallery.entries keeps it); readable here, and "refresh" recomputes it."""

    list_display = ("photo", "version", "is_public", "genre", "endorsements", "comments", "refreshed_at")
    list_filter = ("version", "is_public", "genre")
    raw_id_fields = ("photo", "correction")
    readonly_fields = [f.name for f in GalleryEntry._meta.fields]
    actions = ["refresh"]

    @admin.action(description="Recompute from the photo, its drafts, corrections and comments")
    def refresh(self, request, queryset):
        from community.gallery.entries import gallery_entry_refresh
        from community.gallery.page_cache import pages_invalidate

        for photo_id in queryset.values_list("photo_id", flat=True):
            gallery_entry_refresh(photo_id=photo_id)
        pages_invalidate()

    def has_add_permission(self, request) -> bool:
        return False
