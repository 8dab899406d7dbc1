from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "massline.routing"
    label = "routing"
    verbose_name = "智能分派"

    def ready(self) -> None:
        # an explicit registry, not signals: demands tells us about its changes, never imports us
        from massline.demands import hooks

        from . import adapter, services

        hooks.register("received", services.after_receive)
        hooks.register("dispatched", services.after_dispatch)
        hooks.register("return_upheld", services.after_uphold)
        hooks.provide_model_version(adapter.active_version)
