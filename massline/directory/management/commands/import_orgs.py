from massline.directory import services

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "导入组织（JSONL/CSV：code, name, kind, parent[, phone]）。Import organisations; all or nothing."
    importer = staticmethod(services.import_orgs)

    def summary(self, report):
        return f"新增组织 {report.created} 个，已存在 {report.unchanged} 个"
