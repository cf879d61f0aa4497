from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "报表"

    def ready(self):
        from . import freshness

        freshness.connect()  # every committed write to what reports read raises the data version
