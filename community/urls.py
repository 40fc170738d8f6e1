from django.urls import path

from community import collections, correction_views, editor_views, exports, feeds, gallery, iiif, photo_page, views

urlpatterns = [
    path("photos/<int:pk>/", photo_page.photo_detail, name="photo-detail"),
    path("photos/<int:pk>/download/original", photo_page.download_original, name="photo-download-original"),
    path("photos/<int:pk>/download/colour.<str:fmt>", photo_page.download_colour, name="photo-download-colour"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("collections/", collections.collection_list, name="collection-list"),
    path("collections/new/", collections.collection_new, name="collection-new"),
    path("collections/<int:pk>/", collections.collection_detail, name="collection-detail"),
    path("collections/<int:pk>/edit/", collections.collection_edit, name="collection-edit"),
    path("collections/add/", collections.collection_add_photo, name="collection-add-photo"),
    path("collections/<int:pk>/items/", collections.collection_item_add, name="collection-item-add"),
    path(
        "collections/<int:pk>/items/<int:photo_id>/remove/",
        collections.collection_item_remove,
        name="collection-item-remove",
    ),
    path(
        "collections/<int:pk>/items/<int:photo_id>/move/", collections.collection_item_move, name="collection-item-move"
    ),
    path("collections/<int:pk>/export.csv", exports.collection_export_csv, name="collection-export-csv"),
    path("collections/<int:pk>/export.json", exports.collection_export_json, name="collection-export-json"),
    path("iiif/photos/<int:pk>/manifest.json", iiif.photo_manifest_view, name="iiif-photo-manifest"),
    path("iiif/collections/<int:pk>/manifest.json", iiif.collection_manifest_view, name="iiif-collection-manifest"),
    path("feeds/accepted.atom", feeds.accepted_feed, name="feed-accepted"),
    path("photos/<int:pk>/edit/", editor_views.editor, name="correction-editor"),
    path("corrections/<int:pk>/", correction_views.correction_detail, name="correction-detail"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/profile/", views.profile_edit, name="profile-edit"),
    path("accounts/verification/", views.historian_request, name="historian-request"),
    path("people/<str:username>/", views.profile, name="profile"),
    path("moderation/verification/", views.verification_queue, name="verification-queue"),
    path("moderation/verification/<int:pk>/", views.verification_decide, name="verification-decide"),
]
