"""The public browses: filter the gallery by decade and genre, open a photo, compare, zoom, download."""

from __future__ import annotations

import pytest

from colorization.engine.imageio import DIGITAL_SOURCE_TYPE, read_disclosure
from colorization.tasks import colorize_draft
from tests import images
from tests.browser.conftest import screenshot
from tests.community.gallery.helpers import finish_drafts
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_filter_open_compare_zoom_and_download_the_colour_version(
    page, live_server, make_photo, tiny_base_model, monkeypatch, tmp_path
):
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)
    owner = UserFactory(username="archivist")
    rows = [
        ("Newsboys on Woodward Avenue", "street", 1912, 3),
        ("Harbour cranes", "industry", 1913, 4),
        ("Market square", "street", 1936, 5),
    ]
    photos = {}
    for title, genre, year, seed in rows:
        photos[title] = make_photo(
            owner,
            title=title,
            genre=genre,
            year_from=year,
            year_to=year,
            place="Detroit",
            data=images.jpeg(160, 120, seed=seed),
            source_archive="Library of Congress",
        )
        finish_drafts(photos[title])

    page.goto(f"{live_server.url}/gallery/")
    assert page.locator(".gallery-card").count() == 3
    page.select_option("#decade", "1910")
    page.select_option("#genre", "street")
    page.click("#gallery-filters button[type=submit]")
    page.wait_for_url("**/gallery/?*decade=1910*")
    assert "genre=street" in page.url
    cards = page.locator(".gallery-card")
    assert cards.count() == 1
    assert "Newsboys on Woodward Avenue" in cards.first.inner_text()
    # One version line, the AI label, smaller than the title (no pill saying it again).
    line = cards.first.locator("[data-version-line]")
    assert line.count() == 1 and "AI-colorized · model base" in line.inner_text()
    assert cards.first.locator(".version-tag").count() == 0
    size = "(el) => parseFloat(getComputedStyle(el).fontSize)"
    assert line.evaluate(size) < cards.first.locator(".card-title").evaluate(size)
    screenshot(page, "gallery-filtered")

    cards.first.locator("a").first.click()
    page.wait_for_url(f"**/photos/{photos['Newsboys on Woodward Avenue'].pk}/")
    assert "AI-colorized · model base" in page.locator("#colour-label").inner_text()

    slider = page.locator("#compare-range")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowLeft")
    position = page.locator(".compare").evaluate("el => el.style.getPropertyValue('--position')")
    assert position == "47%"
    slider.fill("20")
    slider.dispatch_event("input")
    assert page.locator(".compare").evaluate("el => el.style.getPropertyValue('--position')") == "20%"
    assert slider.get_attribute("aria-valuetext") == "20% colour shown"

    page.click("#zoom-in")
    assert page.locator("#compare-viewport").get_attribute("data-zoom") == "1.50"
    assert page.locator("#zoom-level").inner_text() == "150%"
    page.click("#zoom-reset")
    assert page.locator("#compare-viewport").get_attribute("data-zoom") == "1.00"
    screenshot(page, "photo-page")

    for button, fmt in (("#download-colour-png", "PNG"), ("#download-colour-jpg", "JPEG")):
        with page.expect_download() as info:
            page.click(button)
        download = info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert "ai-colorized" in download.suggested_filename
        disclosure = read_disclosure(path)
        assert disclosure["digital_source_type"] == DIGITAL_SOURCE_TYPE, fmt
        assert disclosure["original_sha256"] == photos["Newsboys on Woodward Avenue"].original_sha256
        assert "colours are an estimate" in disclosure["description"].lower() or disclosure["model"] == "base"
