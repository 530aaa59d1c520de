"""Schedule the daily sweep of orphaned stored objects (gallery.tasks.sweep_orphaned_objects)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="sweep-orphaned-objects",
        defaults={"func": "gallery.tasks.sweep_orphaned_objects", "schedule_type": "D", "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="sweep-orphaned-objects").delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0004_default_sensitive_words"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
