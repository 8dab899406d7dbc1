from massline.directory import services

from ._importing import ImportCommand


class Command(ImportCommand):
    help = ("导入三级诉求分类（JSONL：每行 level1/level2/level3，或同列名 CSV）。"
            "Import the category tree; all or nothing.")
    importer = staticmethod(services.import_categories)

    def summary(self, report):
        return f"新增分类 {report.created} 个"
