from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from colorization.media import media_serve
from community.accounts.views import LoginView, PasswordResetView
from config.error_pages import api_root
from config.health import healthz
from config.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in and password reset with their limits; Django's other account pages as they are.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("community.api.urls")),  # photos/<id>/: colorization's PhotoDetail, extended
    path("api/v1/", include("colorization.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; token: CHROMA_METRICS_TOKEN
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", include("community.urls")),
    path("", include("colorization.urls")),
]

handler500 = "config.error_pages.server_error"

if not settings.AWS_STORAGE_BUCKET_NAME and settings.MEDIA_URL.startswith("/"):
    # Local storage: every file through its signed, expiring URL (colorization/media.py), in production too.
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:key>", media_serve, name="media"))
