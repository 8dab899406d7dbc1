# The rate rollups (三率汇总) and their scratch twin for ``rollup --check``. First in a linear chain so that the
# parts of insight can each own one migration (rollups → 0001, hot → 0002, safety → 0003).
# After migrating a database that already holds demands, fill the rollups: ``massline insight rollup --rebuild``.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("demands", "0002_default_policies"),
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name='RateRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(choices=[('day', '日'), ('month', '月'), ('quarter', '季度'), ('year', '年')], max_length=8, verbose_name='周期')),
                ('start', models.DateField(verbose_name='周期起始日')),
                ('level', models.CharField(choices=[('unit', '承办单位'), ('district', '区县'), ('street', '街道（乡镇）'), ('community', '社区（村）'), ('grid', '网格')], max_length=10, verbose_name='层级')),
                ('signed', models.IntegerField(default=0, verbose_name='签收件数（响应率分母）')),
                ('signed_on_time', models.IntegerField(default=0, verbose_name='按时签收件数（响应率分子）')),
                ('rated', models.IntegerField(default=0, verbose_name='回访评价件数（解决率、满意率分母）')),
                ('resolved', models.IntegerField(default=0, verbose_name='群众认为已解决件数（解决率分子）')),
                ('satisfied', models.IntegerField(default=0, verbose_name='满意件数')),
                ('basic', models.IntegerField(default=0, verbose_name='基本满意件数')),
                ('org', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.org', verbose_name='单位或区域')),
            ],
            options={
                'verbose_name': '三率汇总',
                'verbose_name_plural': '三率汇总',
                'constraints': [models.UniqueConstraint(fields=('period', 'start', 'level', 'org'), name='rate_rollup_key')],
            },
        ),
        migrations.CreateModel(
            name='RateRollupCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(choices=[('day', '日'), ('month', '月'), ('quarter', '季度'), ('year', '年')], max_length=8, verbose_name='周期')),
                ('start', models.DateField(verbose_name='周期起始日')),
                ('level', models.CharField(choices=[('unit', '承办单位'), ('district', '区县'), ('street', '街道（乡镇）'), ('community', '社区（村）'), ('grid', '网格')], max_length=10, verbose_name='层级')),
                ('signed', models.IntegerField(default=0, verbose_name='签收件数（响应率分母）')),
                ('signed_on_time', models.IntegerField(default=0, verbose_name='按时签收件数（响应率分子）')),
                ('rated', models.IntegerField(default=0, verbose_name='回访评价件数（解决率、满意率分母）')),
                ('resolved', models.IntegerField(default=0, verbose_name='群众认为已解决件数（解决率分子）')),
                ('satisfied', models.IntegerField(default=0, verbose_name='满意件数')),
                ('basic', models.IntegerField(default=0, verbose_name='基本满意件数')),
                ('org', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='directory.org', verbose_name='单位或区域')),
            ],
            options={
                'verbose_name': '三率汇总（核对用）',
                'verbose_name_plural': '三率汇总（核对用）',
                'constraints': [models.UniqueConstraint(fields=('period', 'start', 'level', 'org'), name='rate_rollup_check_key')],
            },
        ),
    ]
