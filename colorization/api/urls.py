from django.urls import path

from colorization.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("photos/", views.PhotoListCreate.as_view(), name="api-photo-list"),
    path("photos/<int:pk>/", views.PhotoDetail.as_view(), name="api-photo-detail"),
]
