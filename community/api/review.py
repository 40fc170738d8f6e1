"""Votes and decisions through the API: ``corrections/{id}/votes/`` and ``corrections/{id}/decision/``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from colorization.api.errors import error_response
from colorization.api.permissions import MayWrite, public_reads_checked_writes
from colorization.api.serializers import RequestSerializer
from colorization.ratelimit import RateLimited
from community.api.serializers import CorrectionSerializer, EvidenceField, EvidenceSerializer
from community.api.views import corrections_visible_to
from community.models import Vote
from community.review import decisions


class VoteSerializer(serializers.ModelSerializer):
    voter = serializers.CharField(source="voter.username", read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = Vote
        fields = [
            "id",
            "correction",
            "voter",
            "value",
            "comment",
            "weight",
            "is_historian",
            "evidence",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VoteInputSerializer(RequestSerializer):
    value = serializers.ChoiceField(choices=[1, -1], help_text="1: historically plausible; -1: not")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    evidence = EvidenceField(required=False)


class DecisionInputSerializer(RequestSerializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    reason = serializers.CharField(max_length=4000)


def _review_error(exc: Exception) -> Response:
    if isinstance(exc, RateLimited):
        response = error_response(exc.message, "throttled", status.HTTP_429_TOO_MANY_REQUESTS)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return error_response(exc.message, exc.code, status.HTTP_409_CONFLICT)


class CorrectionVotes(generics.ListAPIView):
    """Votes on a correction (everyone may read them); a signed-in person casts or changes theirs.

    POST ``{"value": 1 | -1, "comment": "…", "evidence": [...]}``: 201 for a new vote, 200 for a
    changed one; 409 once the correction is decided, on gold-standard photos or before it is
    rendered; 403 on your own correction or when suspended; 429 above ``CHROMA_VOTE_RATE``.
    """

    serializer_class = VoteSerializer
    pagination_class = None
    writes = "vote"

    def get_permissions(self):
        return public_reads_checked_writes(self.request)

    def correction(self):
        return generics.get_object_or_404(corrections_visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request kwargs
            return Vote.objects.none()
        return Vote.objects.filter(correction=self.correction()).select_related("voter").prefetch_related("evidence")

    @extend_schema(
        request=VoteInputSerializer,
        responses={
            200: OpenApiResponse(description="Your vote changed"),
            201: OpenApiResponse(description="Your vote counted"),
            403: OpenApiResponse(description="Your own correction, or your account is suspended"),
            409: OpenApiResponse(description="Decided, gold standard, hidden or not rendered yet"),
            429: OpenApiResponse(description="Too many votes"),
        },
    )
    def post(self, request, *args, **kwargs):
        correction = self.correction()
        params = VoteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            result = decisions.vote_cast(
                correction_id=correction.pk,
                voter=request.user,
                value=data["value"],
                comment=data.get("comment", ""),
                evidence=data.get("evidence"),
            )
        except (decisions.ReviewConflict, RateLimited) as exc:
            return _review_error(exc)
        fresh = corrections_visible_to(request.user).get(pk=correction.pk)
        body = {
            "vote": VoteSerializer(result.vote, context={"request": request}).data,
            "correction": CorrectionSerializer(fresh, context={"request": request}).data,
            "decided": result.decided,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class CorrectionDecision(APIView):
    """A moderator accepts or rejects a pending correction by hand: ``{"decision": "accept|reject", "reason"}``."""

    permission_classes = [MayWrite]
    writes = "decide corrections"

    @extend_schema(
        request=DecisionInputSerializer,
        responses={
            200: CorrectionSerializer,
            403: OpenApiResponse(description="Not a moderator, or your own correction"),
            409: OpenApiResponse(description="Already decided, gold standard, or not rendered yet"),
        },
    )
    def post(self, request, pk: int):
        correction = generics.get_object_or_404(corrections_visible_to(request.user), pk=pk)
        params = DecisionInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            decisions.correction_decide(
                correction_id=correction.pk,
                moderator=request.user,
                decision=params.validated_data["decision"],
                reason=params.validated_data["reason"],
            )
        except decisions.ReviewConflict as exc:
            return _review_error(exc)
        fresh = corrections_visible_to(request.user).get(pk=correction.pk)
        return Response(CorrectionSerializer(fresh, context={"request": request}).data)
