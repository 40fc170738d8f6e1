from __future__ import annotations

import django_filters
from django.conf import settings
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from colorization import preview, services
from colorization.api.errors import PayloadTooLarge
from colorization.api.limits import ServiceLimits
from colorization.api.permissions import MayWrite, public_reads_checked_writes
from colorization.api.serializers import (
    DraftRequestSerializer,
    DraftSerializer,
    PhotoDetailSerializer,
    PhotoMetadataSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    PreviewRequestSerializer,
    RequestSerializer,
    SuggestRequestSerializer,
    SuggestResponseSerializer,
)
from colorization.models import Draft, DraftPurpose, Photo
from colorization.ratelimit import client_address, credentials_limit


class IsOwnerOrStaffOrReadOnly(permissions.BasePermission):
    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.is_authenticated and (obj.owner_id == request.user.pk or request.user.is_staff)


class PhotoFilter(django_filters.FilterSet):
    genre = django_filters.CharFilter()
    owner = django_filters.CharFilter(field_name="owner__username")
    decade = django_filters.NumberFilter(method="filter_decade", help_text="e.g. 1910 for 1910–1919")
    era = django_filters.CharFilter(method="filter_era", help_text="a year range such as 1900-1919")
    q = django_filters.CharFilter(method="filter_text", help_text="words in the title, description or place")

    class Meta:
        model = Photo
        fields = ["genre", "owner", "decade", "era", "q"]

    def filter_decade(self, queryset, name, value):
        decade = int(value) // 10 * 10
        return queryset.in_years(decade, decade + 9)

    def filter_era(self, queryset, name, value):
        try:
            start, _, end = value.partition("-")
            year_from = int(start) if start else None
            year_to = int(end) if end else year_from
        except ValueError:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"era": ["Use a year range such as 1900-1919."]}) from None
        return queryset.in_years(year_from, year_to)

    def filter_text(self, queryset, name, value):
        for word in value.split()[:8]:
            queryset = queryset.filter(
                Q(title__icontains=word) | Q(description__icontains=word) | Q(place__icontains=word)
            )
        return queryset


class PhotoListCreate(ServiceLimits, generics.ListCreateAPIView):
    """Browse photos (public) and upload one (signed in; multipart with the file in ``image``)."""

    serializer_class = PhotoSerializer
    filterset_class = PhotoFilter
    parser_classes = [MultiPartParser]  # a file travels only in multipart
    writes = "upload photos"

    def get_permissions(self):
        return public_reads_checked_writes(self.request)  # uploads ask access.write_refusal first

    def get_queryset(self):
        return Photo.objects.visible_to(self.request.user).select_related("owner")

    @extend_schema(
        request=PhotoUploadSerializer,
        responses={
            201: PhotoSerializer,
            200: OpenApiResponse(PhotoSerializer, description="The same file was uploaded before; that photo."),
            400: OpenApiResponse(
                description="Bad metadata, a damaged image, or a refused clip "
                "(damaged, cut short, no pictures, over the duration or resolution limit)"
            ),
            413: OpenApiResponse(description="The file is larger than the byte or pixel limit"),
            415: OpenApiResponse(description="Not an image format we read"),
            429: OpenApiResponse(description="Over CHROMA_UPLOAD_RATE (the upload form shares the limit)"),
        },
    )
    def post(self, request, *args, **kwargs):
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = max(settings.CHROMA_MAX_UPLOAD_BYTES, settings.CHROMA_MAX_VIDEO_BYTES)  # photos or clips
        if declared > limit + 1024 * 1024:
            raise PayloadTooLarge(f"The upload is {declared / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = dict(upload.validated_data)
        image = data.pop("image")
        result = services.photo_upload(owner=request.user, file=image, filename=image.name, metadata=data)
        body = PhotoSerializer(result.photo, context={"request": request}).data
        if result.created:
            return Response(body, status=status.HTTP_201_CREATED)
        body = {**body, "duplicate": True, "detail": "This exact file was uploaded before; here is that photo."}
        return Response(body, status=status.HTTP_200_OK)


class PhotoDetail(generics.RetrieveUpdateAPIView):
    """A photo with its drafts; its owner (or staff) may correct the metadata. The file itself never changes.

    Not routed here: the community app serves ``photos/<id>/`` with a subclass that adds its versions.
    """

    serializer_class = PhotoDetailSerializer
    permission_classes = [MayWrite, IsOwnerOrStaffOrReadOnly]
    writes = "edit photos"
    http_method_names = ["get", "patch", "head", "options"]  # metadata changes are partial: no PUT
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return (
            Photo.objects.visible_to(self.request.user)
            .select_related("owner")
            .prefetch_related(Prefetch("drafts", queryset=Draft.objects.filter(purpose=DraftPurpose.DRAFT)))
        )

    @extend_schema(request=PhotoMetadataSerializer, responses=PhotoSerializer)
    def patch(self, request, *args, **kwargs):
        photo = self.get_object()
        update = PhotoMetadataSerializer(data=request.data, partial=True)
        update.is_valid(raise_exception=True)
        services.photo_update(photo=photo, editor=request.user, metadata=dict(update.validated_data))
        return Response(PhotoDetailSerializer(photo, context={"request": request}).data)


class PhotoSubresource(ServiceLimits):
    """A photo's list of things (drafts, corrections): anyone reads, signed-in users add (limited by the services)."""

    def get_permissions(self):
        return public_reads_checked_writes(self.request)

    def photo(self) -> Photo:
        return generics.get_object_or_404(Photo.objects.visible_to(self.request.user), pk=self.kwargs["pk"])


class PhotoDrafts(PhotoSubresource, generics.ListCreateAPIView):
    """A photo's drafts; signed-in users ask for another (a model, render size, saturation; or a sweep of three)."""

    serializer_class = DraftSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    writes = "ask for drafts"

    @property
    def pagination_class(self):
        # The list (GET) is paginated; a POST answers the drafts it made as a plain list, and says so.
        request = getattr(self, "request", None)
        return None if request is not None and request.method == "POST" else api_settings.DEFAULT_PAGINATION_CLASS

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request kwargs
            return Draft.objects.none()
        return Draft.objects.filter(photo=self.photo(), purpose=DraftPurpose.DRAFT)

    @extend_schema(request=DraftRequestSerializer, responses={201: DraftSerializer(many=True)})
    def post(self, request, *args, **kwargs):
        photo = self.photo()
        params = DraftRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if data["sweep"]:
            drafts = services.drafts_ask_sweep(
                photo=photo, requested_by=request.user, model=data.get("model"), saturation=data["saturation"]
            )
        else:
            drafts = [
                services.draft_ask(
                    photo=photo,
                    requested_by=request.user,
                    model=data.get("model"),
                    render_size=data.get("render_size"),
                    saturation=data["saturation"],
                    hints=data.get("hints"),
                )
            ]
        return Response(DraftSerializer(drafts, many=True, context={"request": request}).data, status=201)


class DraftDetail(generics.RetrieveAPIView):
    """A draft's status, progress (0–100), model and image."""

    serializer_class = DraftSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return Draft.objects.filter(photo__in=Photo.objects.visible_to(self.request.user))


class DraftRetry(ServiceLimits, generics.GenericAPIView):
    """Ask again for a failed draft, with the same settings (a draft request: ``CHROMA_DRAFT_RATE``)."""

    serializer_class = DraftSerializer
    permission_classes = [MayWrite]
    writes = "ask for drafts"

    def get_queryset(self):
        return Draft.objects.filter(photo__in=Photo.objects.visible_to(self.request.user)).select_related("photo")

    @extend_schema(request=None, responses={201: DraftSerializer})
    def post(self, request, *args, **kwargs):
        retry = services.draft_ask_retry(draft=self.get_object(), requested_by=request.user)
        return Response(DraftSerializer(retry, context={"request": request}).data, status=201)


class TokenRequestSerializer(RequestSerializer, AuthTokenSerializer):
    """A username and a password, nothing else."""


class TokenView(ServiceLimits, ObtainAuthToken):
    """Exchange a username and password for an API token (the login page's limits: per address and username).

    Wrong credentials are a 401 (the request was well formed; the credentials are not good), a
    missing or blank field a 400.
    """

    permission_classes = [permissions.AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: AuthTokenSerializer,
            400: OpenApiResponse(description="username or password missing or blank, or an unknown field"),
            401: OpenApiResponse(description="No active account with this username and password"),
        },
    )
    def post(self, request, *args, **kwargs):
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        credentials_limit(scope="login", address=client_address(request), identity=str(username))
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError as exc:
            if exc.get_codes() == {"non_field_errors": ["authorization"]}:  # AuthTokenSerializer's wrong credentials
                raise AuthenticationFailed(str(serializer.errors["non_field_errors"][0])) from None
            raise
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


class _PhotoAction(ServiceLimits, generics.GenericAPIView):
    """Shared by the editor's endpoints: a visible photo, signed-in users, JSON in (``CHROMA_PREVIEW_RATE``)."""

    parser_classes = [JSONParser]

    def photo(self) -> Photo:
        return generics.get_object_or_404(Photo.objects.visible_to(self.request.user), pk=self.kwargs["pk"])


class PNGRenderer(BaseRenderer):
    """Lets clients ask for the preview with ``Accept: image/png`` (content negotiation)."""

    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PhotoPreview(_PhotoAction):
    """Re-colorize a photo with hints at preview size (≤ 512 px): the correction editor's live preview.

    Returns a PNG (with the AI disclosure embedded); the headers ``X-Model`` and
    ``X-Model-Version`` say which model made it. Errors are JSON, whatever the Accept header.
    """

    serializer_class = PreviewRequestSerializer
    renderer_classes = [JSONRenderer, PNGRenderer]

    def handle_exception(self, exc):
        # A client that accepts only image/png still gets its 400/401/404 explained in JSON.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        request=PreviewRequestSerializer,
        responses={(200, "image/png"): OpenApiTypes.BINARY, 400: OpenApiResponse(description="Bad hints")},
    )
    def post(self, request, *args, **kwargs):
        photo = self.photo()
        params = PreviewRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        png, ref = preview.preview_render(
            photo=photo,
            viewer=request.user,
            hints=data.get("hints"),
            model=data.get("model"),
            saturation=data["saturation"],
            size=data["size"],
            render_size=data.get("render_size"),
            frame=data.get("frame"),
        )
        response = HttpResponse(png, content_type="image/png")
        response["X-Model"] = ref.slug
        response["X-Model-Version"] = ref.version
        response["Cache-Control"] = "no-store"
        return response


class PhotoSuggest(_PhotoAction):
    """The most likely colours at a point of the photo, for the editor's palette."""

    serializer_class = SuggestRequestSerializer

    @extend_schema(request=SuggestRequestSerializer, responses=SuggestResponseSerializer)
    def post(self, request, *args, **kwargs):
        photo = self.photo()
        params = SuggestRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        colours, ref = preview.suggest_colours(
            photo=photo,
            viewer=request.user,
            x=data["x"],
            y=data["y"],
            hints=data.get("hints"),
            model=data.get("model"),
            k=data["k"],
            render_size=data.get("render_size"),
            frame=data.get("frame"),
        )
        return Response({"colors": colours, "model": {"slug": ref.slug, "version": ref.version}})
