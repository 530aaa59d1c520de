"""Sensitive words by category, and the shipped default list (gallery/data/sensitive_words.csv).

The categories are made first, so every existing word can take the "other" category (staff's
own words) as its default. Then the shipped list is loaded: a word that is not there yet is
added as the file says; a word that is (the ten defaults of 0004, a staff word) keeps the mode
and the switch staff gave it and only takes its category from the file, if it had none.
Reversing removes the words this migration added (it remembers none, so: the file's words
that are not among 0004's defaults).
"""

import csv
from pathlib import Path


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


DEFAULT_LIST = Path(__file__).resolve().parent.parent / "data" / "sensitive_words.csv"
CATEGORIES = ["sexual", "minors", "violence", "self_harm", "drugs_weapons", "gambling", "fraud", "hate", "other"]
# The words of 0004_default_sensitive_words, which existed before this migration.
OLD_DEFAULTS = {"恐怖袭击", "terrorist attack", "制造炸弹", "bomb making", "儿童色情", "child pornography"}
OLD_DEFAULTS |= {"血腥", "gore", "暴力", "violence"}


def _shipped():
    with DEFAULT_LIST.open(encoding="utf-8", newline="") as handle:
        return [(row["word"].strip(), row["category"], row["mode"]) for row in csv.DictReader(handle)]


def create_categories(apps, schema_editor):
    SensitiveCategory = apps.get_model("gallery", "SensitiveCategory")
    for code in CATEGORIES:
        SensitiveCategory.objects.get_or_create(code=code)


def load_default_words(apps, schema_editor):
    SensitiveWord = apps.get_model("gallery", "SensitiveWord")
    existing = {word.word: word for word in SensitiveWord.objects.all()}
    new = []
    for word, category, mode in _shipped():
        known = existing.get(word)
        if known is None:
            new.append(SensitiveWord(word=word, category_id=category, mode=mode, is_active=True))
        elif known.category_id == "other":
            known.category_id = category
            known.save(update_fields=["category", "changed_at"])
    SensitiveWord.objects.bulk_create(new, batch_size=500)


def unload_default_words(apps, schema_editor):
    SensitiveWord = apps.get_model("gallery", "SensitiveWord")
    added = [word for word, _category, _mode in _shipped() if word not in OLD_DEFAULTS]
    SensitiveWord.objects.filter(word__in=added).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0009_signup_rate_and_one_signup_grant"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SensitiveCategory",
            fields=[
                (
                    "code",
                    models.CharField(
                        choices=[
                            ("sexual", "Sexual content"),
                            ("minors", "Sexualisation of minors"),
                            ("violence", "Violence and gore"),
                            ("self_harm", "Self-harm and suicide"),
                            ("drugs_weapons", "Drugs, weapons and explosives"),
                            ("gambling", "Gambling"),
                            ("fraud", "Fraud and counterfeiting"),
                            ("hate", "Hate and discrimination"),
                            ("other", "Other (staff's own words)"),
                        ],
                        max_length=16,
                        primary_key=True,
                        serialize=False,
                        verbose_name="category",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="screened")),
                (
                    "mode",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "Each word's own mode"),
                            ("block", "Block every word"),
                            ("mask", "Mask every word"),
                        ],
                        default="",
                        max_length=8,
                        verbose_name="mode",
                    ),
                ),
                ("changed_at", models.DateTimeField(auto_now=True, verbose_name="changed")),
            ],
            options={
                "verbose_name": "sensitive-word category",
                "verbose_name_plural": "sensitive-word categories",
            },
        ),
        migrations.RunPython(create_categories, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="sensitiveword",
            options={"ordering": ["word"], "verbose_name": "sensitive word", "verbose_name_plural": "sensitive words"},
        ),
        migrations.RemoveConstraint(
            model_name="auditentry",
            name="audit_action_known",
        ),
        migrations.AddField(
            model_name="sensitiveword",
            name="changed_at",
            field=models.DateTimeField(auto_now=True, verbose_name="changed"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("job.refunded", "Job refunded"),
                    ("job.refunded_manually", "Job refunded by staff"),
                    ("job.retried", "Job retried"),
                    ("credits.granted", "Credits granted by staff"),
                    ("credits.adjusted", "Credits adjusted by staff"),
                    ("report.hidden", "Report upheld, picture hidden"),
                    ("report.dismissed", "Report dismissed"),
                    ("image.hidden", "Picture hidden"),
                    ("image.unhidden", "Picture shown again"),
                    ("inspiration.featured", "Picture featured"),
                    ("inspiration.unfeatured", "Picture no longer featured"),
                    ("sensitive_word.added", "Sensitive word added"),
                    ("sensitive_word.changed", "Sensitive word changed"),
                    ("sensitive_word.deleted", "Sensitive word deleted"),
                    ("sensitive_words.imported", "Sensitive words imported"),
                    ("sensitive_category.changed", "Sensitive-word category changed"),
                ],
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="sensitiveword",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="added"),
        ),
        migrations.AlterField(
            model_name="sensitiveword",
            name="is_active",
            field=models.BooleanField(default=True, verbose_name="active"),
        ),
        migrations.AlterField(
            model_name="sensitiveword",
            name="mode",
            field=models.CharField(
                choices=[("block", "Block the prompt"), ("mask", "Mask the word"), ("allow", "Allow (an exception)")],
                default="mask",
                max_length=8,
                verbose_name="mode",
            ),
        ),
        migrations.AlterField(
            model_name="sensitiveword",
            name="word",
            field=models.CharField(max_length=64, unique=True, verbose_name="word"),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "action__in",
                        [
                            "job.refunded",
                            "job.refunded_manually",
                            "job.retried",
                            "credits.granted",
                            "credits.adjusted",
                            "report.hidden",
                            "report.dismissed",
                            "image.hidden",
                            "image.unhidden",
                            "inspiration.featured",
                            "inspiration.unfeatured",
                            "sensitive_word.added",
                            "sensitive_word.changed",
                            "sensitive_word.deleted",
                            "sensitive_words.imported",
                            "sensitive_category.changed",
                        ],
                    )
                ),
                name="audit_action_known",
            ),
        ),
        migrations.AddField(
            model_name="sensitiveword",
            name="category",
            field=models.ForeignKey(
                default="other",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="words",
                to="gallery.sensitivecategory",
                verbose_name="category",
            ),
        ),
        migrations.RunPython(load_default_words, unload_default_words),
    ]
