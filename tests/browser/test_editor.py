"""A volunteer corrects a draft in the editor: two hints, a live preview that changes colour
where they are (read from the canvas's pixels), a note and evidence, and the correction on
the photo page once a real worker has rendered it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorization.models import Draft, DraftPurpose, DraftStatus
from colorization.services import photo_upload
from community.models import Correction
from tests import images
from tests.browser.conftest import image_loaded, log_in, screenshot
from tests.conftest import reset_broker_pool, upload_file
from tests.factories import UserFactory
from tests.workers import Workers, worker_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SHARED_BW = Path(__file__).resolve().parents[3] / "shared" / "data" / "bw"
RED, BLUE = "#d01818", "#1838d0"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def canvas_rgb(page, x: float, y: float) -> tuple[float, float, float]:
    """The mean colour of the 3×3 CSS pixels around (x, y) of the picture canvas (no hint markers on it)."""
    return tuple(
        page.evaluate(
            """([x, y]) => {
                const canvas = document.getElementById("editor-canvas");
                const ratio = canvas.width / canvas.getBoundingClientRect().width;
                const [x0, y0, n] = [(x - 1) * ratio, (y - 1) * ratio, 3 * ratio].map(Math.round);
                const d = canvas.getContext("2d").getImageData(x0, y0, n, n).data;
                const sum = [0, 0, 0];
                for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
                return sum.map((v) => (v * 4) / d.length);
            }""",
            [x, y],
        )
    )


def mid_tone_spots(page, box) -> list[tuple[float, float]]:
    """One spot in each half of the picture where the photograph is mid-grey and flat, so a hint's
    chroma can show (near white or black there is little room for colour)."""
    candidates = []
    for i in range(4, 17):
        for j in range(3, 10):
            x, y = box["width"] * i / 20, box["height"] * j / 12
            r, g, b = canvas_rgb(page, x, y)
            luma = 0.3 * r + 0.59 * g + 0.11 * b
            candidates.append((abs(luma - 120), x, y))
    left = min(c for c in candidates if c[1] < box["width"] * 0.45)
    right = min(c for c in candidates if c[1] > box["width"] * 0.55)
    return [(left[1], left[2]), (right[1], right[2])]


def redness(rgb) -> float:
    r, g, b = rgb
    return r - (g + b) / 2


def blueness(rgb) -> float:
    r, g, b = rgb
    return b - (r + g) / 2


def test_a_volunteer_places_two_hints_sees_the_preview_and_submits_with_evidence(
    page, live_server, tmp_path, settings, media_in_tmp, isolated_broker, tiny_model_file
):
    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 224
    reset_broker_pool()
    owner = UserFactory(username="archivist")
    UserFactory(username="volunteer")
    source = SHARED_BW / "Detroit_circa_1915.jpg"
    data = source.read_bytes() if source.exists() else images.jpeg(800, 560, seed=3)
    photo = photo_upload(
        owner=owner, file=upload_file(data), filename="street.jpg", metadata={"title": "Woodward Avenue"}
    ).photo

    workers = Workers(worker_env(media_in_tmp, isolated_broker, tiny_model_file), tmp_path)
    workers.start()
    try:
        draft = wait_for(
            lambda: Draft.objects.filter(photo=photo, status=DraftStatus.DONE).first(), 90, "the first draft"
        )

        log_in(page, live_server, "volunteer", "a-long-test-password")
        page.goto(f"{live_server.url}/photos/{photo.pk}/")
        page.get_by_role("link", name="Correct the colours").click()
        page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/edit/?draft={draft.pk}")
        page.locator("#editor[data-ready=true]").wait_for()
        overlay = page.locator("#editor-overlay")
        box = overlay.bounding_box()
        page.locator("#toggle-original").click()
        spots = mid_tone_spots(page, box)
        page.locator("#toggle-original").click()
        before = [canvas_rgb(page, x, y) for x, y in spots]

        # Two hints: the largest size, a click on the photograph, then its colour from the picker.
        page.locator("#point-size").fill("9")
        for (x, y), colour in zip(spots, (RED, BLUE), strict=True):
            overlay.click(position={"x": x, "y": y})
            page.locator("#hint-color").fill(colour)
        assert page.locator("#hint-list .hint-row").count() == 2
        page.locator("#editor[data-preview-points='2'][data-preview-busy=false]").wait_for(timeout=30_000)
        after = [canvas_rgb(page, x, y) for x, y in spots]
        assert redness(after[0]) > redness(before[0]) + 25, (before[0], after[0])
        assert blueness(after[1]) > blueness(before[1]) + 25, (before[1], after[1])
        assert "AI-colorized · model base vtest" in page.locator("#colour-label").inner_text()
        assert page.locator("#suggestions .swatch").count() >= 1  # the palette at the last hint
        screenshot(page, "editor-with-two-hints")

        page.locator("#note").fill("The awnings were red and the tram blue.")
        page.locator("#evidence-rows input[data-field=text]").first.fill("Detroit United Railway livery, 1915")
        page.locator("#evidence-rows input[data-field=url]").first.fill("https://example.org/dur-livery")
        page.get_by_role("button", name="Submit hints for review").click()
        page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")

        correction = Correction.objects.get()
        assert correction.author.username == "volunteer"
        assert correction.base_draft_id == draft.pk
        assert [p["color"] for p in correction.hints["points"]] == [RED, BLUE]
        assert [e.url for e in correction.evidence.all()] == ["https://example.org/dur-livery"]
        wait_for(
            lambda: Draft.objects.filter(pk=correction.render_id, status=DraftStatus.DONE).exists(),
            90,
            "the worker to render the correction",
        )
    finally:
        workers.stop_all()
    assert Draft.objects.get(pk=correction.render_id).purpose == DraftPurpose.CORRECTION

    page.reload()
    item = page.locator(f".correction-item[data-correction='{correction.pk}']")
    assert "The awnings were red and the tram blue." in item.inner_text()
    assert item.get_by_role("link", name="https://example.org/dur-livery").count() == 1
    after_image = item.get_by_alt_text(f"After: correction {correction.pk} (AI-colorized with hints)")
    assert image_loaded(after_image)
    screenshot(page, "photo-page-with-correction")


def test_the_editor_keeps_the_work_when_the_server_refuses_and_undo_redo_work(
    page, live_server, settings, tiny_model_file, owner
):
    """Keyboard placement, undo/redo and a refused submission that loses nothing (no worker needed)."""
    from colorization.tasks import colorize_draft

    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    UserFactory(username="volunteer")
    photo = photo_upload(
        owner=owner, file=upload_file(images.jpeg(300, 200, seed=4)), filename="p.jpg", metadata={"title": "Mill"}
    ).photo
    draft = photo.drafts.get()
    colorize_draft.apply(args=[draft.pk])

    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/?draft={draft.pk}")
    page.locator("#editor[data-ready=true]").wait_for()
    overlay = page.locator("#editor-overlay")
    overlay.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # a hint at the crosshair
    assert page.locator("#hint-list .hint-row").count() == 1
    page.keyboard.press("Delete")
    assert page.locator("#hint-list .hint-row").count() == 0
    page.keyboard.press("z")  # undo the delete
    assert page.locator("#hint-list .hint-row").count() == 1
    page.keyboard.press("Shift+Z")  # redo it
    assert page.locator("#hint-list .hint-row").count() == 0
    page.keyboard.press("z")

    # A brush stroke, then the eraser across its middle cuts it in two.
    page.keyboard.press("b")
    box = overlay.bounding_box()
    y = box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + y, steps=12)
    page.mouse.up()
    assert page.locator("#hint-list .hint-row").count() == 2
    page.keyboard.press("e")
    page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + y - 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + y + 20, steps=6)
    page.mouse.up()
    assert page.locator("#hint-list .hint-row").count() == 3  # one hint, two pieces of the stroke

    # Drag the hint to move it (one undo step); clear all, and undo that.
    page.keyboard.press("h")
    hint = page.locator("#hint-list .hint-name").first
    x0, y0 = map(int, re.search(r"at \((\d+), (\d+)\)", hint.inner_text()).groups())
    scale = min(box["width"] / 300, box["height"] / 200)
    left, top = box["x"] + (box["width"] - 300 * scale) / 2, box["y"] + (box["height"] - 200 * scale) / 2
    page.mouse.move(left + (x0 + 0.5) * scale, top + (y0 + 0.5) * scale)
    page.mouse.down()
    page.mouse.move(left + (x0 + 20.5) * scale, top + (y0 + 10.5) * scale, steps=5)
    page.mouse.up()
    assert f"at ({x0 + 20}, {y0 + 10})" in hint.inner_text()
    page.keyboard.press("z")
    assert f"at ({x0}, {y0})" in page.locator("#hint-list .hint-name").first.inner_text()
    page.keyboard.press("Shift+Z")
    page.get_by_role("button", name="Clear all hints").click()
    assert page.locator("#hint-list .hint-row").count() == 0
    page.keyboard.press("z")
    assert page.locator("#hint-list .hint-row").count() == 3

    # Evidence with a link but no text: refused with the reason, the note and hints kept.
    page.locator("#note").fill("Brick was red")
    page.locator("#evidence-rows input[data-field=url]").first.fill("https://example.org/mill")
    page.get_by_role("button", name="Submit hints for review").click()
    error = page.locator("#evidence-rows .evidence-row-error")  # next to its row, in plain words
    error.wait_for()
    assert "Say what the source shows" in error.inner_text()
    assert page.locator("#evidence-rows input[data-field=url]").first.get_attribute("aria-invalid") == "true"
    assert page.locator("#note").input_value() == "Brick was red"
    assert page.locator("#hint-list .hint-row").count() == 3
    assert Correction.objects.count() == 0
    screenshot(page, "editor-refused-submission")


def test_palette_reference_image_view_controls_and_a_manual_colorization(
    page, live_server, tmp_path, settings, tiny_model_file, owner
):
    """Suggested colours, picking from a local reference image, zoom, the before/after slider, and
    uploading a manual colorization from the same form: first one that does not match, then one that does."""
    from colorization.tasks import colorize_draft

    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    UserFactory(username="volunteer")
    colour = images.colour_photo(240, 160, seed=2)
    photo = photo_upload(
        owner=owner,
        file=upload_file(images.encode(images.luminance_of(colour), "PNG"), "market.png", "image/png"),
        filename="market.png",
        metadata={"title": "Market"},
    ).photo
    colorize_draft.apply(args=[photo.drafts.get().pk])

    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/")
    page.locator("#editor[data-ready=true]").wait_for()
    overlay = page.locator("#editor-overlay")
    box = overlay.bounding_box()

    # The slider at 0 shows the original: grey pixels on the canvas; at 100 the draft's colours.
    page.locator("#compare-range").fill("0")
    r, g, b = canvas_rgb(page, box["width"] / 2, box["height"] / 2)
    assert max(r, g, b) - min(r, g, b) <= 3
    assert page.locator("#compare-range").get_attribute("aria-valuetext") == "original everywhere"
    page.locator("#compare-range").fill("100")

    # The eyedropper takes the colour shown under the pointer.
    page.keyboard.press("i")
    spot = (box["width"] * 0.6, box["height"] * 0.4)
    overlay.click(position={"x": spot[0], "y": spot[1]})
    picked = page.locator("#hint-color").input_value()
    shown = canvas_rgb(page, *spot)
    assert max(abs(int(picked[1 + 2 * i : 3 + 2 * i], 16) - shown[i]) for i in range(3)) <= 24, (picked, shown)
    page.keyboard.press("h")

    # Zoom in and back to fit.
    page.locator("#zoom-in").click()
    assert page.locator("#zoom-value").inner_text() == "125%"
    page.keyboard.press("0")
    assert page.locator("#zoom-value").inner_text() == "100%"

    # A hint, then a suggested colour for it.
    overlay.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.5})
    swatch = page.locator("#suggestions .swatch").first
    swatch.wait_for()
    suggested = swatch.get_attribute("data-colour")
    swatch.click()
    assert page.locator("#hint-list input[type=color]").first.input_value() == suggested

    # A reference image from the volunteer's computer: clicking it picks its colour.
    reference = tmp_path / "uniform.png"
    Image.new("RGB", (60, 40), (32, 96, 160)).save(reference)
    page.set_input_files("#reference-file", str(reference))
    canvas = page.locator("#reference-canvas")
    canvas.wait_for()
    canvas.click()
    assert page.locator("#hint-color").input_value() == "#2060a0"
    assert page.locator("#hint-list input[type=color]").first.input_value() == "#2060a0"

    # On a phone the editor stacks its panels and nothing overflows sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    screenshot(page, "editor-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A manual colorization that is brighter than the original is refused, with the reason.
    page.locator("#note").fill("Painted from the 1912 catalogue")
    page.locator("#evidence-rows input[data-field=text]").first.fill("Catalogue plate 4")
    page.locator("#evidence-rows input[data-field=archive_reference]").first.fill("NYPL b123")
    brighter = tmp_path / "brighter.jpg"
    Image.fromarray(np.clip(np.asarray(colour).astype(int) + 40, 0, 255).astype(np.uint8)).save(brighter, quality=92)
    page.set_input_files("#manual-file", str(brighter))
    page.get_by_role("button", name="Upload manual colorization").click()
    page.locator("#image-error").wait_for()
    assert "lightness differs" in page.locator("#image-error").inner_text()
    assert Correction.objects.count() == 0

    matching = tmp_path / "colour.jpg"
    colour.save(matching, quality=92)
    page.set_input_files("#manual-file", str(matching))
    page.get_by_role("button", name="Upload manual colorization").click()
    page.wait_for_url(f"{live_server.url}/photos/{photo.pk}/#corrections")
    correction = Correction.objects.get()
    assert correction.kind == "manual" and correction.author.username == "volunteer"
    assert [e.archive_reference for e in correction.evidence.all()] == ["NYPL b123"]
    assert (
        "Painted from the 1912 catalogue"
        in page.locator(f".correction-item[data-correction='{correction.pk}']").inner_text()
    )


SLOW_PREVIEWS = """
// Previews take a second here, so a newer edit always finds one in flight; record what happens to each.
window.__previews = [];
const realFetch = window.fetch;
window.fetch = (url, init = {}) => {
  if (!String(url).includes("/preview/")) return realFetch(url, init);
  const record = { points: JSON.parse(init.body).hints.points.length, aborted: false, done: false };
  window.__previews.push(record);
  init.signal?.addEventListener("abort", () => (record.aborted = true));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => realFetch(url, init).then((r) => { record.done = true; resolve(r); }, reject), 1000);
    init.signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    });
  });
};
"""


def test_a_newer_edit_cancels_the_preview_in_flight(page, live_server, settings, tiny_model_file, owner):
    from colorization.tasks import colorize_draft

    settings.CHROMA_BASE_MODEL_PATH = str(tiny_model_file)
    settings.CHROMA_DEFAULT_RENDER_SIZE = 128
    UserFactory(username="volunteer")
    photo = photo_upload(
        owner=owner, file=upload_file(images.jpeg(300, 200, seed=6)), filename="p.jpg", metadata={"title": "Pier"}
    ).photo
    colorize_draft.apply(args=[photo.drafts.get().pk])
    log_in(page, live_server, "volunteer", "a-long-test-password")
    page.add_init_script(SLOW_PREVIEWS)
    page.goto(f"{live_server.url}/photos/{photo.pk}/edit/")
    page.locator("#editor[data-ready=true]").wait_for()
    overlay = page.locator("#editor-overlay")
    box = overlay.bounding_box()

    overlay.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.5})
    # The first preview is in flight (polled from here: the site's Content-Security-Policy refuses
    # the string predicates of page.wait_for_function).
    deadline = time.monotonic() + 30
    while page.evaluate("window.__previews.length") < 1:
        assert time.monotonic() < deadline, "no preview started"
        time.sleep(0.05)
    overlay.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.5})
    page.locator("#editor[data-preview-points='2']").wait_for()
    previews = page.evaluate("window.__previews")
    assert previews[0] == {"points": 1, "aborted": True, "done": False}
    assert previews[-1] == {"points": 2, "aborted": False, "done": True}
    assert page.locator("#editor").get_attribute("data-previews") == "1"  # the stale one was never shown
