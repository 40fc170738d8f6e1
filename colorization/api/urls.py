from django.urls import path

from colorization.api import registry as registry_api
from colorization.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("photos/", views.PhotoListCreate.as_view(), name="api-photo-list"),
    path("photos/<int:pk>/drafts/", views.PhotoDrafts.as_view(), name="api-photo-drafts"),
    path("photos/<int:pk>/preview/", views.PhotoPreview.as_view(), name="api-photo-preview"),
    path("photos/<int:pk>/suggest/", views.PhotoSuggest.as_view(), name="api-photo-suggest"),
    path("drafts/<int:pk>/", views.DraftDetail.as_view(), name="api-draft-detail"),
    path("drafts/<int:pk>/retry/", views.DraftRetry.as_view(), name="api-draft-retry"),
    path("models/", registry_api.ModelList.as_view(), name="api-model-list"),
    path("models/<slug:slug>/", registry_api.ModelDetail.as_view(), name="api-model-detail"),
    path("training-runs/", registry_api.TrainingRunList.as_view(), name="api-training-run-list"),
    path("training-runs/<int:pk>/", registry_api.TrainingRunDetail.as_view(), name="api-training-run-detail"),
]
