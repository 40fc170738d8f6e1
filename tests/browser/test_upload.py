"""A volunteer uploads two photographs by drag and drop and finds them in the gallery."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from colorization.models import Photo
from tests import images
from tests.browser.conftest import image_loaded, log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHARED_BW = Path(__file__).resolve().parents[3] / "shared" / "data" / "bw"


def demo_files(tmp_path) -> list[Path]:
    if SHARED_BW.is_dir():
        return sorted(SHARED_BW.glob("*.jpg"))[:2]
    paths = []
    for n in range(2):
        path = tmp_path / f"street_{n}.jpg"
        path.write_bytes(images.jpeg(320, 240, seed=n))
        paths.append(path)
    return paths


def test_a_volunteer_uploads_two_photos_and_sees_them(page, live_server, tmp_path):
    UserFactory(username="volunteer")
    files = demo_files(tmp_path)
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(images.html_file())
    log_in(page, live_server, "volunteer", "a-long-test-password")

    page.goto(f"{live_server.url}/upload/")
    page.select_option("#id_genre", "street")
    page.fill("#id_year_from", "1936")
    page.set_input_files("input[type=file]", [str(p) for p in files] + [str(bad)])
    assert page.locator(".file-item").count() == 3
    page.click("#upload-button")
    page.locator(".file-status.is-done").nth(1).wait_for()
    page.locator(".file-status.is-error").wait_for()
    assert "not an image" in page.locator(".file-status.is-error").inner_text()
    progress = page.locator(".file-item progress")
    assert [progress.nth(i).get_attribute("value") for i in range(2)] == ["100", "100"]
    screenshot(page, "upload")

    assert Photo.objects.count() == 2
    photo = Photo.objects.get(original_filename=files[0].name)
    assert photo.original_sha256 == hashlib.sha256(files[0].read_bytes()).hexdigest()

    page.locator(".file-status.is-done a").first.click()
    page.wait_for_url(f"{live_server.url}/photos/*/")
    shown = Photo.objects.get(title=page.locator("h1").inner_text())
    assert shown.original_sha256 in page.locator(".photo-meta").inner_text()
    assert image_loaded(page.locator(".photo-stage img.compare-original"))
    screenshot(page, "photo-page")

    page.goto(f"{live_server.url}/gallery/?genre=street&decade=1930")
    assert page.locator(".grid .card").count() == 2
    thumb = page.locator(".grid .card img").first
    assert image_loaded(thumb)
    screenshot(page, "gallery")
