"""Ledger rows get a reason code and audit entries a subject.

Rows written before this migration carried their meaning in English text: "signup", "daily
top-up", and "job <status>: <why>" for automatic refunds. The backfill turns that text into
codes (and keeps only the "why" as the detail); audit entries of a job get the job as subject.
"""

from django.conf import settings
from django.db import migrations, models

REFUND_CODES = {
    "failed": "job_failed",
    "unsafe": "job_unsafe",
    "timed_out": "job_timed_out",
    "cancelled": "job_cancelled",
}


def _code_of(row) -> tuple[str, str]:
    """(reason_code, reason) for a ledger row written before codes existed."""
    reason = row.reason
    if row.kind == "debit":
        return "job_charge", ""
    if row.kind == "adjustment":
        return "staff_adjustment", reason
    if row.kind == "grant":
        if row.actor_id is not None:
            return "staff_grant", reason
        return {"signup": ("signup", ""), "daily top-up": ("daily_topup", "")}.get(reason, ("system_grant", reason))
    if row.actor_id is not None or not row.is_automatic:
        return "staff_refund", reason
    for status, code in REFUND_CODES.items():
        prefix = f"job {status}: "
        if reason.startswith(prefix):
            return code, reason.removeprefix(prefix)
    return "job_failed", reason


def backfill(apps, schema_editor):
    CreditTransaction = apps.get_model("gallery", "CreditTransaction")
    for row in CreditTransaction.objects.filter(reason_code="").iterator():
        row.reason_code, row.reason = _code_of(row)
        row.save(update_fields=["reason_code", "reason"])
    AuditEntry = apps.get_model("gallery", "AuditEntry")
    for entry in AuditEntry.objects.filter(subject_type="").iterator():
        data = entry.data or {}
        if "report" in data:
            entry.subject_type, entry.subject_id = "gallery.report", str(data["report"])
        elif "image" in data:
            entry.subject_type, entry.subject_id = "gallery.image", str(data["image"])
        elif entry.job_id is not None:
            entry.subject_type, entry.subject_id = "gallery.job", str(entry.job_id)
        else:
            continue
        entry.save(update_fields=["subject_type", "subject_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0006_kind_choices_from_registry'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['-created_at'], 'verbose_name': 'audit entry', 'verbose_name_plural': 'audit entries'},
        ),
        migrations.AddField(
            model_name='auditentry',
            name='subject_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='subject_type',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='credittransaction',
            name='reason_code',
            field=models.CharField(choices=[('signup', 'Welcome credits'), ('daily_topup', 'Daily top-up'), ('system_grant', 'Credits granted'), ('staff_grant', 'Granted by staff'), ('job_charge', 'Job'), ('job_failed', 'Refund — the job failed'), ('job_unsafe', 'Refund — the picture was unsafe'), ('job_timed_out', 'Refund — the job timed out'), ('job_cancelled', 'Refund — the job was cancelled'), ('staff_refund', 'Refunded by staff'), ('staff_adjustment', 'Adjusted by staff')], default='', max_length=24),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='credittransaction',
            name='reason_code',
            field=models.CharField(choices=[('signup', 'Welcome credits'), ('daily_topup', 'Daily top-up'), ('system_grant', 'Credits granted'), ('staff_grant', 'Granted by staff'), ('job_charge', 'Job'), ('job_failed', 'Refund — the job failed'), ('job_unsafe', 'Refund — the picture was unsafe'), ('job_timed_out', 'Refund — the job timed out'), ('job_cancelled', 'Refund — the job was cancelled'), ('staff_refund', 'Refunded by staff'), ('staff_adjustment', 'Adjusted by staff')], max_length=24),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('job.refunded', 'Job refunded'), ('job.refunded_manually', 'Job refunded by staff'), ('job.retried', 'Job retried'), ('credits.granted', 'Credits granted by staff'), ('credits.adjusted', 'Credits adjusted by staff'), ('report.hidden', 'Report upheld, picture hidden'), ('report.dismissed', 'Report dismissed'), ('image.hidden', 'Picture hidden'), ('image.unhidden', 'Picture shown again'), ('inspiration.featured', 'Picture featured'), ('inspiration.unfeatured', 'Picture no longer featured'), ('sensitive_word.added', 'Sensitive word added'), ('sensitive_word.changed', 'Sensitive word changed'), ('sensitive_word.deleted', 'Sensitive word deleted')], max_length=64),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['subject_type', 'subject_id'], name='audit_subject'),
        ),
        migrations.AddConstraint(
            model_name='auditentry',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['job.refunded', 'job.refunded_manually', 'job.retried', 'credits.granted', 'credits.adjusted', 'report.hidden', 'report.dismissed', 'image.hidden', 'image.unhidden', 'inspiration.featured', 'inspiration.unfeatured', 'sensitive_word.added', 'sensitive_word.changed', 'sensitive_word.deleted'])), name='audit_action_known'),
        ),
        migrations.AddConstraint(
            model_name='credittransaction',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'grant'), ('reason_code__in', ['signup', 'daily_topup', 'system_grant', 'staff_grant'])), models.Q(('kind', 'debit'), ('reason_code__in', ['job_charge'])), models.Q(('kind', 'refund'), ('reason_code__in', ['job_failed', 'job_unsafe', 'job_timed_out', 'job_cancelled', 'staff_refund'])), models.Q(('kind', 'adjustment'), ('reason_code__in', ['staff_adjustment'])), _connector='OR'), name='ledger_reason_code_matches_kind'),
        ),
    ]
