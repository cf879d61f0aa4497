"""The user's token page: personal access tokens for the JSON API, created (shown once),
named, listed with their last use, revoked. Every user manages only their own."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名称（用途）"), max_length=60,
                           help_text=gettext_lazy("例如“省托育平台同步”，便于日后辨认和吊销"))


@login_required
def token_list(request):
    """GET: the user's tokens; POST: a new one, shown on this answer only (never again)."""
    created = None
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            row, created = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
            form = TokenForm()
        else:
            status = 400
    ctx = {"tokens": ApiToken.objects.filter(user=request.user), "form": form, "created": created}
    response = render(request, "api/tokens.html", ctx, status=status)
    response["Cache-Control"] = "no-store"  # the new token must not stay in a cache
    return response


@login_required
def token_revoke(request, pk):
    """GET (the list's 吊销 link): a page that asks to confirm, with what stops working; POST
    with `confirmed`: revoke. Works without script. Another user's token is a 404."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.method == "POST" and request.POST.get("confirmed") and token.revoked_at is None:
        token.revoke()
        messages.success(request, _("已吊销访问令牌“%(name)s”，使用它的请求将被拒绝") % {"name": token.name})
        return redirect("api_tokens")
    if token.revoked_at is not None:
        return redirect("api_tokens")
    return render(request, "api/token_revoke.html", {"token": token})
