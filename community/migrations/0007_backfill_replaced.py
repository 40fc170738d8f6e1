"""Record ``Correction.replaced`` for the corrections accepted before the link existed, so that a
revocation restores by following the links alone (no guessing from dates at revocation time).

Per photo, the history is replayed in the order it happened: each acceptance (``decided_at`` of a
correction that was accepted: accepted, superseded or revoked now) replaced the community version
of that moment; each revocation made its ``restored`` correction (or none) the community version.
A link already recorded is kept; the first accepted version replaced nothing and keeps NULL.
"""

from django.db import migrations

WAS_ACCEPTED = ("accepted", "superseded", "revoked")


def backfill(apps, schema_editor):
    Correction = apps.get_model("community", "Correction")
    Revocation = apps.get_model("community", "Revocation")
    photos = (
        Correction.objects.filter(replaced__isnull=True, status__in=WAS_ACCEPTED, decided_at__isnull=False)
        .values_list("photo_id", flat=True)
        .distinct()
    )
    for photo_id in list(photos):
        events = [
            (c.decided_at, 0, c.pk, "accept", c)
            for c in Correction.objects.filter(photo_id=photo_id, status__in=WAS_ACCEPTED, decided_at__isnull=False)
        ]
        events += [
            (r.decided_at, 1, r.pk, "revoke", r)
            for r in Revocation.objects.filter(
                correction__photo_id=photo_id, status="revoked", decided_at__isnull=False
            )
        ]
        current = None
        for _, _, _, kind, row in sorted(events, key=lambda e: e[:3]):
            if kind == "accept":
                if row.replaced_id is None and current is not None and current != row.pk:
                    Correction.objects.filter(pk=row.pk).update(replaced_id=current)
                current = row.pk
            elif row.correction_id == current:
                current = row.restored_id


class Migration(migrations.Migration):
    dependencies = [("community", "0006_hint_evidence")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
