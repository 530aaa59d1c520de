"""Schedule the sweep of expired result files every five minutes (engine.tasks.sweep_results)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="engine-sweep-results",
        defaults={"func": "engine.tasks.sweep_results", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="engine-sweep-results").delete()


class Migration(migrations.Migration):
    dependencies = [("engine", "0001_initial"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
