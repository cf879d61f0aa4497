"""Print the secret calendar feed URL of a centre, a provider or a doctor."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mch_link.models import Centre, Membership, Provider, Role
from scheduling import feeds


class Command(BaseCommand):
    help = (
        "打印托育机构、医疗卫生机构或医生的日历订阅链接（settings.SITE_URL + 路径），没有时先创建。"
        " Print the absolute calendar feed URL of one owner, creating the feed if it has none."
        " The URL is a credential: anyone holding it reads the calendar without logging in."
    )

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--centre", metavar="CODE", help="托育机构的统一社会信用代码 / the centre's credit code")
        owner.add_argument("--provider", metavar="CODE", help="医疗卫生机构编码 / the provider's code")
        owner.add_argument("--doctor", metavar="USERNAME", help="医生的用户名 / the doctor's username")

    def handle(self, *args, centre=None, provider=None, doctor=None, **options):
        if centre is not None:
            row = Centre.objects.filter(code=centre).first()
            if row is None:
                raise CommandError(f"没有统一社会信用代码为 {centre} 的托育机构 / no centre with code {centre!r}")
            feed = feeds.feed_for(centre=row)
        elif provider is not None:
            row = Provider.objects.filter(code=provider).first()
            if row is None:
                raise CommandError(f"没有编码为 {provider} 的医疗卫生机构 / no provider with code {provider!r}")
            feed = feeds.feed_for(provider=row)
        else:
            user = get_user_model().objects.filter(username=doctor).first()
            if user is None or not Membership.objects.filter(user=user, role=Role.DOCTOR).exists():
                raise CommandError(f"没有用户名为 {doctor} 的医生 / no doctor with username {doctor!r}")
            feed = feeds.feed_for(doctor=user)
        self.stdout.write(feeds.feed_url(feed))
