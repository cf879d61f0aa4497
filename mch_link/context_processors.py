from django.utils.functional import SimpleLazyObject

from .scoping import membership_of


def membership(request):
    """The user's membership, and the count of its unread notifications for the header:
    counted once per page, and only when the page shows it (one query)."""
    user = getattr(request, "user", None)
    return {
        "membership": membership_of(user),
        "unread_notifications": SimpleLazyObject(lambda: _unread(user)),
    }


def _unread(user):
    if user is None or not user.is_authenticated:
        return 0
    from scheduling.models import Notification

    return Notification.objects.filter(user=user, read_at__isnull=True).count()
