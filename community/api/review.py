"""Votes, decisions and revocations through the API: ``corrections/{id}/votes/``,
``corrections/{id}/decision/`` and ``corrections/{id}/revocations/`` (+ ``votes/``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from colorization.api.errors import error_response
from colorization.api.permissions import MayWrite, public_reads_checked_writes
from colorization.api.serializers import RequestSerializer
from colorization.ratelimit import RateLimited
from community.api.serializers import (
    CorrectionSerializer,
    EvidenceField,
    EvidenceSerializer,
    VerificationInputSerializer,
)
from community.api.views import corrections_visible_to
from community.models import Evidence, Revocation, RevocationVote, Vote
from community.review import decisions, provenance, revocations


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
    decision = serializers.ChoiceField(
        choices=["accept", "reject", "revoke"], help_text="revoke: take back the accepted community version"
    )
    reason = serializers.CharField(max_length=4000)
    evidence = EvidenceField(required=False, help_text="revoke: the new evidence")


class RevocationVoteSerializer(serializers.ModelSerializer):
    voter = serializers.CharField(source="voter.username", read_only=True)

    class Meta:
        model = RevocationVote
        fields = ["id", "voter", "value", "comment", "weight", "is_historian", "created_at", "updated_at"]
        read_only_fields = fields


class RevocationSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True, allow_null=True)
    decided_by = serializers.SerializerMethodField()
    votes = serializers.SerializerMethodField()

    class Meta:
        model = Revocation
        fields = [
            "id",
            "correction",
            "status",
            "proposed_by",
            "reason",
            "evidence",
            "votes",
            "created_at",
            "decided_at",
            "decided_by",
            "decision_reason",
            "restored",
        ]
        read_only_fields = fields

    def get_decided_by(self, obj) -> str | None:
        """A moderator's name; "vote rule" when the votes decided; null while open."""
        if obj.decided_at is None:
            return None
        return obj.decided_by.username if obj.decided_by_id else "vote rule"

    def get_votes(self, obj) -> dict:
        return {
            "up": obj.votes_up,
            "down": obj.votes_down,
            "weight_up": obj.weight_up,
            "weight_down": obj.weight_down,
            "historians": obj.historian_votes,
        }


class RevocationInputSerializer(RequestSerializer):
    reason = serializers.CharField(max_length=4000)
    evidence = EvidenceField(help_text="the new evidence, at least one citation")


class RevocationVoteInputSerializer(RequestSerializer):
    value = serializers.ChoiceField(choices=[1, -1], help_text="1: revoke the correction; -1: keep it")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


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
    """A moderator accepts or rejects a pending correction by hand: ``{"decision": "accept|reject", "reason"}``,
    or revokes an accepted one: ``{"decision": "revoke", "reason", "evidence": [...]}``."""

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
        data = params.validated_data
        try:
            if data["decision"] == "revoke":
                revocations.correction_revoke(
                    correction_id=correction.pk,
                    moderator=request.user,
                    reason=data["reason"],
                    evidence=data.get("evidence"),
                )
            else:
                decisions.correction_decide(
                    correction_id=correction.pk,
                    moderator=request.user,
                    decision=data["decision"],
                    reason=data["reason"],
                )
        except decisions.ReviewConflict as exc:
            return _review_error(exc)
        fresh = corrections_visible_to(request.user).get(pk=correction.pk)
        return Response(CorrectionSerializer(fresh, context={"request": request}).data)


class CorrectionRevocations(generics.ListAPIView):
    """Requests to revoke a correction and their outcome (everyone may read them).

    POST ``{"reason": "…", "evidence": [...]}`` opens a request that the community votes on with
    the acceptance rule (201); 409 when the correction is not the accepted community version or a
    request is already open. Moderators revoke at once through ``corrections/{id}/decision/``.
    """

    serializer_class = RevocationSerializer
    pagination_class = None
    writes = "ask to revoke corrections"

    def get_permissions(self):
        return public_reads_checked_writes(self.request)

    def correction(self):
        return generics.get_object_or_404(corrections_visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Revocation.objects.none()
        return Revocation.objects.filter(correction=self.correction()).select_related("proposed_by", "decided_by")

    @extend_schema(
        request=RevocationInputSerializer,
        responses={
            201: RevocationSerializer,
            403: OpenApiResponse(description="Your account is suspended"),
            409: OpenApiResponse(description="Not the accepted community version, or a request is already open"),
            429: OpenApiResponse(description="Too many requests"),
        },
    )
    def post(self, request, *args, **kwargs):
        correction = self.correction()
        params = RevocationInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            revocation = revocations.revocation_propose(
                correction_id=correction.pk,
                proposer=request.user,
                reason=params.validated_data["reason"],
                evidence=params.validated_data["evidence"],
            )
        except (decisions.ReviewConflict, RateLimited) as exc:
            return _review_error(exc)
        return Response(RevocationSerializer(revocation).data, status=status.HTTP_201_CREATED)


class RevocationVotes(APIView):
    """Vote on the correction's open revocation request: ``{"value": 1 (revoke) | -1 (keep), "comment"}``."""

    permission_classes = [MayWrite]
    writes = "vote"

    @extend_schema(
        request=RevocationVoteInputSerializer,
        responses={
            200: OpenApiResponse(description="Your vote changed"),
            201: OpenApiResponse(description="Your vote counted"),
            403: OpenApiResponse(description="Your own correction or request, or your account is suspended"),
            409: OpenApiResponse(description="No open request"),
            429: OpenApiResponse(description="Too many votes"),
        },
    )
    def post(self, request, pk: int):
        correction = generics.get_object_or_404(corrections_visible_to(request.user), pk=pk)
        params = RevocationVoteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            result = revocations.revocation_vote_cast(
                correction_id=correction.pk,
                voter=request.user,
                value=params.validated_data["value"],
                comment=params.validated_data.get("comment", ""),
            )
        except (decisions.ReviewConflict, RateLimited) as exc:
            return _review_error(exc)
        body = {
            "vote": RevocationVoteSerializer(result.vote).data,
            "revocation": RevocationSerializer(result.revocation).data,
            "decided": result.decided,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class SourceVerificationView(APIView):
    """A historian marks a correction's cited source verified or disputed: ``{"verdict", "note"}``.

    A disputed source moves its hints' regions from documented to disputed in the correction's
    provenance; the acceptance rule does not change. Posting again changes your verdict.
    """

    permission_classes = [MayWrite]
    writes = "verify sources"

    @extend_schema(
        request=VerificationInputSerializer,
        responses={
            200: EvidenceSerializer,
            403: OpenApiResponse(description="Not a historian, your own correction, or suspended"),
        },
    )
    def post(self, request, pk: int):
        evidence = generics.get_object_or_404(
            Evidence.objects.filter(correction__in=corrections_visible_to(request.user)), pk=pk
        )
        params = VerificationInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            provenance.source_verify(
                evidence_id=evidence.pk,
                historian=request.user,
                verdict=params.validated_data["verdict"],
                note=params.validated_data["note"],
            )
        except RateLimited as exc:
            return _review_error(exc)
        fresh = Evidence.objects.prefetch_related("verifications__historian").get(pk=evidence.pk)
        return Response(EvidenceSerializer(fresh).data)
