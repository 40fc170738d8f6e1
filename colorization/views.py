from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from colorization import services
from colorization.access import writer_required
from colorization.forms import PhotoUploadForm
from colorization.images import ACCEPTED_DESCRIPTION, ImageRejected
from colorization.models import Draft, Photo
from colorization.ratelimit import RateLimited

GALLERY_PAGE_SIZE = 24


def rate_limited_page(request, exc: RateLimited, back: str = "/"):
    """A form over its limit: a 429 page that says which limit and when to come back; nothing was saved."""
    response = render(request, "429.html", {"message": exc.message, "back": back}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def home(request):
    # Gold-standard photos (true colours known, shown in greyscale for scoring) are test material, not news.
    recent = (
        Photo.objects.visible_to(request.user)
        .filter(gold_standard__isnull=True)
        .with_preview()
        .select_related("owner")[:8]
    )
    return render(request, "colorization/home.html", {"recent": recent})


@login_required
@require_http_methods(["POST"])
@writer_required("ask for drafts")
def draft_create(request, pk: int):
    """The photo page's "colorize again" form: one draft, or a sweep of three render sizes."""
    photo = get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    try:
        saturation = float(request.POST.get("saturation", "1"))
        if "sweep" in request.POST:
            services.drafts_ask_sweep(photo=photo, requested_by=request.user, saturation=saturation)
            messages.success(request, "Three drafts at different render sizes are on their way; compare them below.")
        else:
            render_size = int(request.POST.get("render_size") or settings.CHROMA_DEFAULT_RENDER_SIZE)
            services.draft_ask(photo=photo, requested_by=request.user, render_size=render_size, saturation=saturation)
            messages.success(request, "A new draft is on its way.")
    except ValueError:
        messages.error(request, "The render size and saturation must be numbers.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except RateLimited as exc:
        return rate_limited_page(request, exc, photo.get_absolute_url())
    return redirect(photo)


@login_required
@require_http_methods(["POST"])
@writer_required("ask for drafts")
def draft_retry(request, pk: int):
    draft = get_object_or_404(
        Draft.objects.filter(photo__in=Photo.objects.visible_to(request.user)).select_related("photo"), pk=pk
    )
    try:
        services.draft_ask_retry(draft=draft, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except RateLimited as exc:
        return rate_limited_page(request, exc, draft.photo.get_absolute_url())
    else:
        messages.success(request, "The draft is queued again.")
    return redirect(draft.photo)


@login_required
def my_photos(request):
    photos = Photo.objects.filter(owner=request.user)
    page = Paginator(photos, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "colorization/my_photos.html", {"page": page, "query": ""})


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("upload photos")
def upload(request):
    """The upload page. With JavaScript, files go one by one to the API with per-file progress;
    without it, this view takes the whole form."""
    form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        metadata = {k: v for k, v in form.cleaned_data.items() if k != "images"}
        done, failed = [], []
        limited = None
        for image in form.cleaned_data["images"]:
            item = dict(metadata)
            item["title"] = metadata["title"] or Path(image.name).stem.replace("_", " ")[:300]
            try:
                result = services.photo_upload(owner=request.user, file=image, filename=image.name, metadata=item)
            except RateLimited as exc:
                failed.append(f"{image.name}: not uploaded. {exc.message}")
                limited = exc
                break
            except ImageRejected as exc:
                failed.append(f"{image.name}: {exc.message}")
                continue
            except ValidationError as exc:
                failed.append(f"{image.name}: {' '.join(exc.messages)}")
                continue
            done.append(result)
        for result in done:
            if result.created:
                messages.success(request, f"Uploaded “{result.photo.title}”.")
            else:
                messages.info(request, f"“{result.photo.title}” was already here; nothing was duplicated.")
        if limited is not None:  # the same page, with what was and was not uploaded, as a 429
            for text in failed:
                messages.error(request, text)
            for result in done:
                messages.success(request, f"Uploaded “{result.photo.title}”.")
            response = render(request, "colorization/upload.html", _upload_context(form), status=429)
            response["Retry-After"] = str(limited.retry_after)
            return response
        for text in failed:
            messages.error(request, text)
        if len(done) == 1 and not failed:
            return redirect(done[0].photo)
        if done and not failed:
            return redirect("my-photos")
    return render(request, "colorization/upload.html", _upload_context(form))


def _upload_context(form) -> dict:
    return {
        "form": form,
        "accepted": ACCEPTED_DESCRIPTION,
        "max_mb": settings.CHROMA_MAX_UPLOAD_BYTES // 1_000_000,
        "max_mp": settings.CHROMA_MAX_IMAGE_PIXELS // 1_000_000,
    }
