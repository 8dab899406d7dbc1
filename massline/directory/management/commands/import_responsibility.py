from massline.directory import services

from ._importing import ImportCommand


class Command(ImportCommand):
    help = ("导入权责清单（JSONL/CSV：category（一级/二级/三级）, area（组织编码，空为全辖区）, lead（主办单位编码）, "
            "co（协办单位编码，逗号分隔）, item, basis）。Import the responsibility list; all or nothing.")
    importer = staticmethod(services.import_responsibilities)

    def summary(self, report):
        return f"导入权责清单条目 {report.created} 条"
