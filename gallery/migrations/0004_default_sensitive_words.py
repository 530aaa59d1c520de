"""Seed a small default list of sensitive words (Chinese and English); staff edit it in the admin.

Block refuses the whole prompt (nothing is charged); mask replaces the word with ＊ in what is
sent and shown. Existing words are left as staff set them; reversing removes only the defaults.
"""

from django.db import migrations

DEFAULT_WORDS = [
    # block: the prompt is refused
    ("恐怖袭击", "block"),
    ("terrorist attack", "block"),
    ("制造炸弹", "block"),
    ("bomb making", "block"),
    ("儿童色情", "block"),
    ("child pornography", "block"),
    # mask: the word is replaced, the rest of the prompt is sent
    ("血腥", "mask"),
    ("gore", "mask"),
    ("暴力", "mask"),
    ("violence", "mask"),
]


def seed(apps, schema_editor):
    SensitiveWord = apps.get_model("gallery", "SensitiveWord")
    for word, mode in DEFAULT_WORDS:
        SensitiveWord.objects.get_or_create(word=word, defaults={"mode": mode, "is_active": True})


def unseed(apps, schema_editor):
    SensitiveWord = apps.get_model("gallery", "SensitiveWord")
    SensitiveWord.objects.filter(word__in=[word for word, _mode in DEFAULT_WORDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0003_curated_prompts")]
    operations = [migrations.RunPython(seed, unseed)]
