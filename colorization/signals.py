"""Signals other apps listen to (community reacts to renders without colorization importing it)."""

from django.dispatch import Signal

# Sent after a draft is finished, with ``draft_id`` and ``status`` ("done" or "failed").
draft_finished = Signal()
