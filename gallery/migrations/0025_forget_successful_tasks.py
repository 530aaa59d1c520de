from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="forget-successful-tasks",
        defaults={"func": "gallery.tasks.forget_successful_tasks", "schedule_type": "D", "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="forget-successful-tasks").delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0024_facet_counts")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
