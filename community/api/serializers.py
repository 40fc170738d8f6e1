from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from colorization.api.serializers import (
    DraftSerializer,
    HintsField,
    PhotoDetailSerializer,
    RequestSerializer,
    _absolute,
)
from colorization.text import SCHEMA_PATTERN, SCHEMA_PATTERN_NOT_BLANK
from community.models import Correction, Evidence, SourceVerification
from community.review.corrections import MAX_EVIDENCE, MAX_HINT_REFS
from community.review.permissions import is_moderator


class SourceVerificationSerializer(serializers.ModelSerializer):
    historian = serializers.CharField(source="historian.username", read_only=True)

    class Meta:
        model = SourceVerification
        fields = ["historian", "verdict", "note", "updated_at"]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(help_text="unverified | verified | disputed (by historians)")
    verifications = SourceVerificationSerializer(many=True, read_only=True)

    class Meta:
        model = Evidence
        fields = ["id", "kind", "text", "url", "archive_reference", "hints", "status", "verifications"]

    def get_status(self, evidence) -> str:
        from community.review.provenance import source_status

        return source_status(evidence)


class VoteTallySerializer(serializers.Serializer):
    up = serializers.IntegerField(source="votes_up")
    down = serializers.IntegerField(source="votes_down")
    weight_up = serializers.FloatField()
    weight_down = serializers.FloatField()
    historians = serializers.IntegerField(source="historian_votes")


class CorrectionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    votes = VoteTallySerializer(source="*", read_only=True)
    render = DraftSerializer(read_only=True)
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    label = serializers.CharField(read_only=True)
    gold = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField(
        help_text="hints corrections: the documented / volunteer-inferred / disputed / model share of the colours"
    )

    class Meta:
        model = Correction
        fields = [
            "id",
            "photo",
            "status",
            "kind",
            "author",
            "base_draft",
            "base_correction",
            "frame",
            "hints",
            "note",
            "evidence",
            "votes",
            "render",
            "image_url",
            "thumbnail_url",
            "label",
            "luminance_difference",
            "gold",
            "page_url",
            "created_at",
            "decided_at",
            "decision_reason",
            "provenance",
        ]
        read_only_fields = fields

    def get_provenance(self, correction: Correction) -> dict | None:
        from community.review.provenance import provenance_safely

        found = provenance_safely(correction) if correction.kind == "hints" and correction.result_file else None
        if found is None:
            return None
        return {
            "shares": found.shares,
            "text": found.text,
            "overlay_url": self._url_of(found.overlay),
            "hints": found.groups,
        }

    def _url_of(self, key: str) -> str:
        from django.core.files.storage import default_storage

        return _absolute(self.context, default_storage.url(key))

    def _url(self, file) -> str | None:
        return _absolute(self.context, file.url) if file else None

    def get_image_url(self, correction: Correction) -> str | None:
        return self._url(correction.result_file)

    def get_thumbnail_url(self, correction: Correction) -> str | None:
        if correction.thumbnail:
            return self._url(correction.thumbnail)
        return self._url(correction.render.thumbnail) if correction.render_id else None

    def get_page_url(self, correction: Correction) -> str:
        return _absolute(self.context, correction.get_absolute_url())

    def get_gold(self, correction: Correction) -> dict | None:
        """Gold-standard scores: only for the author and moderators (others would learn the truth)."""
        if not correction.is_gold:
            return None
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return {"scored": correction.gold_ciede2000 is not None}
        if user.pk != correction.author_id and not user.is_staff and not is_moderator(user):
            return {"scored": correction.gold_ciede2000 is not None}
        return {
            "scored": correction.gold_ciede2000 is not None,
            "ciede2000": correction.gold_ciede2000,
            "psnr": correction.gold_psnr,
            "grey_baseline_ciede2000": correction.gold_baseline_ciede2000,
        }


class EvidenceInputSerializer(RequestSerializer):
    text = serializers.CharField(max_length=1000, required=False, help_text="what the source shows")
    url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    archive_reference = serializers.CharField(required=False, allow_blank=True, max_length=500)
    hints = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text='the hints it supports: "points/0", "strokes/1", "global"',
    )
    kind = serializers.ChoiceField(choices=["source", "inferred"], required=False, default="source")


class VerificationInputSerializer(RequestSerializer):
    verdict = serializers.ChoiceField(choices=["verified", "disputed"])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# What community.review.corrections.evidence_clean accepts (it checks, this describes).
EVIDENCE_SCHEMA = {
    "type": "array",
    "maxItems": MAX_EVIDENCE,
    "description": "citations: what the source shows, where it is (an http(s) address) and its archive reference",
    "items": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": SCHEMA_PATTERN_NOT_BLANK},
            "url": {
                "type": "string",
                "maxLength": 1000,
                "pattern": SCHEMA_PATTERN.replace("^", "^(https?://[a-zA-Z0-9.-]+(/", 1).replace("$", ")?)?$"),
            },
            "archive_reference": {"type": "string", "maxLength": 500, "pattern": SCHEMA_PATTERN},
            "hints": {
                "type": "array",
                "maxItems": MAX_HINT_REFS,
                "items": {"type": "string", "pattern": r"^(global|points/[0-9]+|strokes/[0-9]+)$"},
                "description": 'the hints this source supports, named in the correction\'s hint set: "points/0", '
                '"strokes/1", "global"',
            },
            "kind": {
                "type": "string",
                "enum": ["source", "inferred"],
                "default": "source",
                "description": '"inferred": these hints come from no source (then text may be left out)',
            },
        },
        # A source needs its text; "inferred" names its hints instead.
        "anyOf": [
            {"required": ["text"]},
            {
                "required": ["kind", "hints"],
                "properties": {"kind": {"enum": ["inferred"]}, "hints": {"minItems": 1}},
            },
        ],
        "additionalProperties": False,
    },
    "example": [{"text": "Hand-coloured postcard of the same tram", "url": "https://archive.example.org/item/12"}],
}


@extend_schema_field(EVIDENCE_SCHEMA)
class EvidenceField(serializers.JSONField):
    """Evidence as sent; ``evidence_clean`` in the services checks it."""


class CorrectionCreateSerializer(RequestSerializer):
    """JSON for a hints correction; multipart with ``image`` for a manual colorization."""

    base_draft = serializers.IntegerField(required=False, allow_null=True)
    base_correction = serializers.IntegerField(required=False, allow_null=True)
    frame = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="a film clip's keyframe (frame number from 0)"
    )
    hints = HintsField(required=False, allow_null=True, help_text="hints in original pixels (DESIGN.md format)")
    image = serializers.FileField(required=False, help_text="a manual colorization (its chroma is used)")
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    evidence = EvidenceField(required=False)


class ClipCommunityVersionSerializer(serializers.Serializer):
    """A film clip's community version: its newest finished community render, the whole clip colorized
    with every accepted keyframe correction carried through its shot (``clips.community_renders``)."""

    kind = serializers.ChoiceField(choices=["clip_render"], default="clip_render")
    draft = serializers.IntegerField(source="pk", help_text="the community render (drafts/{id}/)")
    video_url = serializers.SerializerMethodField(help_text="the colour clip (H.264/AAC MP4, disclosure in its tags)")
    thumbnail_url = serializers.SerializerMethodField(help_text="its first colour frame (JPEG)")
    label = serializers.SerializerMethodField(help_text='"Community version · AI-colorized · model … · …"')
    ai_disclosure = serializers.SerializerMethodField(help_text="what the clip's metadata says about the AI")
    model = serializers.SerializerMethodField()
    keyframes = serializers.SerializerMethodField(help_text="frame numbers (from 0) whose corrections it carries")
    finished_at = serializers.DateTimeField()

    def _url(self, file) -> str | None:
        return _absolute(self.context, file.url) if file else None

    def get_video_url(self, render) -> str:
        return self._url(render.video)

    def get_thumbnail_url(self, render) -> str | None:
        return self._url(render.thumbnail)

    def get_label(self, render) -> str:
        from community.review.clips import community_version_label

        return community_version_label(render)

    def get_ai_disclosure(self, render) -> str:
        from colorization.drafting import disclosure_for

        return disclosure_for(render)["description"]

    def get_model(self, render) -> dict:
        return {"slug": render.model_slug, "version": render.model_version}

    def get_keyframes(self, render) -> list[int]:
        return sorted(render.keyframe_hints)


COMMUNITY_VERSION_SCHEMA = PolymorphicProxySerializer(
    component_name="CommunityVersion",
    serializers=[CorrectionSerializer, ClipCommunityVersionSerializer],
    resource_type_field_name=None,
    allow_null=True,
)


class PhotoWithCommunitySerializer(PhotoDetailSerializer):
    """The photo detail with its community version and corrections. A photo's community version is
    its accepted correction; a film clip's is its community render (the accepted keyframe
    corrections carried through the whole clip), with ``"kind": "clip_render"``; null otherwise."""

    community_version = serializers.SerializerMethodField()
    corrections = serializers.SerializerMethodField()

    class Meta(PhotoDetailSerializer.Meta):
        fields = [*PhotoDetailSerializer.Meta.fields, "community_version", "corrections"]
        read_only_fields = fields

    def _corrections(self, photo) -> list[Correction]:
        return list(photo.visible_corrections)

    @extend_schema_field(COMMUNITY_VERSION_SCHEMA)
    def get_community_version(self, photo) -> dict | None:
        if photo.is_video:
            from community.review.clips import community_render

            render = community_render(photo)
            return ClipCommunityVersionSerializer(render, context=self.context).data if render else None
        accepted = next((c for c in self._corrections(photo) if c.status == "accepted"), None)
        return CorrectionSerializer(accepted, context=self.context).data if accepted else None

    def get_corrections(self, photo) -> list[dict]:
        return CorrectionSerializer(self._corrections(photo), many=True, context=self.context).data
