"""Personal access tokens of the JSON API and the answers kept for its idempotency keys."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "mch_"


def hash_token(raw):
    """The SHA-256 of a token as sent: what the database keeps (a leaked table is no login)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal access token: a user's own credential for another system, sent as
    `Authorization: Bearer <token>`. Shown once when created, stored as its hash; revoking
    keeps the row (the list shows when it was last used), the token then answers 401.

    `window_minute`/`window_count`: requests in the current minute (minutes since the epoch),
    the rate limit's counter, kept on the row so one UPDATE both counts and refuses."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("用户"))
    name = models.CharField(_("名称"), max_length=60, help_text=_("用途，如“省托育平台同步”"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("开头"), max_length=12, editable=False,
                            help_text=_("令牌的前几位，便于辨认，不足以登录"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    window_minute = models.BigIntegerField(default=0, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("访问令牌")
        verbose_name_plural = _("访问令牌")

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, *, user, name):
        """A new token for `user`: (row, the token in clear, to be shown once)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(user=user, name=name.strip()[:60], key_hash=hash_token(raw), hint=raw[:10])
        return row, raw

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class IdempotentRequest(models.Model):
    """The answer to a POST sent with an `Idempotency-Key`: a retry with the same key and the
    same request gets it again instead of doing the write twice (a phone on a bad line)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text=_("请求方法、路径和内容的 SHA-256"))
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_idempotency_key")]
