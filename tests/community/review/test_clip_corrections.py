"""Film clips' keyframe corrections (issue 19): the same editor, services, votes and acceptance as a photo's,
and a community render that carries each accepted keyframe's hints through its shot.

The clip is small and synthetic (tests/videos.py: two shots of panning grey texture) and rendered
in this process by the worker's task with the tiny model, so the whole loop takes seconds.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils.html import escape
from PIL import Image

from colorization.models import Draft, DraftPurpose, DraftStatus, Photo, TrainingExample
from colorization.tasks import colorize_draft
from community.models import Correction, CorrectionStatus, Vote
from community.review import decisions, moderation
from community.review.corrections import correction_create
from tests import videos
from tests.conftest import upload_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_broker")]

FRAMES, CUT = 24, 12  # two shots: frames 0-11 and 12-23; a keyframe at the start of each
RED = {"strokes": [{"points": [[8, 8], [88, 8], [88, 56], [8, 56]], "color": "#c02020", "width": 24}]}
BLUE = {"points": [{"x": 48, "y": 32, "color": "#2040c0", "size": 9}], "strokes": []}


def render(draft: Draft) -> Draft:
    assert colorize_draft.apply(args=[draft.pk]).get().startswith("done")
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DONE, draft.error
    return draft


def local(key: str, tmp_path, name: str):
    path = tmp_path / name
    with default_storage.open(key, "rb") as f:
        path.write_bytes(f.read())
    return path


def png(key: str) -> np.ndarray:
    with default_storage.open(key, "rb") as f:
        return np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))


@pytest.fixture
def clip(api, people, settings, tmp_path, django_capture_on_commit_callbacks, tiny_base_model) -> Photo:
    settings.CHROMA_VIDEO_CHUNK_FRAMES = 8
    source = videos.make_clip(tmp_path / "in.mp4", frames=FRAMES, shots=[0, CUT])
    with django_capture_on_commit_callbacks(execute=True):
        response = api(people["volunteer3"]).post(
            "/api/v1/photos/",
            {"image": upload_file(source.read_bytes(), "harbour.mp4", "video/mp4"), "title": "Harbour"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(pk=response.json()["id"])
    render(photo.drafts.get())
    return photo


@pytest.fixture
def draft(clip) -> Draft:
    return clip.drafts.get(purpose=DraftPurpose.DRAFT)


def accept(correction: Correction, people, capture) -> Correction:
    with capture(execute=True):
        for name in ("volunteer", "volunteer2", "historian"):
            decisions.vote_cast(correction_id=correction.pk, voter=people[name], value=1)
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    return correction


def keyframe_correction(clip, draft, author, frame: int, hints: dict, capture) -> Correction:
    with capture(execute=True):
        correction = correction_create(author=author, photo=clip, hints=hints, base_draft=draft, frame=frame)
    render(correction.render)
    correction.refresh_from_db()
    return correction


def accepted_keyframe(clip, draft, people, author, frame: int, hints: dict, capture) -> Correction:
    """A keyframe correction by ``author``, rendered and accepted by three votes."""
    return accept(keyframe_correction(clip, draft, author, frame, hints, capture), people, capture)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 Y' (the small clips' matrix) of sRGB uint8."""
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def chroma(path) -> np.ndarray:
    """Every frame's Cb, Cr as float (frames, 2, h, w)."""
    return np.stack([np.stack((u, v)).astype(np.float32) for _, u, v in videos.read_planes(path)])


# --- keyframe stills and the correction's render --------------------------------------------------


def test_every_keyframe_of_a_clip_render_has_a_still_to_correct(clip, draft):
    keyframes = sorted(k for shot in clip.shots.all() for k in shot.keyframes)
    assert keyframes == [0, CUT]
    assert sorted(draft.stills, key=int) == ["0", str(CUT)]
    for frame in keyframes:
        colour, original = png(draft.stills[str(frame)]["colour"]), png(draft.stills[str(frame)]["original"])
        assert colour.shape == original.shape == (64, 96, 3)
        # the original still is the grey frame; the colour still keeps its lightness and adds colour
        assert np.abs(original.astype(int) - original.mean(axis=2, keepdims=True)).max() <= 2
        assert np.abs(luma(colour) - luma(original)).mean() < 3  # the same Y' (to rounding of 4:2:0 chroma)
        assert np.abs(colour.astype(int) - colour.mean(axis=2, keepdims=True)).mean() > 1
    with default_storage.open(draft.stills["0"]["colour"], "rb") as f:
        assert "AI" in Image.open(f).info["Description"]  # the colour still says it is AI-colorized
    with default_storage.open(draft.stills["0"]["original"], "rb") as f:
        assert "Description" not in Image.open(f).info  # the original frame does not


def test_a_keyframes_lightness_is_read_from_the_lossless_luma_still_as_decoding_gives_it(
    clip, draft, tmp_path, monkeypatch
):
    from colorization import film
    from colorization.engine.video import frame_luminance, read_frame

    planes, _ = read_frame(local(clip.original.name, tmp_path, "original.mp4"), CUT)
    decoded = frame_luminance(planes.y).L
    with monkeypatch.context() as patch:
        patch.setattr(film, "read_frame", lambda *a: pytest.fail("decoded the clip"))
        assert np.array_equal(film.keyframe_luminance(clip, CUT).L, decoded)  # from the still
    Draft.objects.filter(pk=draft.pk).update(stills={})
    assert np.array_equal(film.keyframe_luminance(clip, CUT).L, decoded)  # decoded up to the frame
    with pytest.raises(film.VideoError, match="no frame 31"):
        film.keyframe_luminance(clip, 30)


def test_a_keyframe_correction_is_rendered_as_that_frames_still_with_its_hints(
    clip, draft, people, django_capture_on_commit_callbacks
):
    correction = keyframe_correction(clip, draft, people["author"], CUT, RED, django_capture_on_commit_callbacks)
    assert correction.frame == CUT and correction.render.frame == CUT
    assert correction.render.purpose == DraftPurpose.CORRECTION and correction.render.hints == RED
    still, base = png(correction.result_file.name), png(draft.stills[str(CUT)]["colour"])
    assert still.shape == (64, 96, 3)
    # redder than the draft's still of the same frame (R up, B down), same lightness on average
    assert (still[..., 0].astype(int) - base[..., 0]).mean() > 5
    assert abs(luma(still).mean() - luma(base).mean()) < 4
    # Its colour provenance is measured on that keyframe's lightness, as a photo's is on the photo's.
    from community.review.provenance import correction_provenance

    provenance = correction_provenance(correction)
    assert provenance is not None and provenance.shares["model"] < 1 and "model" in provenance.text


@pytest.mark.parametrize(
    ("frame", "error"),
    [(None, "keyframes"), (5, "keyframes"), (FRAMES + 3, "keyframes"), ("x", "keyframes")],
)
def test_a_clip_correction_names_one_of_its_keyframes(clip, draft, people, frame, error):
    with pytest.raises(ValidationError, match=error) as caught:
        correction_create(author=people["author"], photo=clip, hints=RED, base_draft=draft, frame=frame)
    assert "frame" in caught.value.message_dict
    assert not Correction.objects.exists()


def test_a_photo_correction_refuses_a_frame_and_a_clip_refuses_manual_colorizations(
    clip, draft, people, make_photo, quiet_broker
):
    from community.review.corrections import correction_create_manual
    from tests.community.conftest import colour_png

    photo = make_photo(people["author"])
    photo_draft = photo.drafts.get()
    render(photo_draft)
    with pytest.raises(ValidationError, match="no keyframes"):
        correction_create(author=people["volunteer"], photo=photo, hints=RED, base_draft=photo_draft, frame=0)
    with pytest.raises(ValidationError, match="hints on its keyframes"):
        correction_create_manual(
            author=people["author"],
            photo=clip,
            file=upload_file(colour_png(96, 64), "c.png", "image/png"),
            base_draft=draft,
        )
    assert not Correction.objects.exists()


# --- votes, acceptance, the community render -------------------------------------------------------


def test_an_accepted_keyframe_correction_recolours_the_rest_of_its_shot_in_a_community_render(
    clip, draft, people, tmp_path, django_capture_on_commit_callbacks
):
    correction = keyframe_correction(clip, draft, people["author"], 0, RED, django_capture_on_commit_callbacks)
    assert not Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).exists()  # nothing until it is accepted
    accept(correction, people, django_capture_on_commit_callbacks)

    community = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY)
    assert community.hints == {"keyframes": {"0": correction.hints}} and community.frame is None
    assert (community.model_sha256, community.render_size) == (draft.model_sha256, draft.render_size)
    render(community)
    assert len(community.chunks) == 3 and sorted(community.stills, key=int) == ["0", str(CUT)]

    before = chroma(local(draft.video.name, tmp_path, "draft.mp4"))
    after = chroma(local(community.video.name, tmp_path, "community.mp4"))
    assert before.shape == after.shape and len(after) == FRAMES
    change = np.abs(after - before).mean(axis=(1, 2, 3))
    # The OTHER frames of the keyframe's shot changed (carried along the flow), towards red (Cr up) ...
    assert (change[1:CUT] > 2).all(), change
    assert (after[1:CUT, 1] - before[1:CUT, 1]).mean() > 3
    # ... the next shot did not (up to the lossy encoder's rounding).
    assert (change[CUT:] < 0.5).all(), change
    # The lightness is the original's, both times.
    original = videos.read_planes(local(clip.original.name, tmp_path, "original.mp4"))
    community_planes = videos.read_planes(local(community.video.name, tmp_path, "community.mp4"))
    for (y0, _, _), (y1, _, _) in zip(original, community_planes, strict=True):
        assert np.abs(y0.astype(int) - y1).mean() < 1.5

    # Training data: the keyframe's still with the accepted colours, marked with its frame.
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    assert example.photo_id == clip.pk and example.frame == 0 and example.withdrawn_at is None


def test_keyframes_are_accepted_independently_and_the_community_render_uses_all_of_them(
    clip, draft, people, api, client, django_capture_on_commit_callbacks
):
    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == second.status == CorrectionStatus.ACCEPTED  # another keyframe supersedes nothing
    latest = Draft.objects.filter(photo=clip, purpose=DraftPurpose.COMMUNITY).order_by("-pk").first()
    assert latest.hints == {"keyframes": {"0": first.hints, str(CUT): second.hints}}
    assert TrainingExample.objects.active().filter(photo=clip).count() == 2

    # A better correction of the first keyframe supersedes that keyframe's only.
    third = accepted_keyframe(clip, draft, people, people["volunteer3"], 0, BLUE, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, third.status) == ("superseded", "accepted", "accepted")
    assert third.replaced_id == first.pk
    latest = Draft.objects.filter(photo=clip, purpose=DraftPurpose.COMMUNITY).order_by("-pk").first()
    assert latest.hints == {"keyframes": {"0": third.hints, str(CUT): second.hints}}
    assert TrainingExample.objects.active().filter(photo=clip).count() == 2

    # The clip page plays the community render once it is done, with the AI label, and lists
    # each correction under its keyframe.
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert "Showing the community version" not in page  # not rendered yet: the draft plays
    assert escape(draft.video.url) in page
    render(latest)
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert "Showing the community version" in page and escape(latest.video.url) in page
    assert escape(latest.label) in page
    keyframe = page[page.index('id="keyframe-0"') : page.index(f'id="keyframe-{CUT}"')]
    assert f"/corrections/{first.pk}/" in keyframe and f"/corrections/{third.pk}/" in keyframe
    assert f"/corrections/{second.pk}/" not in keyframe
    assert f"/photos/{clip.pk}/edit/?draft={latest.pk}&amp;frame=0" in keyframe

    # The API says which keyframe each correction is of.
    body = api().get(f"/api/v1/corrections/{second.pk}/").json()
    assert body["frame"] == CUT and body["status"] == "accepted"


def test_the_api_loop_correct_vote_accept_and_re_render(clip, draft, people, api, django_capture_on_commit_callbacks):
    url = f"/api/v1/photos/{clip.pk}/corrections/"
    missing = api(people["author"]).post(url, {"base_draft": draft.pk, "hints": RED}, format="json")
    assert missing.status_code == 400 and "frame" in missing.json()["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        created = api(people["author"]).post(url, {"base_draft": draft.pk, "hints": RED, "frame": 0}, format="json")
    assert created.status_code == 201, created.content
    correction = Correction.objects.get(pk=created.json()["id"])
    assert created.json()["frame"] == 0
    too_early = api(people["volunteer"]).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1})
    assert too_early.status_code == 409  # still rendering, as for a photo
    render(correction.render)
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("volunteer", "volunteer2", "historian"):
            vote = api(people[name]).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
            assert vote.status_code in (200, 201), vote.content
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    community = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY))
    assert community.video and community.frames_done == FRAMES


def test_a_revoked_keyframe_correction_renders_the_clip_again_without_it(
    clip, draft, people, django_capture_on_commit_callbacks
):
    from community.review.revocations import correction_revoke

    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, django_capture_on_commit_callbacks)
    before = Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).count()
    with django_capture_on_commit_callbacks(execute=True):
        correction_revoke(
            correction_id=first.pk,
            moderator=people["moderator"],
            reason="The archive's print shows a blue hull.",
            evidence=[{"text": "Colour print in the harbour museum", "archive_reference": "HM 1931/4"}],
        )
    latest = Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).order_by("-pk")
    assert latest.count() == before + 1
    assert latest.first().hints == {"keyframes": {str(CUT): second.hints}}


# --- the same rules: suspension, hidden content ----------------------------------------------------


def test_a_suspended_user_can_neither_correct_a_keyframe_nor_vote(
    clip, draft, people, api, django_capture_on_commit_callbacks
):
    with pytest.raises(PermissionDenied, match="suspended"):
        correction_create(author=people["suspended"], photo=clip, hints=RED, base_draft=draft, frame=0)
    refused = api(people["suspended"]).post(
        f"/api/v1/photos/{clip.pk}/corrections/", {"base_draft": draft.pk, "hints": RED, "frame": 0}, format="json"
    )
    assert refused.status_code == 403
    correction = keyframe_correction(clip, draft, people["author"], 0, RED, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied, match="suspended"):
        decisions.vote_cast(correction_id=correction.pk, voter=people["suspended"], value=1)
    vote = api(people["suspended"]).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json")
    assert vote.status_code == 403
    assert Correction.objects.count() == 1 and not Vote.objects.exists()


def test_a_hidden_clip_takes_no_corrections_and_no_votes(
    clip, draft, people, api, client, django_capture_on_commit_callbacks
):
    correction = keyframe_correction(clip, draft, people["author"], 0, RED, django_capture_on_commit_callbacks)
    moderation.content_hide(moderator=people["moderator"], kind="photo", obj=clip, reason="Under review.")
    clip.refresh_from_db()
    # Only its owner (and staff) still see it: nobody else corrects it, and votes are closed for all.
    with pytest.raises(PermissionDenied, match="hidden"):
        correction_create(author=people["volunteer"], photo=clip, hints=BLUE, base_draft=draft, frame=CUT)
    with pytest.raises(decisions.ReviewConflict, match="hidden"):
        decisions.vote_cast(correction_id=correction.pk, voter=people["volunteer"], value=1)
    assert api(people["volunteer"]).post(
        f"/api/v1/photos/{clip.pk}/corrections/", {"base_draft": draft.pk, "hints": BLUE, "frame": CUT}, format="json"
    ).status_code in (403, 404)
    assert api(people["volunteer"]).post(
        f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1}, format="json"
    ).status_code in (404, 409)
    client.force_login(people["volunteer"])
    assert client.get(f"/photos/{clip.pk}/edit/?draft={draft.pk}&frame=0").status_code == 404
    assert Correction.objects.count() == 1 and not Vote.objects.exists()


def test_hiding_an_accepted_keyframe_correction_renders_the_clip_without_it(
    clip, draft, people, django_capture_on_commit_callbacks
):
    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_hide(moderator=people["moderator"], kind="correction", obj=first, reason="Spam.")
    latest = Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).order_by("-pk").first()
    assert latest.hints == {"keyframes": {str(CUT): second.hints}}


# --- the editor and its preview on a keyframe ------------------------------------------------------


def config_of(response) -> dict:
    match = re.search(r'<script id="editor-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page has no editor config"
    return json.loads(match.group(1))


def test_the_editor_opens_on_a_keyframes_stills_and_previews_that_frame(clip, draft, people, client, api):
    client.force_login(people["author"])
    page = client.get(f"/photos/{clip.pk}/")
    assert f"/photos/{clip.pk}/edit/?draft={draft.pk}&amp;frame={CUT}" in page.content.decode()
    response = client.get(f"/photos/{clip.pk}/edit/?draft={draft.pk}&frame={CUT}")
    assert response.status_code == 200
    assert f"Keyframe: frame {CUT + 1}" in response.content.decode()
    config = config_of(response)
    assert config["frame"] == CUT and config["preview"]["frame"] == CUT
    assert config["original_url"] == default_storage.url(draft.stills[str(CUT)]["original"])
    assert config["base_image_url"] == default_storage.url(draft.stills[str(CUT)]["colour"])
    assert config["photo"]["width"] == 96 and config["photo"]["height"] == 64
    for bad in ("5", "x", str(FRAMES)):  # not a keyframe; not a number; past the end
        assert client.get(f"/photos/{clip.pk}/edit/?draft={draft.pk}&frame={bad}").status_code == 404
    assert client.get(f"/photos/{clip.pk}/edit/?draft={draft.pk}").status_code == 404

    url = f"/api/v1/photos/{clip.pk}/preview/"
    plain = api(people["author"]).post(url, {"frame": CUT, "render_size": 64}, format="json", HTTP_ACCEPT="image/png")
    hinted = api(people["author"]).post(
        url, {"frame": CUT, "render_size": 64, "hints": RED}, format="json", HTTP_ACCEPT="image/png"
    )
    assert plain.status_code == hinted.status_code == 200, plain.content
    a = np.asarray(Image.open(io.BytesIO(plain.content)).convert("RGB")).astype(int)
    b = np.asarray(Image.open(io.BytesIO(hinted.content)).convert("RGB")).astype(int)
    assert a.shape == (64, 96, 3) and (b[..., 0] - a[..., 0]).mean() > 5  # the hints show on that frame
    # lightness of the preview is the keyframe's (the first shot is darker than the second)
    first = api(people["author"]).post(url, {"frame": 0, "render_size": 64}, format="json", HTTP_ACCEPT="image/png")
    c = np.asarray(Image.open(io.BytesIO(first.content)).convert("RGB")).astype(int)
    assert abs(c.mean() - a.mean()) > 20
    no_frame = api(people["author"]).post(url, {"render_size": 64}, format="json")
    assert no_frame.status_code == 400 and "frame" in no_frame.json()["fields"]


def test_a_correction_page_of_a_keyframe_compares_with_the_keyframes_stills(
    clip, draft, people, client, django_capture_on_commit_callbacks
):
    correction = keyframe_correction(clip, draft, people["author"], CUT, RED, django_capture_on_commit_callbacks)
    page = client.get(f"/corrections/{correction.pk}/").content.decode()
    assert f"frame {CUT + 1}" in page
    assert escape(default_storage.url(draft.stills[str(CUT)]["original"])) in page  # not the video as an <img>
    assert f'src="{escape(clip.original.url)}"' not in page


def test_a_keyframes_global_hint_is_carried_through_its_shot_too(
    clip, draft, people, tmp_path, django_capture_on_commit_callbacks
):
    tint = {"global": {"tint": {"color": "#2050d0", "strength": 1}}}
    correction = keyframe_correction(clip, draft, people["author"], 0, tint, django_capture_on_commit_callbacks)
    assert correction.hints["global"]["tint"]["color"] == "#2050d0"
    accept(correction, people, django_capture_on_commit_callbacks)
    community = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY))
    before = chroma(local(draft.video.name, tmp_path, "draft.mp4"))
    after = chroma(local(community.video.name, tmp_path, "community.mp4"))
    bluer = (after[:, 0] - before[:, 0]).mean(axis=(1, 2))  # Cb
    assert (bluer[:CUT] > 2).all(), bluer  # every frame of the keyframe's shot
    assert (np.abs(bluer[CUT:]) < 0.5).all(), bluer  # not the next shot


# --- which community render plays, and how renders are requested ----------------------------------


def test_a_community_render_stops_playing_once_a_keyframe_it_used_is_hidden_and_keeps_playing_for_a_newer_one(
    clip, draft, people, client, django_capture_on_commit_callbacks
):
    from community.review.clips import community_render

    capture = django_capture_on_commit_callbacks
    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, capture)
    both_render = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED))
    assert community_render(clip) == both_render
    # A newer acceptance of the other keyframe: the render without it keeps playing until the new one is done.
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, capture)
    pending = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED)
    assert community_render(clip) == both_render
    with_both = render(pending)
    assert community_render(clip) == with_both
    # The first correction is hidden: neither render that used its colours plays any more, at once.
    with capture(execute=True):
        moderation.content_hide(moderator=people["moderator"], kind="correction", obj=first, reason="Wrong.")
    assert community_render(clip) is None
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert escape(with_both.video.url) not in page and escape(both_render.video.url) not in page
    assert escape(draft.video.url) in page and "Showing the community version" not in page
    without = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED)
    assert without.hints == {"keyframes": {str(CUT): second.hints}}
    assert community_render(render(without).photo) == without


def test_a_community_render_is_requested_once_per_set_of_hints_and_stale_queued_ones_are_superseded(
    clip, draft, people, django_capture_on_commit_callbacks
):
    from community.review.clips import SUPERSEDED, community_render_request

    capture = django_capture_on_commit_callbacks
    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, capture)
    queued = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY)
    # Asking again with the same accepted hints reuses it (queued, running or done): no second render.
    assert community_render_request(clip.pk) == queued
    render(queued)
    assert community_render_request(clip.pk) == queued
    assert Draft.objects.filter(photo=clip, purpose=DraftPurpose.COMMUNITY).count() == 1
    # Two more acceptances before a worker starts: the queued render of the middle set is superseded.
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, capture)
    middle = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED)
    third = accepted_keyframe(clip, draft, people, people["volunteer3"], 0, BLUE, capture)
    middle.refresh_from_db()
    assert (middle.status, middle.stage) == (DraftStatus.FAILED, SUPERSEDED)
    latest = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED)
    assert latest.hints == {"keyframes": {"0": third.hints, str(CUT): second.hints}}
    queued.refresh_from_db()
    assert queued.status == DraftStatus.DONE  # a finished render is never touched
    first.refresh_from_db()
    assert first.status == CorrectionStatus.SUPERSEDED


def test_a_failed_community_render_is_requested_again_by_the_sweep_up_to_a_limit_and_not_by_retry(
    clip, draft, people, django_capture_on_commit_callbacks
):
    from colorization.drafting import draft_fail, draft_retry
    from community.review.clips import MAX_FAILED_RENDERS, community_renders_sweep

    capture = django_capture_on_commit_callbacks
    accepted_keyframe(clip, draft, people, people["author"], 0, RED, capture)
    assert community_renders_sweep() == {"requested": 0, "given_up": 0}  # one is queued: nothing to do
    for attempt in range(MAX_FAILED_RENDERS):
        failed = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY, status=DraftStatus.QUEUED)
        draft_fail(failed.pk, "the worker's disk was full")
        with pytest.raises(ValidationError, match="requested again"):
            draft_retry(draft=failed)  # the retry action would copy hints that may no longer be accepted
        report = community_renders_sweep()
        last = attempt == MAX_FAILED_RENDERS - 1
        assert report == ({"requested": 0, "given_up": 1} if last else {"requested": 1, "given_up": 0}), attempt
    assert Draft.objects.filter(photo=clip, purpose=DraftPurpose.COMMUNITY).count() == MAX_FAILED_RENDERS


def test_retrying_a_failed_keyframe_still_keeps_its_frame(clip, draft, people, django_capture_on_commit_callbacks):
    from colorization.drafting import draft_fail, draft_retry

    with django_capture_on_commit_callbacks(execute=True):
        correction = correction_create(author=people["author"], photo=clip, hints=RED, base_draft=draft, frame=CUT)
    draft_fail(correction.render_id, "out of memory")
    again = draft_retry(draft=Draft.objects.get(pk=correction.render_id))
    assert again.frame == CUT and again.hints == RED
    render(again)
    assert png(again.image.name).shape == (64, 96, 3)  # that frame's still, not the whole clip


def test_the_editor_builds_on_the_community_renders_hints_for_that_keyframe(
    clip, draft, people, client, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    accepted = accepted_keyframe(clip, draft, people, people["author"], 0, RED, capture)
    community = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY))
    client.force_login(people["volunteer3"])
    config = config_of(client.get(f"/photos/{clip.pk}/edit/?draft={community.pk}&frame=0"))
    assert config["hints"] == accepted.hints
    # The other keyframe has no accepted correction: it starts from no hints.
    config = config_of(client.get(f"/photos/{clip.pk}/edit/?draft={community.pk}&frame={CUT}"))
    assert config["hints"] == {"points": [], "strokes": []}


def test_a_preview_of_a_frame_without_a_still_is_refused_without_decoding_the_clip(
    clip, draft, people, api, monkeypatch
):
    from colorization import film

    monkeypatch.setattr(film, "read_frame", lambda *a: pytest.fail("a web request decoded the clip"))
    url = f"/api/v1/photos/{clip.pk}/preview/"
    refused = api(people["author"]).post(url, {"hints": BLUE, "frame": 5}, format="json")
    assert refused.status_code == 400 and "no still" in " ".join(refused.json()["fields"]["frame"])
    allowed = api(people["author"]).post(url, {"hints": BLUE, "frame": CUT}, format="json")
    assert allowed.status_code == 200, allowed.content


def test_a_keyframe_corrections_still_keeps_that_frames_lightness_pixel_for_pixel(
    clip, draft, people, tmp_path, django_capture_on_commit_callbacks
):
    from colorization.engine.imageio import rgb_to_lightness_u8
    from colorization.engine.video import frame_luminance, read_frame

    correction = keyframe_correction(clip, draft, people["author"], CUT, RED, django_capture_on_commit_callbacks)
    planes, _ = read_frame(local(clip.original.name, tmp_path, "original.mp4"), CUT)
    expected = frame_luminance(planes.y).L
    got = rgb_to_lightness_u8(png(correction.result_file.name))
    assert got.shape == expected.shape
    assert np.abs(got.astype(np.float32) - expected).max() <= 1.0


# --- the community version everywhere: page, API, gallery card, IIIF, feed --------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def everywhere(clip, api, client) -> dict:
    """What each entry point names as the clip's colour version, as storage keys / API bodies."""
    import xml.etree.ElementTree as ET

    from community.models import GalleryEntry

    body = api().get(f"/api/v1/photos/{clip.pk}/").json()
    manifest = json.loads(client.get(f"/iiif/photos/{clip.pk}/manifest.json").content)
    _, colour = manifest["items"][0]["items"][0]["items"][0]["body"]["items"]
    feed = ET.fromstring(client.get("/feeds/accepted.atom").content)
    entries = {e.find(f"{ATOM}title").text: e for e in feed.findall(f"{ATOM}entry")}
    return {
        "api": body["community_version"],
        "card": GalleryEntry.objects.get(photo=clip),
        "gallery": client.get("/gallery/").content.decode(),
        "iiif": colour,
        "feed": entries,
        "page": client.get(f"/photos/{clip.pk}/").content.decode(),
    }


def test_a_clips_community_version_is_its_community_render_in_the_api_cards_iiif_and_feed(
    clip, draft, people, api, client, django_capture_on_commit_callbacks
):
    correction = accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    community = Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY)
    # Accepted but not rendered yet: everything shows the draft, never the keyframe's still.
    seen = everywhere(clip, api, client)
    assert seen["api"] is None
    assert seen["card"].version == "draft" and seen["card"].version_thumbnail == draft.thumbnail.name
    assert seen["card"].version_thumbnail != correction.thumbnail.name
    assert seen["iiif"]["id"].endswith(draft.video.url) and seen["iiif"]["type"] == "Video"
    community_title = "Harbour: film clip's community version (AI-colorized)"
    assert community_title not in seen["feed"]

    render(community)
    assert community.video_bytes == default_storage.size(community.video.name) > 0
    seen = everywhere(clip, api, client)
    version = seen["api"]
    assert version["kind"] == "clip_render" and version["draft"] == community.pk
    assert version["video_url"] == f"http://testserver{community.video.url}"
    assert version["thumbnail_url"] == f"http://testserver{community.thumbnail.url}"
    assert version["label"] == f"Community version · {community.label}" and "AI-colorized" in version["label"]
    assert "AI estimate" in version["ai_disclosure"] and clip.original_sha256 in version["ai_disclosure"]
    assert version["keyframes"] == [0] and version["model"]["slug"] == community.model_slug
    card = seen["card"]
    assert (card.version, card.version_thumbnail) == ("community", community.thumbnail.name)
    assert card.version_label.startswith("Community version · AI-colorized") and card.correction_id == correction.pk
    assert escape(community.thumbnail.url) in seen["gallery"]
    assert seen["iiif"]["id"].endswith(community.video.url) and "Community version" in seen["iiif"]["label"]["en"][0]
    assert "AI-colorized" in seen["iiif"]["label"]["en"][0]
    entry = seen["feed"][community_title]
    (enclosure,) = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "enclosure"]
    assert enclosure.get("href").endswith(community.video.url)
    assert enclosure.get("length") == str(community.video_bytes)
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["AI-colorized", "film", "community version"]
    assert "keyframes 1" in entry.find(f"{ATOM}summary").text
    # The accepted keyframe correction's own entry encloses nothing: its render is a still.
    accepted_entry = seen["feed"]["Harbour: community version accepted"]
    assert [link.get("rel") for link in accepted_entry.findall(f"{ATOM}link")] == ["alternate"]
    assert escape(community.video.url) in seen["page"] and "Showing the community version" in seen["page"]

    # A hidden clip: gone from the feed and, for outsiders, from the API.
    moderation.content_hide(moderator=people["moderator"], kind="photo", obj=clip, reason="Under review.")
    import xml.etree.ElementTree as ET

    feed = ET.fromstring(client.get("/feeds/accepted.atom").content)
    assert not [e for e in feed.findall(f"{ATOM}entry") if "Harbour" in e.find(f"{ATOM}title").text]
    assert api(people["volunteer"]).get(f"/api/v1/photos/{clip.pk}/").status_code == 404


def test_while_a_new_community_render_runs_the_previous_one_plays_and_the_page_says_so(
    clip, draft, people, api, client, django_capture_on_commit_callbacks
):
    accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    first = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY))
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert 'id="clip-new-version"' not in page
    accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, django_capture_on_commit_callbacks)
    second = Draft.objects.filter(photo=clip, purpose=DraftPurpose.COMMUNITY).exclude(pk=first.pk).get()
    Draft.objects.filter(pk=second.pk).update(status=DraftStatus.RUNNING, progress=42, stage="Colorizing frame 10")
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert escape(first.video.url) in page and "Showing the community version" in page
    notice = page[page.index('id="clip-new-version"') :]
    notice = notice[: notice.index("</span>")]
    assert "A new community version is being rendered: 42%" in notice
    assert "The previous community version plays until it is finished." in notice
    assert '<progress max="100" value="42"' in notice
    assert api().get(f"/api/v1/photos/{clip.pk}/").json()["community_version"]["draft"] == first.pk

    Draft.objects.filter(pk=second.pk).update(status=DraftStatus.QUEUED, progress=0)
    render(second)
    page = client.get(f"/photos/{clip.pk}/").content.decode()
    assert 'id="clip-new-version"' not in page and escape(second.video.url) in page
    version = api().get(f"/api/v1/photos/{clip.pk}/").json()["community_version"]
    assert version["draft"] == second.pk and version["keyframes"] == [0, CUT]


def test_a_render_carrying_a_hidden_or_revoked_correction_stops_being_the_community_version_at_once(
    clip, draft, people, api, client, django_capture_on_commit_callbacks
):
    from community.review.clips import community_render
    from community.review.revocations import correction_revoke

    first = accepted_keyframe(clip, draft, people, people["author"], 0, RED, django_capture_on_commit_callbacks)
    alone = render(Draft.objects.get(photo=clip, purpose=DraftPurpose.COMMUNITY))  # carries the first only
    second = accepted_keyframe(clip, draft, people, people["volunteer3"], CUT, BLUE, django_capture_on_commit_callbacks)
    both = render(Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).order_by("-pk").first())
    assert community_render(clip) == both

    # Hiding the first withdraws both renders that carry it; the next one is only queued: the draft plays.
    with django_capture_on_commit_callbacks(execute=True):
        moderation.content_hide(moderator=people["moderator"], kind="correction", obj=first, reason="Spam.")
    without = Draft.objects.filter(purpose=DraftPurpose.COMMUNITY).order_by("-pk").first()
    assert without.status == DraftStatus.QUEUED and without.hints == {"keyframes": {str(CUT): second.hints}}
    assert community_render(clip) is None
    seen = everywhere(clip, api, client)
    assert seen["api"] is None and seen["card"].version == "draft"
    assert seen["iiif"]["id"].endswith(draft.video.url)
    assert not [t for t in seen["feed"] if "community version (AI-colorized)" in t]
    assert escape(both.video.url) not in seen["page"] and escape(alone.video.url) not in seen["page"]
    render(without)
    assert community_render(clip) == without
    assert everywhere(clip, api, client)["card"].version_thumbnail == without.thumbnail.name

    # Revoking the second withdraws its render too (none accepted then: the draft plays).
    with django_capture_on_commit_callbacks(execute=True):
        correction_revoke(
            correction_id=second.pk, moderator=people["moderator"], reason="Wrong hull.", evidence=[{"text": "Print"}]
        )
    assert community_render(clip) is None
    assert api().get(f"/api/v1/photos/{clip.pk}/").json()["community_version"] is None
