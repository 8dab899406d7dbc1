from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "massline.insight"
    label = "insight"
    verbose_name = "民情分析"

    def ready(self) -> None:
        # the rate rollups are kept in the transaction of every demand change (docs/adr/0003-rollups.md)
        from massline.demands import hooks

        from . import rollups

        hooks.register_in_txn("changed", rollups.on_changed)
        from . import hot, replyq  # hot issues: link new demands to topics; reply checks for the demand page

        hooks.register("received", hot.on_received)
        hooks.provide_reply_check(replyq.check_draft)
