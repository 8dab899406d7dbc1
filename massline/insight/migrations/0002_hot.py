# Hot issues: governance topics (每月一题 / 未诉先办) and the demands linked to them (massline/insight/models/hot.py).
# One of a linear chain so that the parts of insight each own one migration (rollups → 0001, hot → 0002,
# safety → 0003).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("insight", "0001_rollups"),
        ("demands", "0001_initial"),
        ("directory", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GovernanceTopic',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200, verbose_name='题目')),
                ('kind', models.CharField(choices=[('monthly', '每月一题'), ('proactive', '未诉先办')], max_length=16, verbose_name='类型')),
                ('state', models.CharField(choices=[('open', '推进中'), ('done', '已完成'), ('cancelled', '已撤销')], default='open', max_length=16, verbose_name='状态')),
                ('plan', models.TextField(verbose_name='工作方案')),
                ('deadline', models.DateField(verbose_name='完成时限')),
                ('area_path', models.CharField(blank=True, db_index=True, max_length=255)),
                ('key_terms', models.JSONField(default=list, verbose_name='关键词')),
                ('window_since', models.DateTimeField(verbose_name='来源时段起')),
                ('window_until', models.DateTimeField(verbose_name='来源时段止')),
                ('heat', models.FloatField(default=0, verbose_name='创建时热度')),
                ('created_at', models.DateTimeField(verbose_name='创建时间')),
                ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                ('area', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.org', verbose_name='区域')),
                ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.category', verbose_name='分类')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('owner_org', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.org', verbose_name='牵头单位')),
                ('owner_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='责任人')),
            ],
            options={
                'verbose_name': '治理专题',
                'verbose_name_plural': '治理专题',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='TopicLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('how', models.CharField(choices=[('cluster', '来自热点聚类'), ('matched', '新诉求自动关联')], max_length=8)),
                ('score', models.FloatField(default=0)),
                ('created_at', models.DateTimeField()),
                ('demand', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='demands.demand')),
                ('topic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='insight.governancetopic')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('topic', 'demand'), name='topic_link_unique')],
            },
        ),
    ]
