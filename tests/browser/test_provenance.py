"""Evidence per colour in the browser: a volunteer ticks two hints, cites a source for them, and after
acceptance the photo page shows the documented share."""

from __future__ import annotations

import re

import pytest

from colorization.services import photo_upload
from colorization.tasks import colorize_draft
from community.models import Correction
from community.review import decisions
from tests import images
from tests.browser.conftest import image_loaded, log_in, screenshot
from tests.community.conftest import person
from tests.conftest import upload_file

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_volunteer_cites_a_source_for_two_hints_and_the_photo_page_shows_the_documented_share(
    page, live_server, settings, tiny_model_file, owner
):
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    volunteer = person("volunteer")
    volunteer.set_password("a-long-test-password")
    volunteer.save()
    moderator = person("mod", role="moderator")
    photo = photo_upload(
        owner=owner, file=upload_file(images.jpeg(300, 200, seed=6)), filename="p.jpg", metadata={"title": "Pier"}
    ).photo
    colorize_draft.apply(args=[photo.drafts.get().pk])

    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/")
    page.locator("#editor[data-ready=true]").wait_for()
    overlay = page.locator("#editor-overlay")
    box = overlay.bounding_box()
    page.locator("#point-size").fill("9")
    for fx, colour in ((0.25, "#d01818"), (0.5, "#d01818"), (0.75, "#1838d0")):
        overlay.click(position={"x": box["width"] * fx, "y": box["height"] * 0.5})
        page.locator("#hint-color").fill(colour)
    assert page.locator("#hint-list .hint-row").count() == 3

    # Tick the first two hints, then cite the source for them.
    page.get_by_label("Select Hint 1 to cite a source for it").check()
    page.get_by_label("Select Hint 2 to cite a source for it").check()
    row = page.locator("#evidence-rows .evidence-row").first
    row.locator("input[data-field=text]").fill("Harbour board minutes, 1921: the pier's rails were painted red")
    row.get_by_role("button", name="Cite for selected hints").click()
    assert row.locator("[data-supports]").inner_text() == "Supports: Hint 1, Hint 2."
    screenshot(page, "editor-cite-for-selected")
    page.locator("#note").fill("Red rails, blue boat")
    page.get_by_role("button", name="Submit hints for review").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")

    correction = Correction.objects.get()
    source = correction.evidence.get()
    assert source.hints == ["points/0", "points/1"]
    colorize_draft.apply(args=[correction.render_id])  # the worker's render, in this process
    decisions.correction_decide(correction_id=correction.pk, moderator=moderator, decision="accept", reason="ok")

    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    share = page.locator("#photo-provenance .provenance-share").inner_text()
    match = re.search(r"documented (\d+) % · volunteer-inferred (\d+) % · model (\d+) %", share)
    assert match, share
    documented, inferred, model = map(int, match.groups())
    assert documented > 0 and inferred > 0 and documented > inferred  # two cited hints, one uncited
    assert abs(documented + inferred + model - 100) <= 2
    page.locator("#photo-provenance summary").click()
    # A lazy image starts loading once its <details> opens: poll for it (the CSP refuses wait_for_function).
    overlay = page.locator("#photo-provenance img.overlay")
    assert image_loaded(overlay), "the overlay did not load"
    screenshot(page, "photo-page-colour-provenance")


def test_the_overall_colour_can_be_cited_like_a_hint(page, live_server, settings, tiny_model_file, owner):
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    volunteer = person("volunteer")
    volunteer.set_password("a-long-test-password")
    volunteer.save()
    photo = photo_upload(
        owner=owner, file=upload_file(images.jpeg(300, 200, seed=6)), filename="p.jpg", metadata={"title": "Pier"}
    ).photo
    colorize_draft.apply(args=[photo.drafts.get().pk])

    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/")
    page.locator("#editor[data-ready=true]").wait_for()
    cite = page.get_by_label("Select the overall colour to cite a source for it")
    assert cite.is_disabled()  # nothing to cite yet
    overlay = page.locator("#editor-overlay")
    box = overlay.bounding_box()
    overlay.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    page.locator("#global-use-tint").click()
    assert cite.is_enabled()
    cite.check()
    row = page.locator("#evidence-rows .evidence-row").first
    row.locator("input[data-field=text]").fill("Hand-coloured postcard of the pier, 1925: warm evening light")
    row.get_by_role("button", name="Cite for selected hints").click()
    assert row.locator("[data-supports]").inner_text() == "Supports: the overall colour."
    page.locator("#note").fill("Evening light")
    page.get_by_role("button", name="Submit hints for review").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")
    correction = Correction.objects.get()
    assert correction.hints.get("global") and correction.evidence.get().hints == ["global"]
