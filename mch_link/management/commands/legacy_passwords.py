import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mch_link.passwords import last_login_text, legacy_accounts, legacy_hashers, legacy_passwords_expire


class Command(BaseCommand):
    help = (
        "List the accounts whose password is still stored with a legacy hash (PBKDF2; re-hashed as "
        "Argon2id at their next login) and their last login (Asia/Shanghai). While any is left, every "
        "failed login also runs one legacy verification so that its time tells nothing "
        "(docs/security.md). With --expire --not-since YYYY-MM-DD, make the passwords of those not "
        "logged in since that day (or never) unusable, one audit event each: an administrator then "
        "sets a new one (the admin's user page › password form, or manage.py changepassword). "
        "Nothing changes without --expire."
    )

    def add_arguments(self, parser):
        parser.add_argument("--not-since", metavar="YYYY-MM-DD",
                            help="only accounts not logged in since this day (Asia/Shanghai), or never")
        parser.add_argument("--expire", action="store_true",
                            help="make their passwords unusable (requires --not-since)")
        parser.add_argument("--dry-run", action="store_true", help="with --expire: list, change nothing")

    def handle(self, *args, **opts):
        not_since = self._day(opts["not_since"])
        if opts["dry_run"] and not opts["expire"]:
            raise CommandError("--dry-run goes with --expire (without --expire nothing changes anyway)")
        if opts["expire"] and not_since is None:
            raise CommandError("--expire needs --not-since YYYY-MM-DD: the accounts not logged in since that day")
        algorithms = ", ".join(h.algorithm for h in legacy_hashers()) or "none configured"
        users = list(legacy_accounts(not_since=not_since))
        since = f", not logged in since {not_since} 自该日起未登录" if not_since else ""
        lines = [f"legacy password hashes ({algorithms}){since} 旧密码哈希账户: {len(users)}"]
        lines += [f"  {u.get_username()}  {u.password.split('$', 1)[0]}  {last_login_text(u)}" for u in users]
        if opts["expire"] and opts["dry_run"]:
            lines.append(f"would expire 将停用: {len(users)} (dry run: nothing changed)")
        elif opts["expire"]:
            expired = legacy_passwords_expire(
                not_since=not_since, reason=f"旧密码哈希，自 {not_since} 起未登录：密码停用，由管理员重设")
            lines.append(f"expired 已停用: {len(expired)} (one audit event each; an administrator resets "
                         "their passwords)")
        self.stdout.write("\n".join(lines))

    @staticmethod
    def _day(text):
        if text is None:
            return None
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError as exc:
            raise CommandError(f"--not-since {text!r}: not a date in YYYY-MM-DD form") from exc
        if day > timezone.localdate():
            raise CommandError(f"--not-since {day}: in the future (every legacy account would match)")
        return day
