from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "massline.directory"
    label = "directory"
    verbose_name = "组织与人员"
