"""The one door through which colorization's events enter community.

colorization never imports community, so it cannot call our services; what it does (a photo
uploaded, edited or deleted, a draft finished) reaches us only as signals, and these are the only
receivers in the app. Everything community itself changes is an explicit call from the service
that changes it (``review.decisions`` refreshes the gallery entry when it decides, and so on).

The choice: the receivers re-derive ``GalleryEntry``, which is community's denormalized copy of
colorization's photo and drafts (a cache in a table), and drop cached pages. The refresh is
synchronous, a few indexed queries in a savepoint of the sender's transaction, so a new upload is
in the gallery as soon as it commits. Marking entries stale for a worker would need a new column
(a migration) and would leave new uploads out of the gallery until a worker ran; a hook that
colorization calls would make colorization know about community. A finished render of a
gold-standard correction only queues its scoring (``score_gold_correction``); the scoring itself
runs in a task.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from colorization.models import Draft, DraftStatus, Photo
from colorization.signals import draft_finished
from community.gallery.entries import gallery_entry_update
from community.gallery.page_cache import pages_invalidate
from community.models import Correction


@receiver(post_save, sender=Photo, dispatch_uid="community_photo_saved")
def _photo_saved(sender, instance: Photo, **kwargs) -> None:
    gallery_entry_update(photo_id=instance.pk)


@receiver(post_delete, sender=Photo, dispatch_uid="community_photo_deleted")
def _photo_deleted(sender, instance: Photo, **kwargs) -> None:
    pages_invalidate(photo_id=instance.pk)  # the entry went with it (CASCADE)


@receiver(draft_finished, dispatch_uid="community_draft_finished")
def _draft_finished(sender, draft_id: int, status: str, **kwargs) -> None:
    draft = Draft.objects.filter(pk=draft_id).only("photo_id").first()
    if draft is None:
        return
    gallery_entry_update(photo_id=draft.photo_id)
    correction = Correction.objects.filter(render_id=draft_id).only("pk", "is_gold").first()
    if correction is not None and correction.is_gold and status == DraftStatus.DONE:
        from community.review.gold import gold_score_enqueue

        gold_score_enqueue(correction.pk)
