"""Notifications: in the app (a page and an unread count) and by e-mail through the configured backend.

The e-mail is sent by a Celery task (``community.tasks.send_notification_email``) queued after
the commit, never in the request that caused it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from community.models import Notification

logger = logging.getLogger(__name__)


def notify(*, recipient, verb: str, text: str, url: str = "", correction=None) -> Notification:
    """Store a notification; its e-mail goes out after the transaction commits."""
    notification = Notification.objects.create(
        recipient=recipient, verb=verb, text=text[:500], url=url[:500], correction=correction
    )
    _unread_changed(recipient.pk)
    if settings.CHROMA_NOTIFY_BY_EMAIL and recipient.email:
        from community.tasks import send_notification_email

        transaction.on_commit(lambda: send_notification_email.delay(notification.pk), robust=True)
    return notification


def notification_email(notification_id: int, *, reraise: tuple[type[BaseException], ...] = ()) -> bool:
    """Send one notification by e-mail, once (claimed with a conditional update).

    A failed send gives the claim back; errors of the ``reraise`` types are raised afterwards, so
    the Celery task can retry them, others are logged.
    """
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    link = f"{settings.CHROMA_SITE_URL}{notification.url}" if notification.url else settings.CHROMA_SITE_URL
    try:
        send_mail(
            subject=f"Chroma Commons: {notification.text[:70]}",
            message=f"{notification.text}\n\n{link}\n\nYou receive this because you contribute to Chroma Commons.",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient.email],
        )
    except Exception as exc:
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        if isinstance(exc, reraise):
            raise
        logger.exception("could not e-mail notification %s", notification_id)
        return False
    return True


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def _unread_changed(user_id: int) -> None:
    """Drop the cached unread count now and after the commit (a reader in between may cache the old one)."""
    cache.delete(_unread_key(user_id))
    transaction.on_commit(lambda: cache.delete(_unread_key(user_id)))


def unread_count(user) -> int:
    """The header's badge on every signed-in page: kept in the shared cache while fragments are on
    (``notify`` and ``notifications_mark_read`` drop it), else counted each time."""
    if not user.is_authenticated:
        return 0
    seconds = settings.CHROMA_FRAGMENT_CACHE_SECONDS
    if seconds > 0:
        count = cache.get(_unread_key(user.pk))
        if count is not None:
            return count
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    if seconds > 0:
        cache.set(_unread_key(user.pk), count, seconds)
    return count


def notifications_mark_read(*, user, ids=None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    changed = qs.update(read_at=timezone.now())
    _unread_changed(user.pk)
    return changed
