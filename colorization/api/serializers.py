from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from colorization.engine.hints import (
    GLOBAL_SOURCE_KINDS,
    MAX_SOURCE_TEXT,
    MAX_STROKE_POINTS,
    POINT_SIZES,
    STROKE_WIDTHS,
)
from colorization.models import Draft, Licence, Photo


class RequestSerializer(serializers.Serializer):
    """What a client sends: fields it does not declare are refused, not dropped.

    A misspelt field (``titel``) silently ignored loses what the person meant to send; refusing it
    names it. The schema says the same (``additionalProperties: false``, ``schema.py``).
    """

    IGNORED = frozenset({"csrfmiddlewaretoken"})  # the browsable API's forms add it

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = [name for name, field in self.fields.items() if not field.read_only]
            unknown = sorted(set(data.keys()) - set(writable) - self.IGNORED)
            if unknown:
                allowed = ", ".join(writable)
                raise serializers.ValidationError({name: [f"Unknown field; this takes {allowed}."] for name in unknown})
        return super().to_internal_value(data)


def _absolute(context, url: str) -> str:
    """A storage URL as the client should use it: absolute when it is a path on this site."""
    request = context.get("request")
    return request.build_absolute_uri(url) if request and url.startswith("/") else url


_COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "example": "#7a5230"}
HINTS_SCHEMA = {
    "type": "object",
    "description": "Hints in pixels of the original (origin top-left); only the chroma of a colour is used. "
    "The optional global member sets the overall colours: a palette of up to 32 weighted colours or a tint, "
    "a saturation (0-2), and the source it came from (recorded, not rendered). See colorization/engine/hints.py.",
    "properties": {
        "points": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "x": {"type": "number", "minimum": 0},
                    "y": {"type": "number", "minimum": 0},
                    "color": _COLOR,
                    "size": {"type": "integer", "minimum": POINT_SIZES[0], "maximum": POINT_SIZES[1]},
                },
                "required": ["x", "y", "color"],
            },
        },
        "strokes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "points": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_STROKE_POINTS,
                        "items": {
                            "type": "array",
                            "items": {"type": "number", "minimum": 0},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    },
                    "color": _COLOR,
                    "width": {"type": "integer", "minimum": STROKE_WIDTHS[0], "maximum": STROKE_WIDTHS[1]},
                },
                "required": ["points", "color"],
            },
        },
        "global": {
            "type": "object",
            "description": "overall colours: a palette or a tint (one of them), a saturation, a source",
            "properties": {
                "palette": {
                    "type": "array",
                    "maxItems": 32,
                    "items": {
                        "type": "object",
                        "properties": {"color": _COLOR, "weight": {"type": "number", "minimum": 0}},
                        "required": ["color", "weight"],
                    },
                },
                "tint": {
                    "type": "object",
                    "properties": {"color": _COLOR, "strength": {"type": "number", "minimum": 0, "maximum": 1}},
                    "required": ["color", "strength"],
                },
                "saturation": {"type": "number", "minimum": 0, "maximum": 2, "default": 1.0},
                "source": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": list(GLOBAL_SOURCE_KINDS)},
                        "name": {"type": "string", "maxLength": MAX_SOURCE_TEXT},
                        "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                    },
                    "required": ["kind"],
                },
            },
        },
    },
    "example": {
        "points": [{"x": 120, "y": 48, "color": "#7a5230", "size": 3}],
        "strokes": [{"points": [[10, 10], [40, 12], [80, 30]], "color": "#3b5e2b", "width": 6}],
        "global": {
            "palette": [{"color": "#7a5230", "weight": 0.4}, {"color": "#8da0b8", "weight": 0.6}],
            "saturation": 1.0,
            "source": {"kind": "reference", "name": "plate-14.jpg", "box": [0, 0, 400, 300]},
        },
    },
}


@extend_schema_field(HINTS_SCHEMA)
class HintsField(serializers.JSONField):
    """The hints document (DESIGN.md), validated by the engine's parser in the services."""


class PhotoSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    era = serializers.CharField(read_only=True)
    original_url = serializers.SerializerMethodField()
    web_video_url = serializers.SerializerMethodField(
        help_text="A film clip's original as browsers play it: the untouched original when browsers play its "
        "format, else an H.264 MP4 copy with the same pictures (made with the first colour render; null until "
        "then). Null for a photograph. original_url stays the untouched upload."
    )
    thumbnail_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = [
            "id",
            "title",
            "description",
            "year_from",
            "year_to",
            "era",
            "genre",
            "place",
            "source_archive",
            "source_reference",
            "licence",
            "credit_line",
            "owner",
            "original_url",
            "web_video_url",
            "original_filename",
            "original_sha256",
            "original_bytes",
            "image_format",
            "width",
            "height",
            "bit_depth",
            "is_colour_source",
            "media_kind",
            "frame_count",
            "fps",
            "duration_seconds",
            "video_codec",
            "audio_codec",
            "thumbnail_url",
            "page_url",
            "created_at",
        ]
        read_only_fields = fields

    def _absolute(self, url: str) -> str:
        return _absolute(self.context, url)

    def get_original_url(self, photo: Photo) -> str:
        return self._absolute(photo.original.url)

    def get_web_video_url(self, photo: Photo) -> str | None:
        # Only rows the caller may see reach a serializer (the views scope by Photo.visible_to), as
        # for original_url; a photograph has no web copy.
        return self._absolute(photo.web_video.url) if photo.is_video and photo.web_video else None

    def get_thumbnail_url(self, photo: Photo) -> str | None:
        return self._absolute(photo.thumbnail.url) if photo.thumbnail else None

    def get_page_url(self, photo: Photo) -> str:
        return self._absolute(photo.get_absolute_url())


class PhotoMetadataSerializer(RequestSerializer):
    """Metadata accepted with an upload or in an update; the rules live in services.validate_metadata."""

    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True)
    year_from = serializers.IntegerField(required=False, allow_null=True, min_value=1826, max_value=2100)
    year_to = serializers.IntegerField(required=False, allow_null=True, min_value=1826, max_value=2100)
    genre = serializers.ChoiceField(choices=[], required=False)
    place = serializers.CharField(required=False, allow_blank=True, max_length=300)
    source_archive = serializers.CharField(required=False, allow_blank=True, max_length=300)
    source_reference = serializers.CharField(required=False, allow_blank=True, max_length=500)
    licence = serializers.ChoiceField(choices=Licence.choices, required=False)
    credit_line = serializers.CharField(required=False, allow_blank=True, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["genre"].choices = [(g, g) for g in settings.CHROMA_GENRES]


@extend_schema_field(
    {
        "anyOf": [{"type": "integer", "minimum": 1826, "maximum": 2100}, {"type": "string", "maxLength": 0}],
        "description": "a year from 1826 to 2100; left out or empty: unknown (a form cannot send null)",
    }
)
class FormYearField(serializers.IntegerField):
    """A year in a multipart form: a number, or empty for unknown (DRF reads an empty form value as null)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, min_value=1826, max_value=2100, **kwargs)

    def validate_empty_values(self, data):
        if data == "":
            return True, None
        return super().validate_empty_values(data)


class PhotoUploadSerializer(PhotoMetadataSerializer):
    year_from = FormYearField()
    year_to = FormYearField(help_text="the end of a range; left out: the same as year_from")
    image = serializers.FileField(
        help_text="A photograph (JPEG, PNG, TIFF, WebP, GIF, BMP or HEIC) or a film clip (MP4, MOV, MKV, WebM, "
        "AVI); the format is read from the bytes."
    )


class ModelIdentitySerializer(serializers.Serializer):
    slug = serializers.CharField()
    version = serializers.CharField()


class DraftSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()
    image_jpeg_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Draft
        fields = [
            "id",
            "photo",
            "status",
            "progress",
            "stage",
            "model",
            "image_url",
            "image_jpeg_url",
            "thumbnail_url",
            "video_url",
            "video_bytes",
            "frames_done",
            "frames_total",
            "error",
            "label",
            "render_size",
            "saturation",
            "hints",
            "device",
            "duration_ms",
            "batch_size",
            "attempts",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_model(self, draft: Draft) -> dict:
        return {"slug": draft.model_slug, "version": draft.model_version}

    def _url(self, file) -> str | None:
        return _absolute(self.context, file.url) if file else None

    def get_image_url(self, draft: Draft) -> str | None:
        return self._url(draft.image)

    def get_image_jpeg_url(self, draft: Draft) -> str | None:
        return self._url(draft.image_jpeg)

    def get_thumbnail_url(self, draft: Draft) -> str | None:
        return self._url(draft.thumbnail)

    def get_video_url(self, draft: Draft) -> str | None:
        """A film clip's colour render (H.264/AAC MP4, the AI disclosure in its tags)."""
        return self._url(draft.video)


class PhotoDetailSerializer(PhotoSerializer):
    drafts = DraftSerializer(many=True, read_only=True)

    class Meta(PhotoSerializer.Meta):
        fields = [*PhotoSerializer.Meta.fields, "drafts"]
        read_only_fields = fields


class DraftRequestSerializer(RequestSerializer):
    model = serializers.CharField(required=False, help_text="a model slug; default: the photo's routed model")
    render_size = serializers.IntegerField(required=False, min_value=64, max_value=4096)
    saturation = serializers.FloatField(required=False, min_value=0, max_value=2, default=1.0)
    hints = HintsField(required=False)
    sweep = serializers.BooleanField(
        required=False, default=False, help_text="make three drafts at different render sizes, to compare"
    )


class PreviewRequestSerializer(RequestSerializer):
    hints = HintsField(required=False, help_text="hints in original pixels (DESIGN.md format)")
    model = serializers.CharField(required=False, help_text="a model slug; default: the photo's routed model")
    saturation = serializers.FloatField(required=False, min_value=0, max_value=2, default=1.0)
    size = serializers.IntegerField(
        required=False, min_value=64, max_value=512, default=512, help_text="long side of the returned PNG, in px"
    )
    render_size = serializers.IntegerField(
        required=False,
        min_value=64,
        max_value=512,
        help_text="the network's working resolution (long side, px; never above size); "
        "default: the drafts' default render size. The editor sends the corrected draft's render size.",
    )
    frame = serializers.IntegerField(
        required=False, min_value=0, help_text="a film clip's keyframe to preview (frame number from 0); clips only"
    )


class SuggestRequestSerializer(RequestSerializer):
    x = serializers.IntegerField(min_value=0, help_text="pixel column in the original")
    y = serializers.IntegerField(min_value=0, help_text="pixel row in the original")
    hints = HintsField(required=False)
    model = serializers.CharField(required=False)
    k = serializers.IntegerField(required=False, min_value=1, max_value=12, default=6)
    render_size = serializers.IntegerField(required=False, min_value=64, max_value=512)
    frame = serializers.IntegerField(required=False, min_value=0, help_text="a film clip's keyframe (from 0)")


class SuggestResponseSerializer(serializers.Serializer):
    colors = serializers.ListField(child=serializers.CharField(), help_text='"#rrggbb", most likely first')
    model = ModelIdentitySerializer()
