"""Signal receivers that keep gallery entries and cached pages in step."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from colorization.models import Draft, Photo
from colorization.signals import draft_finished
from community.gallery.entries import _refresh
from community.gallery.page_cache import pages_invalidate
from community.models import Comment, Correction, Vote
from community.review.signals import content_hidden, correction_decided


@receiver(post_save, sender=Photo, dispatch_uid="gallery_photo_saved")
def _photo_saved(sender, instance: Photo, **kwargs) -> None:
    _refresh(instance.pk)


@receiver(post_delete, sender=Photo, dispatch_uid="gallery_photo_deleted")
def _photo_deleted(sender, instance: Photo, **kwargs) -> None:
    pages_invalidate(photo_id=instance.pk)  # the entry went with it (CASCADE)


@receiver(draft_finished, dispatch_uid="gallery_draft_finished")
def _draft_finished(sender, draft_id: int, status: str, **kwargs) -> None:
    photo_id = Draft.objects.filter(pk=draft_id).values_list("photo_id", flat=True).first()
    _refresh(photo_id)


@receiver(correction_decided, dispatch_uid="gallery_correction_decided")
def _correction_decided(sender, correction, photo_id: int, status: str, **kwargs) -> None:
    _refresh(photo_id)


@receiver(content_hidden, dispatch_uid="gallery_content_hidden")
def _content_hidden(sender, kind: str, obj, photo_id: int | None, hidden: bool, **kwargs) -> None:
    if photo_id is None:
        pages_invalidate()
    _refresh(photo_id)


@receiver(post_save, sender=Comment, dispatch_uid="gallery_comment_saved")
@receiver(post_delete, sender=Comment, dispatch_uid="gallery_comment_deleted")
def _comment_changed(sender, instance: Comment, **kwargs) -> None:
    photo_id = instance.photo_id
    if photo_id is None and instance.correction_id:
        photo_id = Correction.objects.filter(pk=instance.correction_id).values_list("photo_id", flat=True).first()
    _refresh(photo_id)


@receiver(post_save, sender=Correction, dispatch_uid="gallery_correction_saved")
def _correction_saved(sender, instance: Correction, **kwargs) -> None:
    # A new correction or a status change made with save(): the photo page's timeline changes.
    _refresh(instance.photo_id)


@receiver(post_save, sender=Vote, dispatch_uid="gallery_vote_saved")
def _vote_saved(sender, instance: Vote, **kwargs) -> None:
    photo_id = Correction.objects.filter(pk=instance.correction_id).values_list("photo_id", flat=True).first()
    if photo_id is not None:
        pages_invalidate(photo_id=photo_id)
        transaction.on_commit(lambda: pages_invalidate(photo_id=photo_id))
