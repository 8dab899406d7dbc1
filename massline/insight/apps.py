from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "massline.insight"
    label = "insight"
    verbose_name = "民情分析"
