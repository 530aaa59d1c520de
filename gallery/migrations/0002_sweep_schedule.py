"""Schedule the stale-job sweep every minute (gallery.tasks.sweep_stale_jobs)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="sweep-stale-jobs",
        defaults={"func": "gallery.tasks.sweep_stale_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="sweep-stale-jobs").delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
