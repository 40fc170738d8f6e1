from django.urls import path

from community import correction_views, editor_views, photo_page, review_views, views

urlpatterns = [
    path("photos/<int:pk>/", photo_page.photo_detail, name="photo-detail"),
    path("photos/<int:pk>/edit/", editor_views.editor, name="correction-editor"),
    path("corrections/<int:pk>/", correction_views.correction_detail, name="correction-detail"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/profile/", views.profile_edit, name="profile-edit"),
    path("accounts/verification/", views.historian_request, name="historian-request"),
    path("people/<str:username>/", views.profile, name="profile"),
    path("moderation/verification/", views.verification_queue, name="verification-queue"),
    path("moderation/verification/<int:pk>/", views.verification_decide, name="verification-decide"),
    # review
    path("corrections/<int:pk>/vote/", review_views.vote, name="correction-vote"),
    path("corrections/<int:pk>/decide/", review_views.decide, name="correction-decide"),
    path("comments/new/", review_views.comment_create, name="comment-create"),
    path("report/<str:kind>/<int:pk>/", review_views.report, name="report"),
    path("review/", review_views.needs_review, name="needs-review"),
    path("review/needs-correction/", review_views.needs_correction, name="needs-correction"),
    path("me/contributions/", review_views.my_contributions, name="my-contributions"),
    path("notifications/", review_views.notification_list, name="notifications"),
    path("notifications/<int:pk>/", review_views.notification_open, name="notification-open"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("moderation/", review_views.moderation_queue, name="moderation-queue"),
    path("moderation/reports/<int:pk>/", review_views.report_resolve, name="report-resolve"),
    path("moderation/hide/", review_views.hide, name="moderation-hide"),
    path("moderation/users/<str:username>/suspend/", review_views.suspend, name="moderation-suspend"),
    path("moderation/log/", review_views.audit_log, name="audit-log"),
    path("moderation/gold/", review_views.gold_create, name="gold-create"),
]
