"""Signals other parts of the community app listen to.

``correction_decided`` is sent after a correction is accepted or rejected (by the vote rule or by
a moderator) and after the transaction commits; ``content_hidden`` after a moderator hides or
restores a photo, correction or comment. Conditional ``.update()`` calls send no model signals,
so the code that decides or hides sends these explicitly; caches and feeds listen to them.
"""

from django.dispatch import Signal

# kwargs: correction (Correction), photo_id (int), status (str)
correction_decided = Signal()
# kwargs: kind ("photo" | "correction" | "comment"), obj, photo_id (int | None), hidden (bool)
content_hidden = Signal()
