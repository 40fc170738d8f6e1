from django.urls import path

from community import correction_views, editor_views, photo_page, views

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
]
