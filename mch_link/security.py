"""Login throttling (django-axes hooks) and the login and password pages that state the rules."""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with its message in Chinese: Django 5.2's own zh-hans catalogue misses it
    (the message id changed from %(min_length)d to %d)."""

    def get_error_message(self):
        return _("密码太短，至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}


def lockout_message():
    return _("登录失败次数过多，已暂时锁定。请 %(minutes)d 分钟后再试，或请管理员解锁。") % {
        "minutes": settings.LOGIN_COOLOFF_MINUTES
    }


def login_rules():
    """What the login and password pages tell users: the policy and the lockout rule."""
    return {
        "password_rules": password_validators_help_texts(),
        "lockout_rule": _("连续 %(limit)d 次登录失败后，该账户和该网络地址将被锁定 %(minutes)d 分钟。") % {
            "limit": settings.AXES_FAILURE_LIMIT,
            "minutes": settings.LOGIN_COOLOFF_MINUTES,
        },
    }


def lockout_response(request, original_response=None, credentials=None):
    """The login page again, with the lockout message and HTTP 429 (app and admin logins)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked": lockout_message(),
        "next": request.POST.get("next") or request.GET.get("next", ""),
        **login_rules(),
    }
    return render(request, "registration/login.html", context, status=429)


def client_ip(request):
    """The client's address: REMOTE_ADDR, or behind NUMBER_OF_PROXIES proxies the address the
    outermost trusted proxy recorded in X-Forwarded-For (entries further left can be forged)."""
    proxies = settings.NUMBER_OF_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **login_rules()}


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **login_rules()}


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_finished.html"
