# The safety line's tables (early warnings and the demands behind them); owned by the safety part of insight.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("insight", "0002_hot"),
        ("demands", "0001_initial"),
        ("directory", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SafetyWarning',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.CharField(choices=[('grid', '网格'), ('community', '社区'), ('street', '街道')], max_length=16, verbose_name='层级')),
                ('score', models.FloatField(verbose_name='预警分值')),
                ('line', models.FloatField(verbose_name='安全线')),
                ('weight', models.FloatField(default=0, verbose_name='积累量')),
                ('expected', models.FloatField(default=0, verbose_name='常态积累量')),
                ('open_count', models.PositiveIntegerField(default=0, verbose_name='未办结诉求数')),
                ('peak_score', models.FloatField(default=0, verbose_name='最高分值')),
                ('last_score', models.FloatField(default=0, verbose_name='最近分值')),
                ('last_seen_at', models.DateTimeField(blank=True, null=True, verbose_name='最近评估')),
                ('raised_at', models.DateTimeField(db_index=True, verbose_name='预警时间')),
                ('state', models.CharField(choices=[('open', '待处置'), ('handled', '已处置')], default='open', max_length=8, verbose_name='状态')),
                ('cleared_at', models.DateTimeField(blank=True, null=True, verbose_name='回落时间')),
                ('handled_at', models.DateTimeField(blank=True, null=True, verbose_name='处置时间')),
                ('note', models.TextField(blank=True, verbose_name='处置说明')),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.category', verbose_name='分类')),
                ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='处置人')),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.org', verbose_name='区域')),
            ],
            options={
                'verbose_name': '安全线预警',
                'verbose_name_plural': '安全线预警',
                'ordering': ['-raised_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='SafetyWarningDemand',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weight', models.FloatField(verbose_name='权重')),
                ('demand', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='demands.demand')),
                ('warning', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='insight.safetywarning')),
            ],
            options={
                'ordering': ['-weight', 'demand_id'],
            },
        ),
        migrations.AddField(
            model_name='safetywarning',
            name='demands',
            field=models.ManyToManyField(related_name='safety_warnings', through='insight.SafetyWarningDemand', to='demands.demand'),
        ),
        migrations.AddConstraint(
            model_name='safetywarningdemand',
            constraint=models.UniqueConstraint(fields=('warning', 'demand'), name='safety_warning_demand_unique'),
        ),
        migrations.AddIndex(
            model_name='safetywarning',
            index=models.Index(fields=['level', 'org', 'category', 'raised_at'], name='safety_warning_place_idx'),
        ),
        migrations.AddConstraint(
            model_name='safetywarning',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'open')), fields=('level', 'org', 'category'), name='safety_warning_one_open'),
        ),
    ]
