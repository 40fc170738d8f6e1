from django.urls import path

from community.api import review, views

urlpatterns = [
    # Replaces colorization's photo detail with one that adds corrections and the community version.
    path("photos/<int:pk>/", views.PhotoDetailWithCommunity.as_view(), name="api-photo-detail"),
    path("photos/<int:pk>/corrections/", views.PhotoCorrections.as_view(), name="api-photo-corrections"),
    path("corrections/<int:pk>/", views.CorrectionDetail.as_view(), name="api-correction-detail"),
    path("corrections/<int:pk>/votes/", review.CorrectionVotes.as_view(), name="api-correction-votes"),
    path("corrections/<int:pk>/decision/", review.CorrectionDecision.as_view(), name="api-correction-decision"),
    path(
        "corrections/<int:pk>/revocations/", review.CorrectionRevocations.as_view(), name="api-correction-revocations"
    ),
    path("corrections/<int:pk>/revocations/votes/", review.RevocationVotes.as_view(), name="api-revocation-votes"),
    path("evidence/<int:pk>/verification/", review.SourceVerificationView.as_view(), name="api-source-verification"),
]
