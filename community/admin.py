from django.contrib import admin

from community.models import HistorianRequest, Profile


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
