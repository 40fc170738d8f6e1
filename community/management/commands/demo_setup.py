"""Create a demo administrator and load demo photographs and one black-and-white film clip, for a local first run."""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from colorization.images import ImageRejected
from colorization.services import photo_upload
from community.accounts.services import role_set

SHARED_BW = settings.BASE_DIR.parent / "shared" / "data" / "bw"
SHARED_FILM = settings.BASE_DIR.parent / "shared" / "data" / "video" / "bw" / "edison_yellowstone_1899.mp4"
# The demo clip's record, from ../shared/data/video/README.md (its source and licence).
DEMO_FILM = {
    "title": "Tourists Going Round Yellowstone Park (Edison, 1899)",
    "description": (
        "Horse-drawn stagecoaches full of tourists drive past the camera across open grassland, hills "
        "behind. Real film wear: flicker, scratches, dust. Thomas A. Edison, Inc.; camera Frederick "
        "Blechynden. The 3 s title card is trimmed off; re-encoded to H.264 (320x240, 29.97 fps)."
    ),
    "year_from": 1899,
    "year_to": 1899,
    "genre": "transport",
    "place": "Yellowstone National Park, Wyoming",
    "source_archive": "Library of Congress, Paper Print Collection",
    "source_reference": "https://www.loc.gov/item/00694320/",
    "licence": "public-domain",
    "credit_line": (
        "Edison Manufacturing Co., 1899. Library of Congress, Motion Picture, Broadcasting and Recorded "
        "Sound Division (public domain in the US: published 1899)"
    ),
}
STREET_WORDS = re.compile(r"street|broadway|bank|detroit|hotel|avenue", re.I)


# Titles a visitor can read, for the shared demo photographs (file names are truncated Commons names).
DEMO_TITLES = {
    "Broadway_at_the_United_States_Hotel_Saratoga_Springs_NY_ca_1": "Broadway, Saratoga Springs",
    "Broke_baby_sick_and_car_trouble_-_Dorothea_Langes_photo_of_a": "Broke, baby sick, and car trouble (Lange, 1937)",
    "Buffalo_Bank_Buffalo_New_York_circa_1908_Erie_County_Savings": "Erie County Savings Bank, Buffalo, about 1908",
    "Child_in_Shack_Town_by_Dorothea_Lange_1936_8b38490a": "Child in Shack Town (Dorothea Lange, 1936)",
    "Children_Living_in_a_Camp_Between_Weedpatch_and_Lamont_Kern_": "Children in a camp near Weedpatch, California",
    "David_Hilbert": "David Hilbert",
    "Detroit_circa_1915": "Detroit street scene, about 1915",
    "Dorothea_Lange_These_cotton_hoers_work_from_6_am_to_7_pm_for": "Cotton hoers at work (Dorothea Lange)",
    "February_1936_Nipomo_Calif_Destitute_pea_pickers_living_in_t": "Destitute pea pickers, Nipomo, 1936",
    "Helen_Keller_meeting_Charlie_Chaplin_in_1919": "Helen Keller meets Charlie Chaplin, 1919",
    "Lincoln": "Abraham Lincoln",
    "Old_Tom_Morris": "Old Tom Morris",
}


def _metadata_from_name(path: Path) -> dict:
    title = re.sub(r"[_-]+", " ", path.stem)
    title = re.sub(r"\s+[0-9a-f]{8}$", "", title).strip()
    title = DEMO_TITLES.get(path.stem, title)
    years = [int(y) for y in re.findall(r"(18[3-9]\d|19\d\d)", path.stem)]
    genre = "street" if STREET_WORDS.search(title) else "portrait"
    return {
        "title": title[:300],
        "year_from": min(years) if years else None,
        "year_to": max(years) if years else None,
        "genre": genre,
        "source_archive": "Wikimedia Commons",
        "licence": "public-domain",
        "credit_line": "Public domain",
    }


def _generated_photos(count: int = 6):
    """Greyscale test scenes made here, for machines without the shared demo photos."""
    rng = np.random.default_rng(1914)
    for n in range(count):
        w, h = 960, 640
        y = np.mgrid[0:h, 0:w][0]
        sky = 200 - 60 * y / h + rng.normal(0, 3, (h, w))
        im = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8), "L")
        draw = ImageDraw.Draw(im)
        ground = int(h * (0.55 + 0.1 * rng.random()))
        draw.rectangle([0, ground, w, h], fill=int(70 + 40 * rng.random()))
        for _ in range(6 + n):
            bx = int(rng.integers(0, w - 120))
            bw, bh = int(rng.integers(60, 160)), int(rng.integers(80, 300))
            draw.rectangle([bx, ground - bh, bx + bw, ground], fill=int(rng.integers(40, 180)))
            for wy in range(ground - bh + 15, ground - 20, 30):
                for wx in range(bx + 10, bx + bw - 15, 25):
                    draw.rectangle([wx, wy, wx + 10, wy + 15], fill=int(rng.integers(20, 90)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        meta = {
            "title": f"Generated street scene {n + 1}",
            "description": "A synthetic greyscale scene generated for the local demo.",
            "year_from": 1900 + 10 * n,
            "year_to": 1909 + 10 * n,
            "genre": "street",
            "licence": "cc0",
            "credit_line": "Generated by Chroma Commons",
        }
        yield f"generated-{n + 1}.jpg", buf.getvalue(), meta


class Command(BaseCommand):
    help = "Create the demo administrator (printing its credentials) and load demo photographs."

    def add_arguments(self, parser):
        parser.add_argument("--photos-from", type=Path, help=f"a folder of photos (default: {SHARED_BW} if present)")
        parser.add_argument("--no-photos", action="store_true", help="no photographs and no film clip")
        parser.add_argument(
            "--film", type=Path, default=SHARED_FILM, help=f"the demo's film clip (default: {SHARED_FILM} if present)"
        )

    def handle(self, *args, photos_from=None, no_photos=False, film=SHARED_FILM, **options):
        admin = self._admin()
        if no_photos:
            return
        self._film(admin, film)
        folder = photos_from or (SHARED_BW if SHARED_BW.is_dir() else None)
        if folder is not None:
            items = (
                (p.name, p.read_bytes(), _metadata_from_name(p))
                for p in sorted(folder.iterdir())
                if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}
            )
        else:
            items = _generated_photos()
        added = 0
        for name, data, meta in items:
            try:
                result = photo_upload(
                    owner=admin, file=SimpleUploadedFile(name, data), filename=name, metadata=meta, rate_limited=False
                )
            except ImageRejected as exc:
                self.stderr.write(f"skipped {name}: {exc.message}")
                continue
            added += result.created
        self.stdout.write(f"Demo photos: {added} added ({'from ' + str(folder) if folder else 'generated'}).")

    def _film(self, admin, path: Path) -> None:
        """The black-and-white demo clip, through the one upload path; its draft goes to the worker."""
        if not path.is_file():
            self.stdout.write(f"Demo film: none ({path} is not here).")
            return
        try:
            result = photo_upload(
                owner=admin,
                file=SimpleUploadedFile(path.name, path.read_bytes()),
                filename=path.name,
                metadata=dict(DEMO_FILM),
                rate_limited=False,
            )
        except ImageRejected as exc:
            self.stderr.write(f"skipped the demo film {path.name}: {exc.message}")
            return
        added = "added" if result.created else "already here"
        self.stdout.write(f"Demo film: {result.photo.title} ({added}; the worker colorizes it).")

    def _admin(self):
        User = get_user_model()
        password_file = settings.VAR_DIR / "demo_admin_password"
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser("admin", "admin@localhost", password)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
        role_set(user=admin, role="admin")
        password = password_file.read_text().strip() if password_file.exists() else "(set before; unchanged)"
        self.stdout.write(f"Demo administrator: username admin, password {password}")
        return admin
