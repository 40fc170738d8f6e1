from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from colorization.access import writer_required
from colorization.models import Photo
from colorization.ratelimit import RateLimited, client_address, credentials_limit
from community.accounts import services
from community.accounts.forms import DecisionForm, HistorianRequestForm, ProfileForm, SignupForm
from community.models import (
    Correction,
    CorrectionStatus,
    HistorianRequest,
    ModerationAction,
    ReputationEvent,
    VerificationStatus,
)
from community.review.permissions import require_moderator
from community.review.reputation import leaderboard as leaderboard_query


class _CredentialsLimited:
    """Django's sign-in and password-reset pages with ``credentials_limit``: over it, the form comes
    back with the reason, status 429 and Retry-After, and the password is not even checked."""

    limit_scope = ""
    identity_field = ""

    def post(self, request, *args, **kwargs):
        try:
            credentials_limit(
                scope=self.limit_scope,
                address=client_address(request),
                identity=request.POST.get(self.identity_field, ""),
            )
        except RateLimited as exc:
            # An unbound form: past the limit nothing is authenticated and no mail is sent.
            kwargs = {k: v for k, v in self.get_form_kwargs().items() if k not in ("data", "files")}
            kwargs["initial"] = {self.identity_field: request.POST.get(self.identity_field, "")[:254]}
            form = self.get_form_class()(**kwargs)
            form.cleaned_data = {}  # add_error expects a cleaned form
            form.add_error(None, exc.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)


class LoginView(_CredentialsLimited, auth_views.LoginView):
    limit_scope, identity_field = "login", "username"


class PasswordResetView(_CredentialsLimited, auth_views.PasswordResetView):
    limit_scope, identity_field = "password-reset", "email"


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_register(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        login(request, user, backend="community.accounts.backends.ProfileJoiningBackend")
        messages.success(request, "Welcome to Chroma Commons. Your account is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def profile(request, username: str):
    user = get_object_or_404(get_user_model(), username=username, is_active=True)
    photos = Photo.objects.visible_to(request.user).filter(owner=user)[:12]
    corrections = Correction.objects.visible_to(request.user).filter(author=user)
    counts = {
        "corrections": corrections.count(),
        "accepted": corrections.filter(status=CorrectionStatus.ACCEPTED).count(),
        "votes": user.votes.count(),
    }
    return render(
        request,
        "community/profile.html",
        {
            "person": user,
            "profile": services.profile_for(user),
            "photos": photos,
            "counts": counts,
            "recent_corrections": corrections.select_related("photo", "render")[:12],
            "accepted_corrections": corrections.filter(status=CorrectionStatus.ACCEPTED)
            .select_related("photo", "render")
            .order_by("-decided_at")[:12],
            "reputation_events": ReputationEvent.objects.filter(user=user)[:20],
        },
    )


def leaderboard(request):
    return render(request, "community/review/leaderboard.html", {"profiles": leaderboard_query(50)})


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("edit your profile")
def profile_edit(request):
    profile = services.profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("profile", username=request.user.username)
    return render(request, "community/profile_edit.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("ask for verification")
def historian_request(request):
    form = HistorianRequestForm(request.POST or None)
    pending = HistorianRequest.objects.filter(user=request.user, status=VerificationStatus.PENDING).first()
    if request.method == "POST" and form.is_valid():
        try:
            services.historian_request_submit(
                user=request.user,
                statement=form.cleaned_data["statement"],
                evidence_url=form.cleaned_data["evidence_url"],
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Your request is with the moderators. You will see their answer here.")
            return redirect("historian-request")
    history = HistorianRequest.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "community/historian_request.html", {"form": form, "pending": pending, "history": history})


@login_required
def verification_queue(request):
    require_moderator(request.user)
    pending = HistorianRequest.objects.filter(status=VerificationStatus.PENDING).select_related("user")
    return render(request, "community/verification_queue.html", {"pending": pending, "form": DecisionForm()})


@login_required
@require_POST
@writer_required("decide verification requests")
def verification_decide(request, pk: int):
    require_moderator(request.user)
    item = get_object_or_404(HistorianRequest, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or deny.")
        return redirect("verification-queue")
    try:
        services.historian_request_decide(
            request=item,
            moderator=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            reason=form.cleaned_data["reason"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        ModerationAction.objects.create(
            moderator=request.user,
            action=f"historian_{item.status}",
            target_type="user",
            target_id=item.user_id,
            reason=form.cleaned_data["reason"],
            details={"request": item.pk, "username": item.user.username},
        )
        messages.success(request, f"{item.user.username}'s request is {item.status}.")
    return redirect("verification-queue")
