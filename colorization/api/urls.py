from django.urls import path

from colorization.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("photos/", views.PhotoListCreate.as_view(), name="api-photo-list"),
    path("photos/<int:pk>/", views.PhotoDetail.as_view(), name="api-photo-detail"),
    path("photos/<int:pk>/drafts/", views.PhotoDrafts.as_view(), name="api-photo-drafts"),
    path("photos/<int:pk>/preview/", views.PhotoPreview.as_view(), name="api-photo-preview"),
    path("photos/<int:pk>/suggest/", views.PhotoSuggest.as_view(), name="api-photo-suggest"),
    path("drafts/<int:pk>/", views.DraftDetail.as_view(), name="api-draft-detail"),
    path("drafts/<int:pk>/retry/", views.DraftRetry.as_view(), name="api-draft-retry"),
]
