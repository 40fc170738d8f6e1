"""A volunteer sets a photo's overall colour from a reference photograph: the live preview's mean
colour moves towards the reference's, undo takes it back, and the submitted correction carries the
palette (not the file) as its global hint."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from colorization.models import DraftStatus
from colorization.services import photo_upload
from colorization.tasks import colorize_draft
from community.models import Correction
from tests import images
from tests.browser.conftest import log_in, screenshot
from tests.conftest import upload_file
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
REFERENCE_RGB = (40, 90, 200)  # a strong blue


def mean_rgb(page) -> list[float]:
    return page.evaluate(
        """() => {
            const canvas = document.getElementById("editor-canvas");
            const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const sum = [0, 0, 0]; let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] < 255) continue;
                sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; n += 1;
            }
            return sum.map((v) => v / n);
        }"""
    )


def blueness(rgb) -> float:
    r, g, b = rgb
    return b - (r + g) / 2


def previews(page) -> int:
    return int(page.locator("#editor").get_attribute("data-previews") or 0)


def wait_for_preview_after(page, count: int, timeout: float = 30) -> None:
    """Until a preview newer than the ``count``-th has arrived and none is in flight (polled from here:
    the site's Content-Security-Policy refuses the string predicates of ``page.wait_for_function``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if previews(page) > count and page.locator("#editor").get_attribute("data-preview-busy") == "false":
            return
        time.sleep(0.1)
    raise AssertionError(f"no new preview within {timeout} s")


def test_a_reference_photograph_sets_the_overall_colour(page, live_server, tmp_path, monkeypatch, tiny_base_model):
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)
    owner = UserFactory(username="archivist")
    UserFactory(username="volunteer")
    photo = photo_upload(
        owner=owner, file=upload_file(images.jpeg(320, 224, seed=4)), filename="street.jpg", metadata={"title": "Mill"}
    ).photo
    draft = photo.drafts.get()
    colorize_draft.apply(args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DONE

    reference = tmp_path / "blue-uniform.png"
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), REFERENCE_RGB).save(buffer, "PNG")
    reference.write_bytes(buffer.getvalue())

    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/?draft={draft.pk}")
    page.locator("#editor[data-ready=true]").wait_for()
    before = mean_rgb(page)
    assert page.locator("#global-use-reference").is_disabled()
    assert "never uploaded" in page.locator("#reference-privacy").inner_text()

    page.locator("#reference-file").set_input_files(str(reference))
    page.locator("#reference-canvas").wait_for(state="visible")
    count = previews(page)
    page.locator("#global-use-reference").click()
    wait_for_preview_after(page, count)
    after = mean_rgb(page)
    assert blueness(after) > blueness(before) + 8, (before, after)
    assert "from “blue-uniform.png”" in page.locator("#global-summary").inner_text()
    assert page.locator("#global-palette .palette-row").count() == 1  # one flat colour: one swatch
    screenshot(page, "editor-overall-colour")

    # Undo takes the overall colour back, and the preview with it.
    count = previews(page)
    page.locator("#undo").click()
    wait_for_preview_after(page, count)
    assert abs(blueness(mean_rgb(page)) - blueness(before)) < 3
    assert page.locator("#global-summary").get_attribute("data-state") == "none"
    page.locator("#redo").click()

    # Submitted, the correction stores the palette and where it came from; the file stays local.
    page.locator("#note").fill("The walls were painted blue; see the museum's colour plate.")
    page.locator("#submit-hints").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")
    correction = Correction.objects.get(photo=photo)
    given = correction.hints["global"]
    assert given["source"] == {"kind": "reference", "name": "blue-uniform.png"}
    assert len(given["palette"]) == 1 and given["palette"][0]["weight"] == 1
    r, g, b = (int(given["palette"][0]["color"][i : i + 2], 16) for i in (1, 3, 5))
    assert b > r + 60 and b > g + 40
