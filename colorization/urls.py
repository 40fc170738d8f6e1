from django.urls import path

from colorization import views

urlpatterns = [
    path("", views.home, name="home"),
    path("gallery/", views.gallery, name="gallery"),
    path("photos/<int:pk>/", views.photo_detail, name="photo-detail"),
    path("upload/", views.upload, name="upload"),
    path("me/photos/", views.my_photos, name="my-photos"),
]
