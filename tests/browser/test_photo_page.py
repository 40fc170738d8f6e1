"""A volunteer uploads a photo, watches its draft's progress, and compares original and colour."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorization.models import Draft, DraftStatus
from tests import images
from tests.browser.conftest import image_loaded, log_in, screenshot
from tests.conftest import reset_broker_pool
from tests.factories import UserFactory
from tests.workers import Workers, worker_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SHARED_BW = Path(__file__).resolve().parents[3] / "shared" / "data" / "bw"


def test_the_draft_appears_without_a_reload_and_the_slider_reveals_it(
    page, live_server, tmp_path, settings, media_in_tmp, isolated_broker, tiny_model_file
):
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 256
    reset_broker_pool()
    UserFactory(username="volunteer")
    photo_file = SHARED_BW / "Detroit_circa_1915.jpg"
    if not photo_file.exists():
        photo_file = tmp_path / "street.jpg"
        photo_file.write_bytes(images.jpeg(400, 300, seed=1))
    log_in(page, live_server, "volunteer", "a-long-test-password")

    # Upload with no worker running: the draft waits in the queue.
    page.goto(f"{live_server.url}/upload/")
    page.set_input_files("input[type=file]", [str(photo_file)])
    page.click("#upload-button")
    page.locator(".file-status.is-done a").click()
    page.wait_for_url(f"{live_server.url}/photos/*/")
    bar = page.locator(".draft-card [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "0"
    assert "waiting for a worker" in page.locator(".draft-stage").inner_text().lower()
    assert page.locator("#colour-layer").is_hidden()
    page.evaluate("window.__sameDocument = true")

    workers = Workers(worker_env(media_in_tmp, isolated_broker, tiny_model_file), tmp_path)
    workers.start()
    try:
        page.locator(".draft-card[data-status=done] img").wait_for(timeout=90_000)
    finally:
        workers.stop_all()
    assert page.evaluate("window.__sameDocument") is True  # the page was not reloaded
    assert Draft.objects.get().status == DraftStatus.DONE

    colour = page.locator("#colour-layer")
    colour.wait_for(state="visible")
    assert image_loaded(colour)
    label = page.locator("#colour-label").inner_text()
    assert label.startswith("AI-colorized · model base vtest")

    # The slider moves the boundary: at 0 the original shows everywhere, at 100 the colour.
    slider = page.locator("#compare-range")
    slider.fill("0")
    assert page.locator(".compare").evaluate("el => el.style.getPropertyValue('--position')") == "0%"
    slider.fill("100")
    assert slider.get_attribute("aria-valuetext") == "100% colour shown"
    slider.fill("60")
    screenshot(page, "photo-page-with-draft")
