"""Model registry pages: /models/, /models/<slug>/, /training-runs/, /training-runs/<id>/, and the photo
page's "re-colorize with the newest model"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from colorization import charts, finetuning, model_registry, services
from colorization.access import writer_required
from colorization.model_registry import UnknownModel
from colorization.models import ColorModel, ModelStatus, Photo, TrainingRun
from colorization.ratelimit import RateLimited

HINTS = ("0", "10", "50")


def _metric_rows(metrics: dict) -> list[dict]:
    """[{k, parent, candidate, delta, parent_colour, candidate_colour}] from a model's or run's metrics."""
    parent, candidate = metrics.get("parent") or {}, metrics.get("candidate") or {}
    rows = []
    for k in HINTS:
        if k in parent and k in candidate:
            p, c = parent[k], candidate[k]
            rows.append(
                {
                    "k": k,
                    "parent": p["psnr"],
                    "candidate": c["psnr"],
                    "delta": c["psnr"] - p["psnr"],
                    "parent_colour": p.get("colourfulness_ratio"),
                    "candidate_colour": c.get("colourfulness_ratio"),
                    "parent_ciede": p.get("ciede2000"),
                    "candidate_ciede": c.get("ciede2000"),
                }
            )
    return rows


def _run_metrics(run: TrainingRun) -> dict:
    m = run.metrics or {}
    if "parent" not in m:
        return {}
    return {"parent": m["parent"].get("hints", {}), "candidate": m["candidate"].get("hints", {})}


def _charts(rows: list[dict], curve: list, parent_label: str) -> dict:
    out = {}
    if rows:
        out["psnr"] = charts.paired_bars(
            [(f"{r['k']} hints", r["parent"], r["candidate"]) for r in rows],
            title="Holdout PSNR, parent vs candidate",
            series=(f"parent ({parent_label})", "candidate"),
        )
        colour = [(f"{r['k']} hints", r["parent_colour"], r["candidate_colour"]) for r in rows if r["parent_colour"]]
        out["colour"] = charts.paired_bars(
            colour,
            title="Colourfulness ratio (1.0 = as colourful as the truth)",
            series=("parent", "candidate"),
            unit="",
        )
    if curve:
        out["loss"] = charts.line_chart(
            [(c[0], c[2]) for c in curve], title="Training loss", x_label="step", y_label="loss"
        )
    return out


def model_list(request):
    model_registry.ensure_base_registered()
    models = ColorModel.objects.select_related("parent").order_by("genre", "era", "-version")
    active = [m for m in models if m.status == ModelStatus.ACTIVE]
    runs = TrainingRun.objects.select_related("candidate", "parent")[:10]
    return render(
        request,
        "colorization/models/list.html",
        {
            "active": active,
            "models": models,
            "revoked": finetuning.models_trained_on_revoked(models),
            "runs": runs,
            "buckets": finetuning.buckets_overview(),
        },
    )


def model_detail(request, slug: str):
    model = get_object_or_404(ColorModel.objects.select_related("parent"), slug=slug)
    run = TrainingRun.objects.filter(candidate=model).first()
    rows = _metric_rows(model.metrics)
    bucket_runs = TrainingRun.objects.filter(genre=model.genre, era=model.era).select_related("candidate")[:20]
    parent_slug = (model.metrics.get("parent") or {}).get("slug") or (model.parent.slug if model.parent else "")
    return render(
        request,
        "colorization/models/detail.html",
        {
            "model": model,
            "lineage": model.lineage(),
            "run": run,
            "rows": rows,
            "charts": _charts(rows, run.loss_curve if run else [], parent_slug),
            "bucket_runs": bucket_runs,
            "contributors": finetuning.contributors(model),
            "revoked_examples": finetuning.models_trained_on_revoked([model]).get(model.pk, []),
            "samples": [
                {
                    **s,
                    "parent_url": default_storage.url(s["parent"]),
                    "candidate_url": default_storage.url(s["candidate"]),
                }
                for s in model.samples
                if s.get("parent") and s.get("candidate")
            ],
            "children": model.children.order_by("-created_at")[:20],
            "can_roll_back": request.user.is_staff and model.status == ModelStatus.ACTIVE and not model.is_base,
        },
    )


@staff_member_required
@require_http_methods(["POST"])
def model_rollback(request, slug: str):
    model = get_object_or_404(ColorModel, slug=slug, status=ModelStatus.ACTIVE)
    try:
        retired, restored = model_registry.model_rollback(model.genre, model.era)
    except (ValueError, UnknownModel) as exc:
        messages.error(request, str(exc))
        return redirect(model)
    messages.success(
        request,
        f"Rolled back: {retired.slug} is retired; "
        + (f"{restored.slug} is active again." if restored else "the bucket now uses its parent buckets' model."),
    )
    return redirect(restored or retired)


def run_list(request):
    runs = TrainingRun.objects.select_related("candidate", "parent")
    status = request.GET.get("status", "")
    if status:
        runs = runs.filter(status=status)
    page = Paginator(runs, 30).get_page(request.GET.get("page"))
    return render(request, "colorization/models/runs.html", {"page": page, "status": status})


def run_detail(request, pk: int):
    run = get_object_or_404(TrainingRun.objects.select_related("candidate", "parent"), pk=pk)
    rows = _metric_rows(_run_metrics(run))
    return render(
        request,
        "colorization/models/run_detail.html",
        {
            "run": run,
            "rows": rows,
            "charts": _charts(rows, run.loss_curve, run.parent.slug if run.parent else "parent"),
            "contributors": finetuning.contributors(run.candidate) if run.candidate else [],
        },
    )


@login_required
@require_http_methods(["POST"])
@writer_required("ask for drafts")
def photo_recolorize(request, pk: int):
    """The photo page's "re-colorize with the newest model": a draft with the model routing picks now."""
    photo = Photo.objects.visible_to(request.user).filter(pk=pk).first()
    if photo is None:
        raise Http404("No such photo.")
    try:
        draft = services.draft_ask(photo=photo, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except RateLimited as exc:
        from colorization.views import rate_limited_page

        return rate_limited_page(request, exc, photo.get_absolute_url())
    else:
        messages.success(request, f"A new draft with model {draft.model_slug} v{draft.model_version} is on its way.")
    return redirect(photo)
