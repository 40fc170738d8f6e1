from django.urls import path

from colorization import registry_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("photos/<int:pk>/drafts/", views.draft_create, name="draft-create"),
    path("drafts/<int:pk>/retry/", views.draft_retry, name="draft-retry"),
    path("upload/", views.upload, name="upload"),
    path("me/photos/", views.my_photos, name="my-photos"),
    path("models/", registry_views.model_list, name="model-list"),
    path("models/<slug:slug>/", registry_views.model_detail, name="model-detail"),
    path("models/<slug:slug>/rollback/", registry_views.model_rollback, name="model-rollback"),
    path("training-runs/", registry_views.run_list, name="training-run-list"),
    path("training-runs/<int:pk>/", registry_views.run_detail, name="training-run-detail"),
    path("photos/<int:pk>/recolorize/", registry_views.photo_recolorize, name="photo-recolorize"),
]
