"""Signals the review work sends for listeners outside it (extensions, tests).

``correction_decided`` is sent after a correction is accepted or rejected (by the vote rule or by
a moderator) and after the transaction commits; ``content_hidden`` after a moderator hides or
restores a photo, correction or comment. Nothing in community depends on them: the services that
decide or hide refresh the gallery entry and queue their tasks themselves (see
``community.review.decisions`` and ``community.review.moderation``).
"""

from django.dispatch import Signal

# kwargs: correction (Correction), photo_id (int), status (str)
correction_decided = Signal()
# kwargs: kind ("photo" | "correction" | "comment"), obj, photo_id (int | None), hidden (bool)
content_hidden = Signal()
