"""Collections (curate, order, privacy), IIIF Presentation 3 manifests, CSV/JSON exports and the Atom feed."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from iiif_prezi3 import Manifest

from community.gallery.collections import collection_create, collection_photo_add
from community.models import CollectionItem
from tests import images
from tests.community.gallery.helpers import decide, finish_drafts, rendered_correction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def photos(owner, make_photo, tiny_base_model):
    made = []
    for i, (title, licence) in enumerate([("Migrant Mother", "public-domain"), ("Pea pickers", "cc-by-4.0")]):
        photo = make_photo(
            owner,
            data=images.jpeg(96, 64, seed=20 + i),
            title=title,
            year_from=1936,
            year_to=1936,
            genre="portrait",
            place="Nipomo, California",
            source_archive="Library of Congress",
            source_reference=f"LC-USF34-{9058 + i}",
            licence=licence,
            credit_line="Dorothea Lange, FSA",
        )
        finish_drafts(photo)
        made.append(photo)
    return made


@pytest.fixture
def lange(owner, photos):
    collection = collection_create(owner=owner, title="Dorothea Lange, 1936", description="FSA assignments")
    for photo in photos:
        collection_photo_add(collection=collection, curator=owner, photo=photo)
    return collection


def validated(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    assert response["Access-Control-Allow-Origin"] == "*"
    data = json.loads(response.content)
    Manifest(**data)  # iiif-prezi3's pydantic model of the Presentation 3 specification
    return data


def test_a_photo_manifest_offers_original_and_colour_as_a_choice(client, photos, other_user):
    photo = photos[0]
    correction = rendered_correction(photo, other_user)
    decide(correction)
    data = validated(client.get(f"/iiif/photos/{photo.pk}/manifest.json"))
    assert data["@context"] == "http://iiif.io/api/presentation/3/context.json"
    assert data["id"] == f"http://testserver/iiif/photos/{photo.pk}/manifest.json"
    assert data["label"] == {"en": ["Migrant Mother"]}
    assert data["rights"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert data["requiredStatement"]["value"] == {"en": ["Dorothea Lange, FSA"]}
    labels = {m["label"]["en"][0]: m["value"]["en"][0] for m in data["metadata"]}
    assert labels["Original SHA-256"] == photo.original_sha256 and labels["Archive reference"] == "LC-USF34-9058"
    (canvas,) = data["items"]
    body = canvas["items"][0]["items"][0]["body"]
    assert body["type"] == "Choice"
    original, colour = body["items"]
    assert original["id"].endswith(photo.original.url) and original["format"] == "image/jpeg"
    assert colour["id"].endswith(correction.result_file.url)
    assert "Community version" in colour["label"]["en"][0] and "AI-colorized" in colour["label"]["en"][0]
    assert canvas["items"][0]["items"][0]["target"] == canvas["id"]


def test_a_photo_without_colour_has_a_plain_image_and_hidden_photos_have_no_manifest(client, owner, make_photo):
    photo = make_photo(owner, title="Waiting", licence="all-rights-reserved")
    data = validated(client.get(f"/iiif/photos/{photo.pk}/manifest.json"))
    assert data["items"][0]["items"][0]["items"][0]["body"]["type"] == "Image"
    assert data["rights"] == "http://rightsstatements.org/vocab/InC/1.0/"
    photo.hidden_at = photo.created_at
    photo.save()
    assert client.get(f"/iiif/photos/{photo.pk}/manifest.json").status_code == 404


def test_a_collection_manifest_has_a_canvas_per_photo_in_the_curators_order(client, lange, photos):
    data = validated(client.get(f"/iiif/collections/{lange.pk}/manifest.json"))
    assert data["label"] == {"en": ["Dorothea Lange, 1936"]}
    assert [c["label"]["en"][0] for c in data["items"]] == ["Migrant Mother", "Pea pickers"]
    assert all(c["items"][0]["items"][0]["body"]["type"] == "Choice" for c in data["items"])
    assert "rights" not in data  # two licences: each canvas says its own


def test_the_curator_reorders_and_removes_and_others_cannot(client, lange, photos, owner, other_user):
    client.force_login(other_user)
    assert client.post(f"/collections/{lange.pk}/items/{photos[0].pk}/remove/").status_code == 403
    assert client.post(f"/collections/{lange.pk}/items/", {"photo": photos[0].pk}).status_code == 403
    client.force_login(owner)
    client.post(f"/collections/{lange.pk}/items/{photos[1].pk}/move/", {"direction": "up"})
    order = list(CollectionItem.objects.filter(collection=lange).order_by("position").values_list("photo", flat=True))
    assert order == [photos[1].pk, photos[0].pk]
    client.post(f"/collections/{lange.pk}/items/{photos[1].pk}/remove/")
    assert list(lange.photos.all()) == [photos[0]]
    # Adding twice keeps one.
    client.post(f"/collections/{lange.pk}/items/", {"photo": photos[0].pk})
    assert lange.items.count() == 1


def test_private_collections_are_seen_only_by_their_curator(client, lange, owner, other_user):
    lange.is_public = False
    lange.save()
    for url in (
        f"/collections/{lange.pk}/",
        f"/iiif/collections/{lange.pk}/manifest.json",
        f"/collections/{lange.pk}/export.csv",
        f"/collections/{lange.pk}/export.json",
    ):
        assert client.get(url).status_code == 404
        client.force_login(other_user)
        assert client.get(url).status_code == 404
        client.force_login(owner)
        assert client.get(url).status_code == 200
        client.logout()


def test_the_public_page_lists_the_photos_and_the_exports(client, lange):
    html = client.get(f"/collections/{lange.pk}/").content.decode()
    assert "Migrant Mother" in html and "Pea pickers" in html and "export.csv" in html and "manifest.json" in html
    assert "Dorothea Lange, 1936" in client.get("/collections/").content.decode()


def test_a_new_collection_needs_a_title(client, owner):
    client.force_login(owner)
    response = client.post("/collections/new/", {"title": "  "})
    assert response.status_code == 200 and "required" in response.content.decode()


def test_exports_carry_metadata_and_decisions(client, lange, photos, other_user, moderator):
    accepted = rendered_correction(photos[0], other_user, note="Coat was grey-brown")
    decide(accepted, votes_up=5, votes_down=1, by=moderator)
    data = json.loads(client.get(f"/collections/{lange.pk}/export.json").content)
    assert data["collection"]["title"] == "Dorothea Lange, 1936"
    first = data["photos"][0]
    assert first["source_reference"] == "LC-USF34-9058" and first["original_sha256"] == photos[0].original_sha256
    assert first["colour_version"] == "community"
    assert first["community_correction"]["decided_by"] == "moderator"
    assert first["community_correction"]["evidence"][0]["text"] == "Company paint records, 1912"
    assert data["photos"][1]["colour_version"] == "draft" and data["photos"][1]["decisions"] == []

    response = client.get(f"/collections/{lange.pk}/export.csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["Migrant Mother", "Pea pickers"]
    assert rows[0]["votes_for"] == "5" and rows[0]["accepted_by"] == "moderator"
    assert rows[0]["licence_uri"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert rows[0]["decisions"].startswith(f"{accepted.pk}:accepted:")


def test_the_atom_feed_lists_newly_accepted_versions(client, photos, other_user):
    first = rendered_correction(photos[0], other_user)
    second = rendered_correction(photos[1], other_user)
    decide(first)
    rejected = rendered_correction(photos[1], other_user)
    decide(rejected, status="rejected")
    decide(second)
    response = client.get("/feeds/accepted.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [
        "Pea pickers: community version accepted",
        "Migrant Mother: community version accepted",
    ]
    assert entries[0].find(f"{ATOM}link").get("href") == f"http://testserver/photos/{photos[1].pk}/"
    # Entry ids are absolute IRIs (RFC 4287): tag URIs from the host and the day of acceptance.
    second.refresh_from_db()
    day = second.decided_at.strftime("%Y-%m-%d")
    assert entries[0].find(f"{ATOM}id").text == f"tag:testserver,{day}:correction-{second.pk}-accepted"


def test_the_validator_would_catch_a_broken_manifest(client, photos):
    data = json.loads(client.get(f"/iiif/photos/{photos[0].pk}/manifest.json").content)
    for breakage in (
        {"rights": "free to use"},
        {"items": "none"},
        {"id": "manifest 1"},
        {"requiredStatement": {"label": "x"}},
    ):
        with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
            Manifest(**{**data, **breakage})


# --- film clips (issue 19): a time-based canvas ---------------------------------------------------


@pytest.fixture
def clip(owner, make_photo, tiny_base_model, settings, tmp_path):
    from tests import videos

    settings.CHROMA_VIDEO_CHUNK_FRAMES = 8
    source = videos.make_clip(tmp_path / "c.mov", fmt="mov", codec="prores_ks", pix_fmt="yuv422p10le", frames=12)
    return make_photo(owner, data=source.read_bytes(), title="Coaches, Yellowstone", licence="public-domain")


def test_a_clip_manifest_is_a_time_based_canvas_with_original_and_colour_videos(client, clip):
    # Before its first render: a time-based canvas, nothing a browser plays yet (ProRes in MOV).
    data = validated(client.get(f"/iiif/photos/{clip.pk}/manifest.json"))
    (canvas,) = data["items"]
    assert (canvas["width"], canvas["height"], canvas["duration"]) == (96, 64, pytest.approx(0.5, abs=0.01))
    assert canvas["items"][0]["items"] == []
    (rendering,) = data["rendering"]  # the untouched original, as a download
    assert rendering["format"] == "video/quicktime" and clip.original_sha256 in rendering["label"]["en"][0]
    assert rendering["id"] == f"http://testserver/photos/{clip.pk}/download/original"

    finish_drafts(clip)
    clip.refresh_from_db()
    draft = clip.drafts.get()
    data = validated(client.get(f"/iiif/photos/{clip.pk}/manifest.json"))
    (canvas,) = data["items"]
    assert canvas["duration"] == pytest.approx(0.5, abs=0.01)
    annotation = canvas["items"][0]["items"][0]
    assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
    body = annotation["body"]
    assert body["type"] == "Choice"
    original, colour = body["items"]
    assert original["type"] == colour["type"] == "Video"
    assert original["format"] == colour["format"] == "video/mp4"
    assert original["id"].endswith(clip.web_video.url) and "copy browsers play" in original["label"]["en"][0]
    assert colour["id"].endswith(draft.video.url) and "AI-colorized" in colour["label"]["en"][0]
    for item in (original, colour):
        assert (item["width"], item["height"], item["duration"]) == (96, 64, canvas["duration"])
    labels = {m["label"]["en"][0]: m["value"]["en"][0] for m in data["metadata"]}
    assert labels["Original file"].startswith("MOV (prores, silent), 96×64 px, 12 frames at 24/1 fps")
    assert "AI-colorized" in labels["Colour version"]

    # The validator knows time-based canvases: a broken duration is refused.
    broken = json.loads(json.dumps(data))
    broken["items"][0]["duration"] = "half a second"
    with pytest.raises(ValueError):
        Manifest(**broken)


def test_an_original_that_plays_is_the_first_choice_itself(client, owner, make_photo, tiny_base_model, tmp_path):
    from tests import videos

    data = videos.make_clip(tmp_path / "c.mp4", frames=12).read_bytes()
    photo = make_photo(owner, data=data, title="Harbour")
    finish_drafts(photo)
    photo.refresh_from_db()
    manifest = validated(client.get(f"/iiif/photos/{photo.pk}/manifest.json"))
    original, _ = manifest["items"][0]["items"][0]["items"][0]["body"]["items"]
    assert original["id"].endswith(photo.original.url) and "untouched" in original["label"]["en"][0]


def test_a_collection_with_a_clip_has_its_time_based_canvas_beside_the_photos(client, owner, photos, clip):
    finish_drafts(clip)
    collection = collection_create(owner=owner, title="Travel, 1899-1936")
    for item in (photos[0], clip):
        collection_photo_add(collection=collection, curator=owner, photo=item)
    data = validated(client.get(f"/iiif/collections/{collection.pk}/manifest.json"))
    photo_canvas, clip_canvas = data["items"]
    assert "duration" not in photo_canvas and clip_canvas["duration"] == pytest.approx(0.5, abs=0.01)
    assert [i["type"] for i in photo_canvas["items"][0]["items"][0]["body"]["items"]] == ["Image", "Image"]
    assert [i["type"] for i in clip_canvas["items"][0]["items"][0]["body"]["items"]] == ["Video", "Video"]


def test_the_atom_feed_lists_colorized_clips_with_the_colour_clip_and_never_hidden_ones(
    client, clip, photos, other_user
):
    from django.core.files.storage import default_storage
    from django.utils import timezone

    decide(rendered_correction(photos[0], other_user))
    finish_drafts(clip)
    draft = clip.drafts.get()
    root = ET.fromstring(client.get("/feeds/accepted.atom").content)
    entries = {e.find(f"{ATOM}title").text: e for e in root.findall(f"{ATOM}entry")}
    clip_title = "Coaches, Yellowstone: film clip AI-colorized"
    assert set(entries) == {clip_title, "Migrant Mother: community version accepted"}
    entry = entries[clip_title]
    links = {link.get("rel"): link for link in entry.findall(f"{ATOM}link")}
    assert links["alternate"].get("href") == f"http://testserver/photos/{clip.pk}/"
    enclosure = links["enclosure"]
    assert enclosure.get("type") == "video/mp4" and enclosure.get("href").endswith(draft.video.url)
    assert enclosure.get("length") == str(default_storage.size(draft.video.name))
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["AI-colorized", "film"]
    assert "AI-colorized" in entry.find(f"{ATOM}summary").text
    guid = entry.find(f"{ATOM}id").text
    assert guid.startswith("tag:testserver,") and guid.endswith(f":clip-draft-{draft.pk}-colorized")
    # The photo's entry has no enclosure.
    photo_links = entries["Migrant Mother: community version accepted"].findall(f"{ATOM}link")
    assert [link.get("rel") for link in photo_links] == ["alternate"]

    clip.hidden_at = timezone.now()
    clip.save()
    feed = ET.fromstring(client.get("/feeds/accepted.atom").content)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert not any("Coaches" in t for t in titles)
    assert "Migrant Mother: community version accepted" in titles


def test_the_feed_states_enclosure_lengths_from_the_render_row_without_asking_storage(client, clip, monkeypatch):
    import importlib

    from django.apps import apps
    from django.core.files.storage import default_storage

    from colorization.models import Draft

    finish_drafts(clip)
    draft = clip.drafts.get()
    size = default_storage.size(draft.video.name)
    assert draft.video_bytes == size > 0  # recorded when the render finished

    def no_storage(*args, **kwargs):
        raise AssertionError("the feed asked storage for a size")

    def enclosure():
        with monkeypatch.context() as patch:
            patch.setattr(type(default_storage._wrapped), "size", no_storage)
            root = ET.fromstring(client.get("/feeds/accepted.atom").content)
        (entry,) = root.findall(f"{ATOM}entry")
        return next(link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "enclosure")

    assert enclosure().get("length") == str(size)
    # Never measured (a file the migration could not read): the length is left out, not "0".
    Draft.objects.filter(pk=draft.pk).update(video_bytes=None)
    from community.gallery.page_cache import pages_invalidate

    pages_invalidate(photo_id=clip.pk)
    link = enclosure()
    assert "length" not in link.attrib and link.get("href").endswith(draft.video.url)

    # The migration measures renders finished before the field existed, once, from storage.
    migration = importlib.import_module("colorization.migrations.0017_draft_video_bytes")
    missing = Draft.objects.create(
        photo=clip, model_slug="base", model_version="1", model_sha256="0" * 64, render_size=64, saturation=1.0
    )
    Draft.objects.filter(pk=missing.pk).update(video="drafts/gone.mp4")
    migration.measure_finished_renders(apps, None)
    assert Draft.objects.get(pk=draft.pk).video_bytes == size
    assert Draft.objects.get(pk=missing.pk).video_bytes is None
