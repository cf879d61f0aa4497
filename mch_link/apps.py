from django.apps import AppConfig


class MchLinkConfig(AppConfig):
    name = "mch_link"
    verbose_name = "登记与签约"
