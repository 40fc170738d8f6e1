from django.urls import path

from community.api import views

urlpatterns = [
    # Replaces colorization's photo detail with one that adds corrections and the community version.
    path("photos/<int:pk>/", views.PhotoDetailWithCommunity.as_view(), name="api-photo-detail"),
    path("photos/<int:pk>/corrections/", views.PhotoCorrections.as_view(), name="api-photo-corrections"),
    path("corrections/<int:pk>/", views.CorrectionDetail.as_view(), name="api-correction-detail"),
]
