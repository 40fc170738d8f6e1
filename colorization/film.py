"""Rendering a film clip's draft (issue 19): the worker's side, in chunks that survive a dead worker.

A clip's draft is a ``Draft`` like a photo's: requested by ``drafting.draft_request``, claimed by
``colorize_draft`` with the same conditional update, kept alive by the same heartbeat thread, and
recovered by the same sweeper. ``drafting.drafts_render`` hands a clip's draft here. The clip is
rendered ``CHROMA_VIDEO_CHUNK_FRAMES`` frames at a time; after each chunk its video and the
renderer's state (``engine.video.RenderState``, plain arrays) are stored, and the draft row records
them. A worker that takes over a dead one's draft starts from the last recorded chunk. The chunks
are then joined with the original's audio into one H.264/AAC MP4 carrying the AI disclosure.

Keyframes (issue 19, item 3): every render stores each keyframe as stills (``Draft.stills``): the
frame as rendered (PNG, with the disclosure) and as decoded from the original, so volunteers
correct a keyframe in the photo editor, and its luma plane (lossless), which previews and keyframe
renders read rather than decoding a long clip up to the frame. A keyframe correction's own render is a ``Draft`` with a
``frame``: that frame alone, colorized with the correction's hints as a photo is
(``keyframe_luminance``). A community render (purpose "community") is a whole-clip render whose
``hints`` are ``{"keyframes": {"120": hints, ...}}``: the accepted corrections' hints, each carried
through its shot by the renderer. Who asks for it (and with which hints) is the caller's business:
this module never reads corrections.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from colorization.engine.video import (
    NoFramesLeft,
    RenderState,
    VideoError,
    choose_keyframes,
    detect_shots,
    frame_luminance,
    join_chunks,
    read_frame,
    web_copy,
)
from colorization.images import EXTENSIONS
from colorization.media import key_token
from colorization.models import Draft, DraftStatus, Photo, Shot
from colorization.storage import storage_replace, storage_replace_file

logger = logging.getLogger(__name__)

PROGRESS_FROM, PROGRESS_TO = 15, 95  # the draft's 0-100 progress while frames are rendered


def clip_keys(draft: Draft) -> dict[str, str]:
    """Where a clip draft's files live (the same keys on every run; a token nobody can guess)."""
    base = f"drafts/{draft.photo_id}/{draft.pk}-{key_token(f'draft:{draft.pk}')}"
    return {"video": f"{base}.mp4", "thumbnail": f"{base}-thumb.jpg", "chunks": f"{base}-chunks"}


def still_keys(draft: Draft, frame: int) -> dict[str, str]:
    """Where a clip render's stills of ``frame`` live: as rendered, as the original shows it, and the
    original's luma plane (8-bit grey PNG, lossless: what previews and keyframe renders read)."""
    base = f"drafts/{draft.photo_id}/{draft.pk}-{key_token(f'draft:{draft.pk}')}-frame{frame:06d}"
    return {"colour": f"{base}.png", "original": f"{base}-original.png", "luma": f"{base}-luma.png"}


def keyframe_luminance(photo: Photo, frame: int, *, decode: bool = True):
    """Frame ``frame`` of a clip's original as a ``LumaImage`` (what a keyframe correction is rendered
    and previewed from). Read from a render's lossless luma still when one has it; else decoded from
    the original, only with ``decode`` (workers: a web request must not decode a long clip up to the
    frame). Raises ``VideoError`` when the clip has no such frame, or no still of it without ``decode``."""
    renders = Draft.objects.filter(photo=photo, status=DraftStatus.DONE, frame__isnull=True).order_by("-id")
    for stills in renders.values_list("stills", flat=True):
        key = (stills or {}).get(str(frame), {}).get("luma")
        if key and default_storage.exists(key):
            with default_storage.open(key, "rb") as f, Image.open(f) as im:
                y = np.asarray(im.convert("L"))
            if y.shape == (photo.height, photo.width):
                return frame_luminance(y)
    if not decode:
        raise VideoError(
            f"frame {frame} has no still yet: previews are of a finished render's keyframes (the clip page lists them)"
        )
    with tempfile.TemporaryDirectory(prefix="chroma-frame-") as tmp:
        source = _fetch(photo.original.name, Path(tmp) / f"source.{EXTENSIONS.get(photo.image_format, 'bin')}")
        planes, _ = read_frame(source, frame)
    return frame_luminance(planes.y)


def _chunk_keys(draft: Draft, number: int) -> tuple[str, str]:
    folder = clip_keys(draft)["chunks"]
    return f"{folder}/{number:05d}.mp4", f"{folder}/{number:05d}.npz"


def _fetch(key: str, path: Path) -> Path:
    with default_storage.open(key, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return path


def clip_shots(photo: Photo, source: Path) -> list[Shot]:
    """The clip's shots with their keyframes, detected once and stored (later renders reuse them)."""
    shots = list(photo.shots.all())
    if shots:
        return shots
    starts, frames, fps = detect_shots(source)
    keyframes = choose_keyframes(starts, frames, float(fps))
    bounds = [*starts, frames]
    rows = [
        Shot(
            photo=photo,
            number=n,
            start_frame=start,
            end_frame=end,
            keyframes=[k for k in keyframes if start <= k < end],
        )
        for n, (start, end) in enumerate(pairwise(bounds))
    ]
    with transaction.atomic():
        if not photo.shots.exists():  # another worker may have stored them meanwhile
            Shot.objects.bulk_create(rows)
    return list(photo.shots.all())


def web_video_key(photo: Photo) -> str:
    """Where a clip's browser-playable copy lives: named by the original's sha256, like the original."""
    return f"web/{photo.original_sha256[:2]}/{photo.original_sha256}.mp4"


def ensure_web_video(photo: Photo, source: Path, draft_id: int | None = None) -> str:
    """The key of what the player shows as the clip's original; makes the H.264/AAC copy if there is none.

    Done once per clip, by the first render: the copy is written under a key derived from the
    original's content, then the row names it (only if no other worker named one meanwhile).
    """
    if photo.web_video:
        return photo.web_video.name
    key = web_video_key(photo)
    if not default_storage.exists(key):
        if draft_id is not None:
            Draft.heartbeat([draft_id], stage="Making a copy of the original that browsers play")
        out = source.with_name("web.mp4")
        web_copy(source, out)
        storage_replace_file(key, out)
        out.unlink()
    Photo.objects.filter(pk=photo.pk, web_video="").update(web_video=key)
    photo.web_video.name = key
    logger.info("photo %s: web-playable copy %s", photo.pk, key)
    return key


def clip_render(draft_id: int, colorizer, *, disclosure: dict) -> bool:
    """Render a claimed clip draft, resuming after its last stored chunk. True when it finished."""
    from colorization.engine.imageio import encode
    from colorization.engine.inference import RenderOptions
    from colorization.engine.video import VideoColorizer

    draft = Draft.objects.select_related("photo").get(pk=draft_id)
    photo = draft.photo
    total = photo.frame_count or 0
    chunk_frames = settings.CHROMA_VIDEO_CHUNK_FRAMES
    renderer = VideoColorizer(
        colorizer, render_size=draft.render_size, options=RenderOptions(saturation=draft.saturation)
    )
    with tempfile.TemporaryDirectory(prefix="chroma-clip-") as tmp:
        tmp = Path(tmp)
        source = _fetch(photo.original.name, tmp / f"source.{EXTENSIONS.get(photo.image_format, 'bin')}")
        ensure_web_video(photo, source, draft_id)
        shots = clip_shots(photo, source)
        starts = [s.start_frame for s in shots]
        keyframes = {k for s in shots for k in s.keyframes}
        hints = draft.keyframe_hints
        stills = dict(draft.stills or {})

        def keep_still(index: int, colour, original, luma) -> None:
            keys = still_keys(draft, index)
            storage_replace(keys["colour"], encode(colour, "png", disclosure))
            storage_replace(keys["original"], encode(original, "png"))
            buffer = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(luma)).save(buffer, "PNG")  # uint8 (H,W): mode L
            storage_replace(keys["luma"], buffer.getvalue())
            stills[str(index)] = keys

        chunks = list(draft.chunks)
        state = RenderState()
        if chunks:
            with default_storage.open(chunks[-1]["state"], "rb") as f:
                state = RenderState.from_bytes(f.read())
            logger.info("draft %s: resuming at frame %d of %d", draft_id, state.frame, total)
        last_beat = 0.0

        def progress(done: int, _total: int) -> None:
            nonlocal last_beat
            now = time.monotonic()
            if now - last_beat < settings.CHROMA_VIDEO_PROGRESS_SECONDS and done < total:
                return
            last_beat = now
            _frame_progress(draft_id, done, total)

        while state.frame < total:
            number = len(chunks)
            stop = min(state.frame + chunk_frames, total)
            out = tmp / f"chunk-{number:05d}.mp4"
            begun = state.frame
            with contextlib.suppress(NoFramesLeft):  # the clip ended at the previous chunk
                renderer.render(
                    source,
                    out,
                    shots=starts,
                    keyframe_hints=hints,
                    state=state,
                    stop_after=stop,
                    progress=progress,
                    stills=keyframes,
                    on_still=keep_still,
                )
            if state.frame < stop:
                # The upload counted packets, not decoded pictures: a few may not decode. The clip
                # ends here; its row says so, and no chunk is stored without frames.
                logger.warning("draft %s: the clip has %d frames, not %d", draft_id, state.frame, total)
                total = state.frame
                Photo.objects.filter(pk=photo.pk).update(frame_count=total)
                if state.frame == begun:
                    if not chunks:
                        raise VideoError("the clip has no frames that can be decoded")
                    break
            video_key, state_key = _chunk_keys(draft, number)
            storage_replace(video_key, out.read_bytes())
            storage_replace(state_key, state.to_bytes())
            chunks.append({"video": video_key, "state": state_key, "frames": state.frame})
            held = Draft.objects.filter(pk=draft_id, status=DraftStatus.RUNNING).update(
                chunks=chunks, stills=stills, heartbeat_at=timezone.now(), **_progress_fields(state.frame, total)
            )
            if not held:
                return False  # failed or taken back meanwhile: stop, the row says what happened
            out.unlink()
        paths = []
        for n, chunk in enumerate(chunks):
            local = tmp / f"chunk-{n:05d}.mp4"
            paths.append(local if local.exists() else _fetch(chunk["video"], local))
        final = tmp / "colour.mp4"
        join_chunks(paths, source, final, {"title": f"{photo.title} (AI-colorized)", **disclosure})
        keys = clip_keys(draft)
        video_bytes = final.stat().st_size
        storage_replace(keys["video"], final.read_bytes())
        storage_replace(keys["thumbnail"], _thumbnail(final, disclosure))
    updated = Draft.objects.filter(pk=draft_id, status=DraftStatus.RUNNING).update(
        status=DraftStatus.DONE,
        progress=100,
        stage="Done",
        video=keys["video"],
        video_bytes=video_bytes,
        thumbnail=keys["thumbnail"],
        frames_done=total,
        frames_total=total,
        device=str(colorizer.device),
        finished_at=timezone.now(),
    )
    if updated:
        for chunk in chunks:
            for key in (chunk["video"], chunk["state"]):
                try:
                    default_storage.delete(key)
                except OSError:
                    logger.warning("could not remove chunk file %s", key)
    return bool(updated)


def _progress_fields(done: int, total: int) -> dict:
    share = done / total if total else 1.0
    return {
        "frames_done": done,
        "frames_total": total,
        "progress": round(PROGRESS_FROM + (PROGRESS_TO - PROGRESS_FROM) * share),
        "stage": f"Colorizing frame {done} of {total}"[:60],
    }


def _frame_progress(draft_id: int, done: int, total: int) -> None:
    Draft.heartbeat([draft_id], **_progress_fields(done, total))


def _thumbnail(path: Path, disclosure: dict) -> bytes:
    """The first colour frame, small, as a JPEG that carries the disclosure like a photo draft's."""
    import numpy as np

    from colorization.engine.imageio import encode

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            break
        else:
            raise VideoError("the colorized clip has no frames")
    image.thumbnail((settings.CHROMA_THUMBNAIL_SIZE, settings.CHROMA_THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return encode(np.asarray(image.convert("RGB")), "jpeg", disclosure)
