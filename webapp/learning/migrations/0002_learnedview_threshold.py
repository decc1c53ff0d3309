"""LearnedView.threshold (ml.adapt.View.threshold, measured at harvest). Views stored before it
get 1.0 (ml.adapt.DEFAULT_THRESHOLD = no effect: such a view changes no run). Their examples are
marked to be harvested again, so the next harvest of their video (any review change there, or
Admin -> Videos -> "Learn from this review now", Admin -> Shops -> "Learn now") replaces them with
views carrying a measured threshold; removed views stay removed."""

from django.db import migrations, models


def harvest_again(apps, schema_editor):
    ShopExample = apps.get_model("learning", "ShopExample")
    ShopExample.objects.filter(views__isnull=False).update(harvested_version=None)


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='learnedview',
            name='threshold',
            field=models.FloatField(default=1.0, help_text='The cosine above which a crop counts as this view (measured at harvest against the rest of its video); 1.0: no effect (a view harvested before thresholds were stored).'),
        ),
        migrations.RunPython(harvest_again, migrations.RunPython.noop),
    ]
