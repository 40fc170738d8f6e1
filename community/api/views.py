from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from colorization.api.views import PhotoDetail, PhotoSubresource
from colorization.models import Draft
from community.api.serializers import CorrectionCreateSerializer, CorrectionSerializer, PhotoWithCommunitySerializer
from community.models import Correction
from community.review import corrections


def corrections_visible_to(user):
    return (
        Correction.objects.visible_to(user)
        .select_related("author", "render", "photo")
        .prefetch_related("evidence", "evidence__verifications__historian")
    )


class PhotoDetailWithCommunity(PhotoDetail):
    """A photo with its drafts, its corrections and its community version (null until one is accepted)."""

    serializer_class = PhotoWithCommunitySerializer

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch(
                    "corrections", queryset=corrections_visible_to(self.request.user), to_attr="visible_corrections"
                )
            )
        )


class PhotoCorrections(PhotoSubresource, generics.ListCreateAPIView):
    """A photo's corrections; a signed-in volunteer submits one.

    JSON ``{"base_draft": id, "hints": {...}, "note": "...", "evidence": [{"text", "url"}]}``
    (or ``base_correction``) for hints re-rendered by the model; multipart with the file in
    ``image`` for a manual colorization, whose lightness must match the original's.
    """

    serializer_class = CorrectionSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    writes = "submit corrections"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request kwargs
            return Correction.objects.none()
        return corrections_visible_to(self.request.user).filter(photo=self.photo())

    @extend_schema(
        request={"application/json": CorrectionCreateSerializer, "multipart/form-data": CorrectionCreateSerializer},
        responses={
            201: CorrectionSerializer,
            400: OpenApiResponse(description="Bad hints, evidence or base; a manual colorization that does not match"),
            413: OpenApiResponse(description="The manual colorization is too large"),
            415: OpenApiResponse(description="The manual colorization is not an image we read"),
        },
    )
    def post(self, request, *args, **kwargs):
        photo = self.photo()
        params = CorrectionCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        base_draft = base_correction = None
        if data.get("base_draft"):
            base_draft = Draft.objects.filter(pk=data["base_draft"], photo=photo).first()
            if base_draft is None:
                raise ValidationError({"base_draft": ["No such draft of this photo."]})
        if data.get("base_correction"):
            base_correction = (
                corrections_visible_to(request.user).filter(pk=data["base_correction"], photo=photo).first()
            )
            if base_correction is None:
                raise ValidationError({"base_correction": ["No such correction of this photo."]})
        common = {
            "author": request.user,
            "photo": photo,
            "base_draft": base_draft,
            "base_correction": base_correction,
            "note": data.get("note", ""),
            "evidence": data.get("evidence"),
        }
        if data.get("image") is not None:
            if data.get("hints"):
                raise ValidationError({"hints": ["Send hints or a manual colorization (image), not both."]})
            correction = corrections.correction_create_manual(file=data["image"], **common)
        else:
            if data.get("hints") is None:
                raise ValidationError({"hints": ["Send hints (JSON) or a manual colorization (multipart image)."]})
            correction = corrections.correction_create(hints=data["hints"], frame=data.get("frame"), **common)
        correction = corrections_visible_to(request.user).get(pk=correction.pk)
        body = CorrectionSerializer(correction, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class CorrectionDetail(generics.RetrieveAPIView):
    """One correction: its hints, note, evidence, votes tally, render progress and image."""

    serializer_class = CorrectionSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return corrections_visible_to(self.request.user)
