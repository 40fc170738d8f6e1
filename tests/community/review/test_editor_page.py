"""The correction editor page: who may open it, on what, and the config it hands the script."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from colorization.models import DraftPurpose
from colorization.tasks import colorize_draft
from community.review.corrections import correction_create
from tests import images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]
HINTS = {"points": [{"x": 30, "y": 20, "color": "#b03020", "size": 5}], "strokes": []}


def editor_url(base, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/photos/{base.photo_id}/edit/" + (f"?{query}" if query else "")


def config_of(response) -> dict:
    match = re.search(r'<script id="editor-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page has no editor config"
    return json.loads(match.group(1))


def test_anonymous_visitors_are_sent_to_log_in(client, draft):
    response = client.get(editor_url(draft, draft=draft.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_volunteer_gets_the_editor_with_the_drafts_render_settings(client, other_user, draft):
    client.force_login(other_user)
    response = client.get(editor_url(draft, draft=draft.pk))
    assert response.status_code == 200
    page = response.content.decode()
    for needle in ("js/editor.js", "css/editor.css", 'id="editor-canvas"', "Submit hints for review", draft.label):
        assert needle in page
    config = config_of(response)
    assert config["base_draft"] == draft.pk and config["base_correction"] is None
    assert config["photo"] == {"id": draft.photo_id, "width": 96, "height": 64, "title": "Tram on Main Street"}
    assert config["preview"] == {"model": "base", "render_size": 64, "saturation": 1.0, "size": 512}
    assert config["hints"] == {"points": [], "strokes": []}
    assert config["api"]["preview"] == f"/api/v1/photos/{draft.photo_id}/preview/"
    assert config["limits"]["point_sizes"] == [1, 9]


def test_without_a_draft_parameter_the_newest_finished_draft_is_corrected(client, other_user, draft):
    client.force_login(other_user)
    assert config_of(client.get(editor_url(draft)))["base_draft"] == draft.pk


def test_a_photo_without_a_finished_draft_explains_what_to_wait_for(client, other_user, draft):
    draft.photo.drafts.update(status="queued")
    client.force_login(other_user)
    response = client.get(editor_url(draft))
    assert response.status_code == 409
    assert "no finished AI draft yet" in response.content.decode()


def test_the_editor_opens_on_an_earlier_correction_with_its_hints(client, owner, other_user, draft):
    correction = correction_create(author=owner, photo=draft.photo, hints=HINTS, base_draft=draft, note="red")
    client.force_login(other_user)
    config = config_of(client.get(editor_url(draft, correction=correction.pk)))
    assert config["base_correction"] == correction.pk and config["base_draft"] is None
    assert config["hints"]["points"] == [{"x": 30.0, "y": 20.0, "color": "#b03020", "size": 5}]
    assert config["preview"]["render_size"] == draft.render_size
    assert config["base_image_url"] is None  # not rendered yet: the editor previews its hints


def test_a_model_that_is_gone_falls_back_to_the_photos_model(client, other_user, draft):
    draft.__class__.objects.filter(pk=draft.pk).update(model_slug="retired-model")
    client.force_login(other_user)
    assert config_of(client.get(editor_url(draft)))["preview"]["model"] is None


@pytest.mark.parametrize(("who", "status"), [("other", 404), ("owner", 200)])
def test_hidden_photos_open_only_for_those_who_see_them(client, owner, other_user, draft, who, status):
    draft.photo.hidden_at = timezone.now()
    draft.photo.save()
    client.force_login({"owner": owner, "other": other_user}[who])
    assert client.get(editor_url(draft, draft=draft.pk)).status_code == status


def test_hidden_corrections_are_not_a_base_for_others(client, owner, other_user, draft):
    correction = correction_create(author=owner, photo=draft.photo, hints=HINTS, base_draft=draft)
    correction.__class__.objects.filter(pk=correction.pk).update(hidden_at=timezone.now())
    client.force_login(other_user)
    assert client.get(editor_url(draft, correction=correction.pk)).status_code == 404
    client.force_login(owner)
    assert client.get(editor_url(draft, correction=correction.pk)).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["draft=abc", "draft=0", "draft=-1", "draft=99999", "correction=abc", "correction=99999", "draft=1.5"],
)
def test_bad_ids_are_404_not_500(client, other_user, draft, query):
    client.force_login(other_user)
    assert client.get(f"/photos/{draft.photo_id}/edit/?{query}").status_code == 404


def test_drafts_and_corrections_of_other_photos_or_renders_are_404(client, owner, other_user, draft, make_photo):
    other_photo = make_photo(owner, data=images.jpeg(80, 60, seed=9))
    other_draft = other_photo.drafts.get()
    colorize_draft.apply(args=[other_draft.pk])
    other_draft.refresh_from_db()
    correction = correction_create(author=owner, photo=other_photo, hints=HINTS, base_draft=other_draft)
    own = correction_create(author=owner, photo=draft.photo, hints=HINTS, base_draft=draft)
    assert own.render.purpose == DraftPurpose.CORRECTION
    client.force_login(other_user)
    assert client.get(editor_url(draft, draft=other_draft.pk)).status_code == 404
    assert client.get(editor_url(draft, correction=correction.pk)).status_code == 404
    assert client.get(editor_url(draft, draft=own.render_id)).status_code == 404  # a render is not a draft to fix
    assert client.get("/photos/99999/edit/").status_code == 404


def test_a_rendered_correction_offers_to_build_on_it_to_signed_in_people_only(client, owner, other_user, draft):
    correction = correction_create(author=owner, photo=draft.photo, hints=HINTS, base_draft=draft, note="red")
    link = f'href="/photos/{draft.photo_id}/edit/?correction={correction.pk}"'
    client.force_login(other_user)
    assert link not in client.get(f"/photos/{draft.photo_id}/").content.decode()  # not rendered yet
    colorize_draft.apply(args=[correction.render_id])
    assert link in client.get(f"/photos/{draft.photo_id}/").content.decode()
    assert client.get(editor_url(draft, correction=correction.pk)).status_code == 200
    client.logout()
    assert link not in client.get(f"/photos/{draft.photo_id}/").content.decode()
