from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "排期与服务记录"

    def ready(self):
        from . import jobs, scoping  # noqa: F401  (re-planning receivers; scoping functions)
