"""A film clip's page (issue 19): play the colour clip, toggle to the original, step frames."""

from __future__ import annotations

import time

import pytest

from colorization.models import DraftStatus
from tests import videos
from tests.browser.conftest import render_now, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FRAMES = 48


def poll(page, script: str, until, timeout: float = 15.0):
    """Evaluate ``script`` until ``until(value)``: the CSP refuses wait_for_function with a string."""
    deadline = time.monotonic() + timeout
    value = page.evaluate(script)
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{script} stayed {value!r}")
        time.sleep(0.1)
        value = page.evaluate(script)
    return value


@pytest.fixture
def site_media(monkeypatch):
    """Media through the site's own signed view (``media_serve``, which answers Range requests, as
    players need to seek), not the test server's plain file handler that bypasses it."""
    from django.test.testcases import _MediaFilesHandler

    monkeypatch.setattr(_MediaFilesHandler, "_should_handle", lambda self, path: False)


def uploaded_clip(source, filename: str, title: str, content_type: str | None = None):
    """``source`` uploaded by the archivist and its draft rendered: (photo, draft), both fresh."""
    from colorization.services import photo_upload
    from tests.conftest import upload_file

    owner = UserFactory(username="archivist")
    photo = photo_upload(
        owner=owner,
        file=upload_file(source.read_bytes(), filename, *([content_type] if content_type else [])),
        filename=filename,
        metadata={"title": title},
    ).photo
    draft = photo.drafts.get()
    render_now(draft)
    draft.refresh_from_db()
    photo.refresh_from_db()
    assert draft.status == DraftStatus.DONE, draft.error
    return photo, draft


def test_the_colour_clip_plays_toggles_to_the_original_and_steps_frames(
    page, live_server, settings, media_in_tmp, site_media, tiny_base_model, no_drafts_sent, tmp_path
):
    settings.CHROMA_VIDEO_CHUNK_FRAMES = 16
    source = videos.make_clip(tmp_path / "harbour.mp4", width=160, height=96, frames=FRAMES, shots=[0, 24], audio="aac")
    photo, _ = uploaded_clip(source, "harbour.mp4", "Harbour, 1925", "video/mp4")

    errors = []
    page.on("console", lambda m: errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    label = page.locator("#clip-label")
    assert label.is_visible() and "AI" in label.inner_text()
    assert page.locator("#film-badge").inner_text() == "Film"
    assert page.locator("#shot-list > li").count() == 2
    assert page.locator("#shot-list .keyframe").first.inner_text() == "frame 1"

    # Play the colour clip: its time moves on, and the frame counter with it.
    colour_time = "document.getElementById('clip-colour').currentTime"
    page.click("#clip-play")
    poll(page, colour_time, lambda t: t > 0.3)
    assert page.evaluate("document.getElementById('clip-colour').paused") is False
    page.click("#clip-play")  # pause
    assert page.locator("#clip-play").inner_text() == "Play"
    assert page.locator("#clip-colour").is_visible() and not page.locator("#clip-original").is_visible()

    # Toggle to the original: the untouched film shows, the colour one hides.
    page.click("#clip-toggle")
    assert page.get_attribute("#clip-player", "data-mode") == "original"
    assert page.locator("#clip-original").is_visible() and not page.locator("#clip-colour").is_visible()
    assert page.locator("#clip-toggle").get_attribute("aria-pressed") == "true"
    assert "original" in page.locator("#clip-showing").inner_text()

    # Step frames: to a keyframe of the second shot, then one forward and one back.
    page.click("#shot-list .keyframe >> nth=1")
    poll(page, "document.getElementById('clip-player').dataset.frame", lambda f: f == "24")
    assert page.locator("#clip-frame").inner_text() == f"Frame 25 of {FRAMES}"
    page.click("#clip-next")
    poll(page, "document.getElementById('clip-player').dataset.frame", lambda f: f == "25")
    page.click("#clip-next")
    poll(page, "document.getElementById('clip-player').dataset.frame", lambda f: f == "26")
    page.click("#clip-prev")
    poll(page, "document.getElementById('clip-player').dataset.frame", lambda f: f == "25")
    assert page.locator("#clip-frame").inner_text() == f"Frame 26 of {FRAMES}"
    # The original follows the colour clip's clock.
    poll(page, "Math.abs(document.getElementById('clip-original').currentTime - 25.5 / 24)", lambda d: d < 0.03)

    # Back to colour, then the before/after split shows both, the colour clipped at the divider.
    page.click("#clip-toggle")
    page.check("#clip-split-on")
    assert page.get_attribute("#clip-player", "data-mode") == "split"
    assert page.locator("#clip-original").is_visible() and page.locator("#clip-colour").is_visible()
    page.locator("#clip-split").fill("30")
    assert (
        page.evaluate("getComputedStyle(document.getElementById('clip-player')).getPropertyValue('--position')").strip()
        == "30%"
    )
    assert errors == []
    screenshot(page, "clip-page")


def test_a_volunteer_corrects_a_keyframe_from_the_clip_page_in_the_editor(
    page, live_server, settings, media_in_tmp, site_media, tiny_base_model, no_drafts_sent, tmp_path
):
    from community.models import Correction
    from tests.browser.conftest import log_in
    from tests.browser.test_editor import canvas_rgb, redness

    UserFactory(username="volunteer")
    source = videos.make_clip(tmp_path / "harbour.mp4", width=160, height=96, frames=FRAMES, shots=[0, 24])
    photo, draft = uploaded_clip(source, "harbour.mp4", "Harbour, 1925", "video/mp4")

    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    page.locator("#keyframe-24").get_by_role("link", name="Correct this keyframe").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/edit/?draft={draft.pk}&frame=24")
    page.locator("#editor[data-ready=true]").wait_for()
    assert "Keyframe: frame 25" in page.locator("#editor-keyframe").inner_text()
    overlay = page.locator("#editor-overlay")
    box = overlay.bounding_box()
    spot = (box["width"] / 2, box["height"] / 2)
    # The keyframe's original still is what "Show original" shows: grey.
    page.locator("#toggle-original").click()
    r, g, b = canvas_rgb(page, *spot)
    assert max(r, g, b) - min(r, g, b) < 4 and max(r, g, b) > 10
    page.locator("#toggle-original").click()
    before = canvas_rgb(page, *spot)

    # One large red hint: the live preview of THAT frame turns red there.
    page.locator("#point-size").fill("9")
    overlay.click(position={"x": spot[0], "y": spot[1]})
    page.locator("#hint-color").fill("#d01818")
    page.locator("#editor[data-preview-points='1'][data-preview-busy=false]").wait_for(timeout=30_000)
    after = canvas_rgb(page, *spot)
    assert redness(after) > redness(before) + 20, (before, after)

    page.locator("#evidence-rows input[data-field=text]").first.fill("Harbour company colours, 1925")
    page.get_by_role("button", name="Submit hints for review").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")
    correction = Correction.objects.get()
    assert (correction.frame, correction.base_draft_id, correction.render.frame) == (24, draft.pk, 24)
    assert correction.author.username == "volunteer"
    # The clip page lists it under its keyframe.
    assert page.locator("#keyframe-24 .keyframe-corrections").get_by_role("link").inner_text() == (
        f"Correction {correction.pk}"
    )
    assert page.locator("#keyframe-0 .keyframe-corrections").count() == 0
    assert errors == []
    screenshot(page, "clip-keyframe-editor")


def test_an_original_browsers_cannot_play_is_shown_from_its_web_copy(
    page, live_server, settings, media_in_tmp, site_media, tiny_base_model, no_drafts_sent, tmp_path
):
    settings.CHROMA_VIDEO_CHUNK_FRAMES = 16
    source = videos.make_clip(tmp_path / "h.mov", fmt="mov", codec="prores_ks", pix_fmt="yuv422p10le", frames=24)
    photo, _ = uploaded_clip(source, "h.mov", "ProRes")
    assert photo.web_video.name.startswith("web/")

    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    assert "H.264 copy" in page.locator("#clip-web-copy").inner_text()
    page.click("#clip-toggle")
    original = "document.getElementById('clip-original')"
    # Chromium decodes it (it could not decode ProRes): pictures of the clip's size, and it seeks.
    poll(page, f"{original}.readyState", lambda state: state >= 2)
    assert page.evaluate(f"[{original}.videoWidth, {original}.videoHeight]") == [96, 64]
    assert "/web/" in page.evaluate(f"{original}.currentSrc")
    page.click("#clip-next")
    poll(page, "document.getElementById('clip-player').dataset.frame", lambda f: f == "1")
    assert page.evaluate(f"{original}.error") is None
    # The download link still serves the untouched original.
    assert page.get_attribute("#download-original", "href") == f"/photos/{photo.pk}/download/original"
