"""Schedule, once, the labelling of pictures stored before labelling existed (on an upgraded site;
gallery.tasks.relabel_stored_pictures, which hands itself on until every picture is done). A new
site runs it too: it finds every picture labelled already and ends."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="relabel-stored-pictures",
        defaults={"func": "gallery.tasks.relabel_stored_pictures", "schedule_type": "O", "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="relabel-stored-pictures").delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0015_prompt_search_indexes"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
