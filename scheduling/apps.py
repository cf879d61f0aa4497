from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "排期与服务记录"

    def ready(self):
        from . import jobs  # noqa: F401  (connects the re-planning receivers)
