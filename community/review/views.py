"""Pages and form posts of review and moderation: a correction's page, the correction editor, votes,
decisions, comments, reports, queues, notifications, the moderators' queue, hiding, suspending, the
audit log and gold-standard photos. The rules live in the services next to this module (corrections,
decisions, comments, moderation, gold); these only translate.

The editor page is a shell for static/js/editor.js: everything the script needs (the photo's size,
the images, the hint set it starts from, the limits the server enforces, the API endpoints and the
render settings of what is being corrected, so the live preview is made exactly as the final render
will be) travels in one JSON config.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from colorization.access import writer_required
from colorization.engine.hints import MAX_POINTS, MAX_STROKE_POINTS, MAX_STROKES, POINT_SIZES, STROKE_WIDTHS
from colorization.images import ImageRejected
from colorization.models import Draft, DraftStatus, Licence, Photo
from colorization.preview import MIN_RENDER_SIZE, PREVIEW_MAX_SIDE
from colorization.ratelimit import RateLimited
from colorization.text import submitted_id
from community.accounts.services import profile_for, viewer_profile
from community.gallery.page_cache import csrf_fill, fragment_context
from community.gallery.photo_page import page_photo
from community.models import (
    Comment,
    Correction,
    CorrectionStatus,
    Evidence,
    ModerationAction,
    Notification,
    Report,
    ReportStatus,
    Vote,
)
from community.review import (
    comments,
    decisions,
    gold,
    moderation,
    notifications,
    permissions,
    provenance,
    queues,
    revocations,
    rule,
)
from community.review.comments import comment_thread
from community.review.corrections import MAX_EVIDENCE, MAX_NOTE, render_settings_for
from community.review.selectors import editor_base_draft, my_vote, page_correction


def _back(request, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(default)


def _say(request, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    elif isinstance(exc, decisions.ReviewConflict | RateLimited):
        messages.error(request, exc.message)
    else:
        messages.error(request, str(exc) or "You cannot do that.")


ACTION_ERRORS = (ValidationError, PermissionDenied, decisions.ReviewConflict, RateLimited)


# --- the correction page and the editor -------------------------------------------------------------


def correction_detail(request, pk: int):
    # Only what the page shows outside its shared fragments (the render: whether one may vote yet).
    # The comparison's bases, the sources with their verdicts and the colour provenance are read
    # when a fragment renders, once for everyone (issue 25: seven joins and three prefetches were a
    # third of a render).
    correction = page_correction(request.user, pk)
    original_url = clip_stills = None
    if correction.frame is not None:  # a clip's keyframe: compared with the keyframe's stills
        clip_stills = _clip_stills(correction.photo, correction.frame, correction.base_draft)
        if clip_stills is not None:
            original_url = default_storage.url(clip_stills["original"])

    @functools.cache
    def read_evidence() -> None:
        """The evidence with its verdicts, once, for whichever fragment renders first."""
        prefetch_related_objects([correction], "evidence__verifications__historian")

    def base_image():  # read where the comparison renders, which lists the evidence too
        read_evidence()
        base = correction.base_correction.result_file if correction.base_correction_id else None
        if base is None and correction.base_draft_id:
            base = correction.base_draft.image
        if clip_stills is not None and (base is None or not base):
            base = SimpleNamespace(url=default_storage.url(clip_stills["colour"]))
        return base

    @functools.cache
    def sources() -> list[dict]:
        read_evidence()
        return [
            {"evidence": e, "status": provenance.source_status(e), "verifications": list(e.verifications.all())}
            for e in correction.evidence.all()
        ]

    @functools.cache
    def colour_provenance():
        read_evidence()
        return provenance.provenance_safely(correction) if not correction.is_gold else None

    user = request.user
    current = rule.rule()
    tally = rule.Tally.of(correction)
    lower, upper = current.bounds(tally)
    # The list of votes and the comparison are the same for everyone who may see the correction:
    # shared fragments keyed by the photo's version stamp (a vote or decision bumps it).
    votes = SimpleLazyObject(
        lambda: list(
            Vote.objects.filter(correction=correction)
            .select_related("voter", "voter__profile")
            .prefetch_related("evidence")
        )
    )
    mine = my_vote(correction)
    profile = viewer_profile(request)
    can_vote, why_not = permissions.can_vote(user, correction, profile=profile)
    is_moderator = profile is not None and profile.is_moderator
    shared = correction.hidden_at is None and correction.photo.hidden_at is None
    # Revocation requests exist only for what was accepted (revocable now, or revoked): no query for
    # the pending and rejected corrections that reviewers open most.
    revocation_list = (
        list(correction.revocations.select_related("proposed_by", "decided_by").order_by("created_at"))
        if correction.status in (*permissions.REVOCABLE, CorrectionStatus.REVOKED)
        else []
    )
    open_revocation = next((r for r in revocation_list if r.status == "open"), None)
    can_revoke = permissions.can_revoke_by_hand(user, correction, profile=profile)
    revocation_vote_refusal = (
        permissions.revocation_vote_refusal(user, correction, open_revocation, profile=profile)
        if open_revocation
        else None
    )
    can_verify_sources = permissions.can_verify_sources(user, correction, profile=profile)
    response = render(
        request,
        "community/correction_detail.html",
        {
            "correction": correction,
            "photo": correction.photo,
            "base_image": base_image,
            "original_url": original_url,
            "rule_text": current.describe(),
            "rule": current,
            "tally": tally,
            "lower": lower,
            "upper": upper,
            "quorum": current.quorum(tally),
            "votes": votes,
            "my_vote": mine,
            "can_vote": can_vote,
            "why_not": why_not,
            "can_decide": is_moderator
            and not correction.is_decided
            and not correction.is_gold
            and correction.author_id != user.pk,
            "is_moderator": is_moderator,
            "show_gold_score": correction.is_gold
            and (user.pk == correction.author_id or is_moderator or user.is_staff),
            "comments": comment_thread(user, correction=correction, profile=profile),
            "revocations": revocation_list,
            "can_revoke": can_revoke,
            "can_propose_revocation": not can_revoke
            and user.is_authenticated
            and permissions.revocation_propose_refusal(user, correction, profile=profile) is None,
            "can_vote_revocation": open_revocation is not None and revocation_vote_refusal is None,
            "why_not_revocation_vote": revocation_vote_refusal.message if revocation_vote_refusal else "",
            "provenance": colour_provenance,
            "sources": sources,
            "can_verify_sources": can_verify_sources,
            **fragment_context(
                photo_id=correction.photo_id,
                parts=("correction", correction.pk, "member" if user.is_authenticated else "anonymous"),
                shared=shared,
                names=(
                    "correction-compare",
                    f"correction-provenance:{can_verify_sources}",
                    "correction-status",
                    "correction-votes",
                ),
            ),
        },
    )
    return csrf_fill(request, response)


def _id_param(request, name: str) -> int | None:
    """``?draft=`` / ``?correction=`` as an id; anything but a positive integer is a 404, not a 500."""
    if name not in request.GET:
        return None
    value = request.GET[name]
    if not value.isdigit() or int(value) < 1:
        raise Http404(f"{name} must be an id")
    return int(value)


def _preview_settings(photo: Photo, base_draft: Draft | None, base_correction: Correction | None) -> dict:
    settings_ = render_settings_for(photo, base_draft, base_correction)
    model = settings_.get("model")
    if model:
        from colorization.model_registry import UnknownModel, model_ref

        try:
            model_ref(model)
        except UnknownModel:
            model = None  # the model is gone: preview with the photo's current model (the render says which)
    render_size = settings_.get("render_size")
    return {
        "model": model,
        "render_size": max(MIN_RENDER_SIZE, min(PREVIEW_MAX_SIDE, render_size)) if render_size else None,
        "saturation": settings_.get("saturation", 1.0),
        "size": PREVIEW_MAX_SIDE,
    }


def _frame_param(request) -> int | None:
    """``?frame=`` (a clip's keyframe, from 0); anything but a whole number is a 404."""
    if "frame" not in request.GET:
        return None
    value = request.GET["frame"]
    if not value.isdigit():
        raise Http404("frame must be a frame number")
    return int(value)


def _clip_stills(photo: Photo, frame: int, base_draft: Draft | None) -> dict | None:
    """The keyframe's stills ({"colour", "original"} keys): the base draft's, else the newest render's."""
    if base_draft is not None and str(frame) in (base_draft.stills or {}):
        return base_draft.stills[str(frame)]
    renders = Draft.objects.filter(photo=photo, status=DraftStatus.DONE, frame__isnull=True).order_by(
        "-created_at", "-id"
    )
    return next((d.stills[str(frame)] for d in renders.only("stills") if str(frame) in (d.stills or {})), None)


@login_required
def editor(request, pk: int):
    """The correction editor for a draft (``?draft=ID``) or an earlier correction (``?correction=ID``).

    A film clip's keyframe is corrected the same way (``?draft=ID&frame=N``): the editor shows the
    keyframe's stills, previews that frame, and the correction is of that keyframe.
    """
    photo = page_photo(request.user, pk)
    correction_id, draft_id = _id_param(request, "correction"), _id_param(request, "draft")
    frame = _frame_param(request)
    base_correction = base_draft = None
    original_url = photo.original.url
    if correction_id is not None:
        base_correction = get_object_or_404(
            Correction.objects.visible_to(request.user).select_related("render", "base_draft"),
            pk=correction_id,
            photo=photo,
        )
        base_image = base_correction.result_file
        hints = base_correction.hints or {"points": [], "strokes": []}
        label = base_correction.label
        frame = base_correction.frame
    else:
        base_draft = editor_base_draft(photo, draft_id)
        if base_draft is None and draft_id is not None:
            raise Http404("No such finished draft of this photo.")
        if base_draft is None:
            return render(request, "community/editor_unavailable.html", {"photo": photo}, status=409)
        base_image = base_draft.image
        hints = base_draft.hints or {"points": [], "strokes": []}
        label = base_draft.label
    if photo.is_video:
        if frame is None or not str(frame).isdigit():
            raise Http404("Say which keyframe of the clip to correct (?frame=N).")
        stills = _clip_stills(photo, frame, base_draft)
        if stills is None:
            raise Http404("That frame is not a keyframe of this clip, or it has no still yet.")
        original_url = default_storage.url(stills["original"])
        if base_draft is not None:
            base_image = None
            # A clip render's hints are per keyframe: a community render's for this keyframe are its
            # accepted correction's, which the volunteer builds on (as "Build on this correction" does).
            hints = base_draft.keyframe_hints.get(int(frame)) or {"points": [], "strokes": []}
            base_url = default_storage.url(stills["colour"])
    elif frame is not None:
        raise Http404("A photograph has no frames.")
    if not photo.is_video or base_draft is None:
        base_url = base_image.url if base_image else None
    config = {
        "photo": {"id": photo.pk, "width": photo.width, "height": photo.height, "title": photo.title},
        "original_url": original_url,
        "base_image_url": base_url,
        "frame": frame,
        "base_label": label,
        "base_draft": base_draft.pk if base_draft else None,
        "base_correction": base_correction.pk if base_correction else None,
        # "Build on this correction" starts from all its hints, its overall colour included.
        "hints": {
            "points": hints.get("points", []),
            "strokes": hints.get("strokes", []),
            **({"global": hints["global"]} if hints.get("global") else {}),
        },
        "preview": {
            **_preview_settings(photo, base_draft, base_correction),
            **({"frame": frame} if frame is not None else {}),
        },
        "limits": {
            "point_sizes": list(POINT_SIZES),
            "stroke_widths": list(STROKE_WIDTHS),
            "max_points": MAX_POINTS,
            "max_strokes": MAX_STROKES,
            "max_stroke_points": MAX_STROKE_POINTS,
            "max_evidence": MAX_EVIDENCE,
            "max_note": MAX_NOTE,
        },
        "api": {
            "preview": reverse("api-photo-preview", args=[photo.pk]),
            "suggest": reverse("api-photo-suggest", args=[photo.pk]),
            "corrections": reverse("api-photo-corrections", args=[photo.pk]),
        },
        "photo_url": photo.get_absolute_url(),
    }
    return render(
        request,
        "community/editor.html",
        {"photo": photo, "base_draft": base_draft, "base_correction": base_correction, "config": config},
    )


# --- votes and decisions ---------------------------------------------------------------------------------


@login_required
@require_POST
@writer_required("vote")
def vote(request, pk: int):
    correction = get_object_or_404(Correction.objects.visible_to(request.user), pk=pk)
    source = {
        "text": request.POST.get("evidence_text", "").strip(),
        "url": request.POST.get("evidence_url", "").strip(),
        "archive_reference": request.POST.get("evidence_archive_reference", "").strip(),
    }
    try:
        result = decisions.vote_cast(
            correction_id=correction.pk,
            voter=request.user,
            value=request.POST.get("value"),
            comment=request.POST.get("comment", ""),
            evidence=[source] if any(source.values()) else None,
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        if result.decided:
            messages.success(request, f"Your vote counted, and it decided the correction: {result.decided}.")
        else:
            messages.success(request, "Your vote counted." if result.created else "Your vote is changed.")
    return redirect(correction)


@login_required
@require_POST
@writer_required("decide corrections")
def decide(request, pk: int):
    correction = get_object_or_404(Correction.objects.visible_to(request.user), pk=pk)
    try:
        decisions.correction_decide(
            correction_id=correction.pk,
            moderator=request.user,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        messages.success(request, "The decision is recorded.")
    return redirect(correction)


def _evidence_from_form(request) -> list[dict]:
    source = {
        "text": request.POST.get("evidence_text", "").strip(),
        "url": request.POST.get("evidence_url", "").strip(),
        "archive_reference": request.POST.get("evidence_archive_reference", "").strip(),
    }
    return [source] if any(source.values()) else []


@login_required
@require_POST
@writer_required("revoke corrections")
def revoke(request, pk: int):
    """A moderator revokes at once; anyone else, and a moderator who may not revoke this one by hand
    (their own correction), asks the community: the same choice the page's forms show."""
    correction = get_object_or_404(Correction.objects.visible_to(request.user), pk=pk)
    try:
        if permissions.can_revoke_by_hand(request.user, correction):
            revocations.correction_revoke(
                correction_id=correction.pk,
                moderator=request.user,
                reason=request.POST.get("reason", ""),
                evidence=_evidence_from_form(request),
            )
            messages.success(request, "The correction is revoked.")
        else:
            revocations.revocation_propose(
                correction_id=correction.pk,
                proposer=request.user,
                reason=request.POST.get("reason", ""),
                evidence=_evidence_from_form(request),
            )
            messages.success(request, "Your request is open for votes.")
    except ACTION_ERRORS as exc:
        _say(request, exc)
    return redirect(reverse("correction-detail", args=[correction.pk]) + "#revocation-block")


@login_required
@require_POST
@writer_required("vote")
def revocation_vote(request, pk: int):
    correction = get_object_or_404(Correction.objects.visible_to(request.user), pk=pk)
    try:
        result = revocations.revocation_vote_cast(
            correction_id=correction.pk,
            voter=request.user,
            value=request.POST.get("value"),
            comment=request.POST.get("comment", ""),
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        if result.decided:
            messages.success(request, f"Your vote counted, and it decided the request: {result.decided}.")
        else:
            messages.success(request, "Your vote counted." if result.created else "Your vote is changed.")
    return redirect(reverse("correction-detail", args=[correction.pk]) + "#revocation-block")


@login_required
@require_POST
@writer_required("verify sources")
def verify_source(request, pk: int):
    evidence = get_object_or_404(
        Evidence.objects.filter(correction__in=Correction.objects.visible_to(request.user)), pk=pk
    )
    try:
        provenance.source_verify(
            evidence_id=evidence.pk,
            historian=request.user,
            verdict=request.POST.get("verdict", ""),
            note=request.POST.get("note", ""),
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        messages.success(request, "Your verdict on the source is recorded.")
    return redirect(reverse("correction-detail", args=[evidence.correction_id]) + f"#source-{evidence.pk}")


# --- comments and reports ------------------------------------------------------------------------------


@login_required
@require_POST
@writer_required("comment")
def comment_create(request):
    photo = correction = None
    if request.POST.get("correction"):
        correction = get_object_or_404(
            Correction.objects.visible_to(request.user), pk=submitted_id(request.POST["correction"], "correction")
        )
        default = correction.get_absolute_url()
    else:
        photo = get_object_or_404(
            Photo.objects.visible_to(request.user), pk=submitted_id(request.POST.get("photo"), "photo")
        )
        default = photo.get_absolute_url()
    try:
        comment = comments.comment_add(
            author=request.user, body=request.POST.get("body", ""), photo=photo, correction=correction
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
        return redirect(default)
    messages.success(request, "Your comment is posted.")
    return redirect(f"{default}#comment-{comment.pk}")


def _reportable(request, kind: str, pk: int):
    if kind == "photo":
        return get_object_or_404(Photo.objects.visible_to(request.user), pk=pk)
    if kind == "correction":
        return get_object_or_404(Correction.objects.visible_to(request.user), pk=pk)
    if kind == "comment":
        comment = get_object_or_404(Comment.objects.filter(hidden_at__isnull=True), pk=pk)
        parent = (
            Photo.objects.visible_to(request.user).filter(pk=comment.photo_id)
            if comment.photo_id
            else Correction.objects.visible_to(request.user).filter(pk=comment.correction_id)
        )
        if not parent.exists():
            raise PermissionDenied("You cannot see this comment.")
        return comment
    raise PermissionDenied("Report a photo, a correction or a comment.")


def _url_of(kind: str, obj) -> str:
    if kind == "comment":
        parent = obj.photo if obj.photo_id else obj.correction
        return f"{parent.get_absolute_url()}#comment-{obj.pk}"
    return obj.get_absolute_url()


class ReportForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=2000, help_text="What is wrong, for the moderators."
    )


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("report content")
def report(request, kind: str, pk: int):
    obj = _reportable(request, kind, pk)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation.report_create(reporter=request.user, kind=kind, obj=obj, reason=form.cleaned_data["reason"])
        except ACTION_ERRORS as exc:
            _say(request, exc)
        else:
            messages.success(request, "Thank you. The moderators will look at it.")
            return redirect(_url_of(kind, obj))
    return render(
        request, "community/review/report.html", {"form": form, "kind": kind, "obj": obj, "url": _url_of(kind, obj)}
    )


# --- queues ----------------------------------------------------------------------------------------------


def needs_review(request):
    return render(
        request,
        "community/review/needs_review.html",
        {
            "corrections": queues.needs_review(request.user, profile=viewer_profile(request)),
            "rule_text": rule.rule().describe(),
        },
    )


def needs_correction(request):
    return render(request, "community/review/needs_correction.html", {"photos": queues.needs_correction(request.user)})


@login_required
def my_contributions(request):
    corrections, votes = queues.my_contributions(request.user)
    return render(
        request,
        "community/review/my_contributions.html",
        {
            "corrections": Paginator(corrections, 50).get_page(request.GET.get("page")),
            "votes": votes[:100],
            "profile": profile_for(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request):
    if request.method == "POST":
        notifications.notifications_mark_read(user=request.user)
        return redirect("notifications")
    items = Paginator(Notification.objects.filter(recipient=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "community/review/notifications.html", {"items": items})


@login_required
def notification_open(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.notifications_mark_read(user=request.user, ids=[notification.pk])
    target = notification.url or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return redirect(target)


# --- moderation ------------------------------------------------------------------------------------------


@login_required
def moderation_queue(request):
    permissions.require_moderator(request.user)
    reports = Report.objects.filter(status=ReportStatus.OPEN).select_related(
        "reporter", "photo", "correction", "comment", "comment__author"
    )
    items = []
    for r in reports:
        kind, obj = moderation.report_target(r)
        items.append((r, kind, obj, obj.owner if kind == "photo" else obj.author))
    hidden = {
        "corrections": Correction.objects.filter(hidden_at__isnull=False).select_related("photo")[:50],
        "comments": Comment.objects.filter(hidden_at__isnull=False).select_related("author")[:50],
        "photos": Photo.objects.filter(hidden_at__isnull=False)[:50],
    }
    return render(request, "community/review/moderation_queue.html", {"items": items, "hidden": hidden})


@login_required
@require_POST
@writer_required("moderate")
def report_resolve(request, pk: int):
    permissions.require_moderator(request.user)
    try:
        moderation.report_resolve(
            report_id=pk,
            moderator=request.user,
            status=request.POST.get("status", ""),
            resolution=request.POST.get("resolution", ""),
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        messages.success(request, "The report is closed.")
    return _back(request, "moderation-queue")


@login_required
@require_POST
@writer_required("moderate")
def hide(request):
    permissions.require_moderator(request.user)
    kind = request.POST.get("kind", "")
    model = moderation.KINDS.get(kind)
    if model is None:
        messages.error(request, "Hide a photo, a correction or a comment.")
        return _back(request, "moderation-queue")
    obj = get_object_or_404(model, pk=submitted_id(request.POST.get("pk"), "pk"))
    hidden = request.POST.get("hidden", "1") == "1"
    try:
        moderation.content_hide(
            moderator=request.user, kind=kind, obj=obj, hidden=hidden, reason=request.POST.get("reason", "")
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        messages.success(request, f"The {kind} is {'hidden' if hidden else 'visible again'}.")
    return _back(request, "moderation-queue")


@login_required
@require_POST
@writer_required("moderate")
def suspend(request, username: str):
    permissions.require_moderator(request.user)
    person = get_object_or_404(get_user_model(), username=username)
    suspend_it = request.POST.get("suspend", "1") == "1"
    try:
        moderation.user_suspend(
            moderator=request.user, user=person, suspend=suspend_it, reason=request.POST.get("reason", "")
        )
    except ACTION_ERRORS as exc:
        _say(request, exc)
    else:
        messages.success(request, f"{person.username} is {'suspended' if suspend_it else 'active again'}.")
    return _back(request, "moderation-queue")


@login_required
def audit_log(request):
    permissions.require_moderator(request.user)
    actions = ModerationAction.objects.select_related("moderator")
    if request.GET.get("target_type") and request.GET.get("target_id"):
        target_id = submitted_id(request.GET["target_id"], "target_id")
        actions = actions.filter(target_type=request.GET["target_type"], target_id=target_id)
    page = Paginator(actions, 100).get_page(request.GET.get("page"))
    return render(request, "community/review/audit_log.html", {"actions": page})


class GoldForm(forms.Form):
    image = forms.FileField(help_text="A COLOUR photograph whose colours are known to be true.")
    title = forms.CharField(max_length=300)
    year_from = forms.IntegerField(required=False, min_value=1826, max_value=2100)
    year_to = forms.IntegerField(required=False, min_value=1826, max_value=2100)
    place = forms.CharField(max_length=300, required=False)
    source_archive = forms.CharField(max_length=300, required=False)
    licence = forms.ChoiceField(choices=Licence.choices, initial=Licence.PUBLIC_DOMAIN)
    note = forms.CharField(max_length=500, required=False, help_text="Where the colours come from.")


@login_required
@require_http_methods(["GET", "POST"])
@writer_required("moderate")
def gold_create(request):
    permissions.require_moderator(request.user)
    form = GoldForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        metadata = {k: data[k] for k in ("title", "year_from", "year_to", "place", "source_archive", "licence")}
        try:
            result = gold.gold_create(
                moderator=request.user,
                file=data["image"],
                filename=data["image"].name,
                metadata=metadata,
                note=data["note"],
            )
        except ImageRejected as exc:
            form.add_error("image", exc.message)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if result.created:
                messages.success(request, "The gold-standard photo is created; volunteers see it in greyscale.")
            else:
                messages.info(request, "This colour photograph is already a gold-standard photo.")
            return redirect(result.gold.photo)
    golds = (
        Photo.objects.filter(gold_standard__isnull=False)
        .select_related("gold_standard")
        .order_by("-gold_standard__created_at")[:50]
    )
    return render(request, "community/review/gold.html", {"form": form, "golds": golds})
