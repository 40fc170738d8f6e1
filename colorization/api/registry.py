"""``/api/v1/models/`` and ``/api/v1/training-runs/``: the registry, read-only and public."""

from __future__ import annotations

import django_filters
from django.core.files.storage import default_storage
from rest_framework import generics, permissions, serializers

from colorization import finetuning, model_registry
from colorization.models import ColorModel, ModelStatus, RunStatus, TrainingRun, bucket_key


class BucketFields(serializers.Serializer):
    """``genre`` and ``era`` as null for "any", and their ``bucket`` key; for models and runs alike."""

    genre = serializers.SerializerMethodField(help_text="null: any genre")
    era = serializers.SerializerMethodField(help_text="an era bucket such as 1900-1919; null: any era")
    bucket = serializers.SerializerMethodField()

    def get_genre(self, obj) -> str | None:
        return obj.genre or None

    def get_era(self, obj) -> str | None:
        return obj.era or None

    def get_bucket(self, obj) -> str:
        return bucket_key(obj.genre, obj.era)


class ColorModelSerializer(BucketFields, serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # null: the root
    lineage = serializers.SerializerMethodField()
    # the run that trained it (reverse one-to-one, selected with the model); null for the base model
    training_run = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    trained_on_revoked_data = serializers.SerializerMethodField(
        help_text="the revoked training examples this model (or an ancestor) learnt from; empty when none"
    )

    class Meta:
        model = ColorModel
        fields = [
            "slug",
            "version",
            "status",
            "genre",
            "era",
            "bucket",
            "parent",
            "lineage",
            "metrics",
            "sha256",
            "size_bytes",
            "created_at",
            "promoted_at",
            "retired_at",
            "note",
            "training_run",
            "url",
            "trained_on_revoked_data",
        ]

    def get_lineage(self, obj) -> list[str]:
        return [m.slug for m in obj.lineage()]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        url = obj.get_absolute_url()
        return request.build_absolute_uri(url) if request else url

    def get_trained_on_revoked_data(self, obj) -> list[dict]:
        # One pass over the registry per response (the serializer's context is shared by a list).
        cache = self.context.setdefault("_revoked", {})
        if "map" not in cache:
            cache["map"] = finetuning.models_trained_on_revoked(ColorModel.objects.only("pk"))
        return [
            {
                "example": e.pk,
                "photo": None if e.redacted else e.photo_id,
                "revoked_at": e.revoked_at,
                "reason": e.revoked_reason,  # empty when redacted (hidden photo or correction)
                "url": self._absolute(e.revoked_url),
                "redacted": e.redacted,
            }
            for e in cache["map"].get(obj.pk, [])
        ]

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request and url.startswith("/") else url


class ColorModelDetailSerializer(ColorModelSerializer):
    contributors = serializers.SerializerMethodField()
    samples = serializers.SerializerMethodField()

    class Meta(ColorModelSerializer.Meta):
        fields = [*ColorModelSerializer.Meta.fields, "contributors", "samples"]

    def get_contributors(self, obj) -> list[dict]:
        return finetuning.contributors(obj)

    def get_samples(self, obj) -> list[dict]:
        return [
            {
                "photo": s.get("photo"),
                "parent_url": default_storage.url(s["parent"]),
                "candidate_url": default_storage.url(s["candidate"]),
            }
            for s in obj.samples
            if s.get("parent") and s.get("candidate")
        ]


class TrainingRunSerializer(BucketFields, serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # null: the root
    candidate = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    wall_seconds = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "genre",
            "era",
            "bucket",
            "status",
            "trigger",
            "parent",
            "candidate",
            "config",
            "steps",
            "loss_curve",
            "metrics",
            "decision",
            "error",
            "train_count",
            "holdout_count",
            "progress",
            "queued_at",
            "started_at",
            "finished_at",
            "train_seconds",
            "eval_seconds",
            "wall_seconds",
            "device",
        ]

    def get_wall_seconds(self, obj) -> float | None:
        return obj.wall_seconds


class ModelFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ModelStatus.choices)
    genre = django_filters.CharFilter(method="filter_genre", help_text="a genre, or 'any'")
    era = django_filters.CharFilter(method="filter_era", help_text="an era bucket such as 1900-1919, or 'any'")

    class Meta:
        model = ColorModel
        fields = ["status", "genre", "era"]

    def filter_genre(self, qs, name, value):
        return qs.filter(genre="" if value == "any" else value)

    def filter_era(self, qs, name, value):
        return qs.filter(era="" if value == "any" else value)


class RunFilter(ModelFilter):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = TrainingRun
        fields = ["status", "genre", "era"]


class ModelList(generics.ListAPIView):
    """Registered colorization models: the base model and every fine-tuned candidate, active or not."""

    serializer_class = ColorModelSerializer
    permission_classes = [permissions.AllowAny]
    filterset_class = ModelFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: registers nothing
            return ColorModel.objects.none()
        model_registry.ensure_base_registered()
        return ColorModel.objects.select_related("parent", "training_run").order_by("genre", "era", "-version")


class ModelDetail(generics.RetrieveAPIView):
    serializer_class = ColorModelDetailSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    queryset = ColorModel.objects.select_related("parent", "training_run")


class TrainingRunList(generics.ListAPIView):
    serializer_class = TrainingRunSerializer
    permission_classes = [permissions.AllowAny]
    filterset_class = RunFilter
    queryset = TrainingRun.objects.select_related("parent", "candidate")


class TrainingRunDetail(generics.RetrieveAPIView):
    serializer_class = TrainingRunSerializer
    permission_classes = [permissions.AllowAny]
    queryset = TrainingRun.objects.select_related("parent", "candidate")
