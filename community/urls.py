from django.urls import path

from community.accounts import views as accounts
from community.gallery import views as gallery
from community.review import views as review

urlpatterns = [
    path("photos/<int:pk>/", gallery.photo_detail, name="photo-detail"),
    path("photos/<int:pk>/download/original", gallery.download_original, name="photo-download-original"),
    path("photos/<int:pk>/download/colour.<str:fmt>", gallery.download_colour, name="photo-download-colour"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("collections/", gallery.collection_list, name="collection-list"),
    path("collections/new/", gallery.collection_new, name="collection-new"),
    path("collections/<int:pk>/", gallery.collection_detail, name="collection-detail"),
    path("collections/<int:pk>/edit/", gallery.collection_edit, name="collection-edit"),
    path("collections/add/", gallery.collection_add_photo, name="collection-add-photo"),
    path("collections/<int:pk>/items/", gallery.collection_item_add, name="collection-item-add"),
    path(
        "collections/<int:pk>/items/<int:photo_id>/remove/",
        gallery.collection_item_remove,
        name="collection-item-remove",
    ),
    path("collections/<int:pk>/items/<int:photo_id>/move/", gallery.collection_item_move, name="collection-item-move"),
    path("collections/<int:pk>/export.csv", gallery.collection_export_csv, name="collection-export-csv"),
    path("collections/<int:pk>/export.json", gallery.collection_export_json, name="collection-export-json"),
    path("iiif/photos/<int:pk>/manifest.json", gallery.photo_manifest_view, name="iiif-photo-manifest"),
    path("iiif/collections/<int:pk>/manifest.json", gallery.collection_manifest_view, name="iiif-collection-manifest"),
    path("feeds/accepted.atom", gallery.accepted_feed, name="feed-accepted"),
    path("photos/<int:pk>/edit/", review.editor, name="correction-editor"),
    path("corrections/<int:pk>/", review.correction_detail, name="correction-detail"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/profile/", accounts.profile_edit, name="profile-edit"),
    path("accounts/verification/", accounts.historian_request, name="historian-request"),
    path("people/<str:username>/", accounts.profile, name="profile"),
    path("moderation/verification/", accounts.verification_queue, name="verification-queue"),
    path("moderation/verification/<int:pk>/", accounts.verification_decide, name="verification-decide"),
    # review
    path("corrections/<int:pk>/vote/", review.vote, name="correction-vote"),
    path("corrections/<int:pk>/decide/", review.decide, name="correction-decide"),
    path("comments/new/", review.comment_create, name="comment-create"),
    path("report/<str:kind>/<int:pk>/", review.report, name="report"),
    path("review/", review.needs_review, name="needs-review"),
    path("review/needs-correction/", review.needs_correction, name="needs-correction"),
    path("me/contributions/", review.my_contributions, name="my-contributions"),
    path("notifications/", review.notification_list, name="notifications"),
    path("notifications/<int:pk>/", review.notification_open, name="notification-open"),
    path("leaderboard/", accounts.leaderboard, name="leaderboard"),
    path("moderation/", review.moderation_queue, name="moderation-queue"),
    path("moderation/reports/<int:pk>/", review.report_resolve, name="report-resolve"),
    path("moderation/hide/", review.hide, name="moderation-hide"),
    path("moderation/users/<str:username>/suspend/", review.suspend, name="moderation-suspend"),
    path("moderation/log/", review.audit_log, name="audit-log"),
    path("moderation/gold/", review.gold_create, name="gold-create"),
]
