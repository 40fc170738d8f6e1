from django.urls import path

from colorization import views

urlpatterns = [
    path("", views.home, name="home"),
    path("photos/<int:pk>/drafts/", views.draft_create, name="draft-create"),
    path("drafts/<int:pk>/retry/", views.draft_retry, name="draft-retry"),
    path("upload/", views.upload, name="upload"),
    path("me/photos/", views.my_photos, name="my-photos"),
]
