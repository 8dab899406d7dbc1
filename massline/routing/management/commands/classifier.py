import argparse
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from massline.core.errors import DomainError
from massline.core.events import Actor

DELEGATED = ("train", "evaluate", "predict", "cv")
OWN = ("retrain", "activate", "register", "report", "export-training", "bootstrap")


def _own_parser(sub: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"massline classifier {sub}")
    if sub == "retrain":
        p.description = ("用原始训练数据加上派单员纠正和退单改派样本重新训练；与当前模型在双方都没见过的留出样本上比较，"
                         "宏F1 不低于当前模型才启用；比较结果记入模型指标和事件记录。")
        p.add_argument("--data", help="原始训练数据（JSON lines: title, detail, label）；默认沿用当前模型的训练数据文件")
        p.add_argument("--holdout", type=float, default=0.2, help="留出比例（默认 0.2，按类分层）")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--min-holdout", type=int, default=20, help="留出样本少于此数则不比较、不训练（默认 20）")
        p.add_argument("--json", action="store_true")
    elif sub == "activate":
        p.description = "启用已登记的模型（原启用的模型停用；记入事件记录）"
        p.add_argument("version")
    elif sub == "register":
        p.description = "把训练好的模型目录登记为分类模型（复制到 数据目录/models/<版本>/）"
        p.add_argument("--model", required=True, help="textclf 模型目录")
        p.add_argument("--data", default="", help="训练数据文件（默认取模型元数据中的记录）")
        p.add_argument("--activate", action="store_true", help="登记后立即启用")
        p.add_argument("--note", default="")
    elif sub == "report":
        p.description = "按一级分类：自动派单占比、其后退单与改派比例（自动派单的实际准确率）、派单员采纳率"
        p.add_argument("--json", action="store_true")
    elif sub == "export-training":
        p.description = "把本平台的历史诉求（标题、内容、一级分类；举报除外）导出为训练数据（JSON lines）"
        p.add_argument("--out", required=True)
    elif sub == "bootstrap":
        p.description = "用本平台历史诉求训练、登记并启用模型；已有启用的模型或诉求太少时跳过（make run 用它）"
        p.add_argument("--min", type=int, default=200, help="至少需要的历史诉求数（默认 200）")
        p.add_argument("--seed", type=int, default=0)
    return p


class Command(BaseCommand):
    help = (
        "文本分类器（智能分派）。 train --data F --out DIR · evaluate --model DIR --data F [--json] · "
        "predict --model DIR（读标准输入）· cv --data F [--folds 5] · retrain [--data F] [--holdout 0.2] [--seed 0] · "
        "activate VERSION · register --model DIR [--activate] · report [--json] · export-training --out F · "
        "bootstrap。 Each sub-command has its own --help."
    )

    def add_arguments(self, parser):
        parser.add_argument("sub", choices=DELEGATED + OWN, metavar="{" + ",".join(DELEGATED + OWN) + "}")
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def handle(self, *args, **o):
        sub, rest = o["sub"], list(o["rest"] or [])
        if sub in DELEGATED:
            from massline.routing import adapter

            rc = adapter.cli([sub, *rest], stdin=sys.stdin, stdout=self.stdout)
            if rc:
                raise CommandError(f"classifier {sub} 失败（退出码 {rc}）", returncode=rc)
            return
        try:
            args = _own_parser(sub).parse_args(rest)
        except SystemExit as exc:
            if exc.code:
                raise CommandError(f"classifier {sub}: 参数不正确", returncode=2) from None
            return
        try:
            getattr(self, "_" + sub.replace("-", "_"))(args)
        except DomainError as exc:
            raise CommandError(f"{exc.message}（{exc.code}）", returncode=2 if exc.status < 500 else 1) from None

    # --- own sub-commands --------------------------------------------------------------------------------
    def _actor(self) -> Actor:
        return Actor.system("命令行")

    def _retrain(self, a):
        from massline.routing import services

        result = services.retrain(self._actor(), data=a.data, holdout=a.holdout, seed=a.seed,
                                  min_holdout=a.min_holdout)
        c = result.comparison
        if a.json:
            self.stdout.write(json.dumps({"version": result.model.version, "activated": result.activated,
                                          "comparison": c}, ensure_ascii=False))
            return
        cur = c["current"]
        self.stdout.write(f"新模型 new model {result.model.version}（训练 {c['train_seconds']} 秒，"
                          f"留出 {c['held_out']['n']} 条：纠正样本 {c['held_out']['from_examples']}，"
                          f"原始数据 {c['held_out']['from_data']}）")
        self.stdout.write(f"  新模型 宏F1 {c['new']['macro_f1']:.4f}  准确率 {c['new']['accuracy']:.4f}")
        if cur is not None:
            self.stdout.write(f"  当前模型 {c['current_version']} 宏F1 {cur['macro_f1']:.4f}  准确率 {cur['accuracy']:.4f}")
        else:
            self.stdout.write("  当前没有可比较的启用模型")
        self.stdout.write("已启用新模型 activated." if result.activated else "新模型不如当前模型，未启用 not activated.")

    def _activate(self, a):
        from massline.routing import services

        row = services.activate(a.version, self._actor(), reason="命令行启用")
        self.stdout.write(f"已启用分类模型 {row.version}")

    def _register(self, a):
        from massline.routing import services

        row = services.register(a.model, self._actor(), activate_it=a.activate, data_path=a.data, note=a.note)
        self.stdout.write(f"已登记分类模型 {row.version}（{row.path}）" + ("，已启用" if row.active else ""))

    def _report(self, a):
        from massline.routing import queries

        rows = queries.report()
        if a.json:
            self.stdout.write(json.dumps([r.as_dict() for r in rows], ensure_ascii=False))
            return

        def pct(v):
            return "-" if v is None else f"{v * 100:.1f}%"

        self.stdout.write("一级分类\t派单\t自动派单\t占比\t退单申请\t改派\t实际准确率\t派单员决定\t采纳率\t纠正样本\t阈值")
        for r in rows:
            self.stdout.write("\t".join([
                r.category, str(r.dispatched), str(r.auto), pct(r.auto_share), str(r.auto_returned),
                str(r.auto_redispatched), pct(r.auto_accuracy), str(r.waited), pct(r.followed_share),
                str(r.corrections), "-" if r.threshold is None else f"{r.threshold:g}"]))

    def _export_training(self, a):
        from massline.routing import services

        n, counts = services.export_training(a.out)
        self.stdout.write(f"已导出 {n} 条 to {a.out}：" + "，".join(f"{k} {v}" for k, v in counts.items()))

    def _bootstrap(self, a):
        from massline.routing import services

        try:
            _, message = services.bootstrap(Actor.system("演示数据"), min_count=a.min, seed=a.seed)
        except Exception as exc:  # make run goes on without a model: the dispatcher routes by the list
            message = f"未能训练分类模型（{type(exc).__name__}: {exc}），平台照常运行，派单员按权责清单派单。"
        self.stdout.write(message)
