"""FacetCount: the search's facet counts, kept by the database (gallery/facet_summary.py): the
table, the triggers on gallery_image that keep it, and a first count of every picture there is.
Both databases; on SQLite the triggers are made again after every migrate (apps.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def install(apps, schema_editor):
    from gallery import facet_summary

    facet_summary.install(schema_editor.connection)


def remove(apps, schema_editor):
    from gallery import facet_summary

    facet_summary.remove(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0023_image_model_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FacetCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=16, verbose_name='kind')),
                ('rating', models.PositiveSmallIntegerField(verbose_name='rating')),
                ('is_favourite', models.BooleanField(verbose_name='favourite')),
                ('width', models.PositiveIntegerField(verbose_name='width')),
                ('height', models.PositiveIntegerField(verbose_name='height')),
                ('model_name', models.CharField(max_length=64, verbose_name='model')),
                ('n', models.PositiveIntegerField(verbose_name='pictures')),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner')),
            ],
            options={
                'verbose_name': 'facet count',
                'verbose_name_plural': 'facet counts',
                'constraints': [models.UniqueConstraint(fields=('owner', 'kind', 'rating', 'is_favourite', 'width', 'height', 'model_name'), name='facetcount_one_row_per_combination'), models.CheckConstraint(condition=models.Q(('n__gte', 0)), name='facetcount_never_negative')],
            },
        ),
        migrations.RunPython(install, remove),
    ]
