"""Background jobs (django-q2): registered in one place, `register_schedules()`, which
`manage.py setup_jobs` (run by `make run`) calls; safe to run any number of times.

Each job is a plain function of ids and dates that tests call directly; `today` defaults to
the local date in Asia/Shanghai.
"""

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from mch_link.models import Contract, Membership, Provider, Role
from mch_link.signals import contract_changed

from .models import Notification, Obligation, Session
from .services import schedule_generate, statuses_refresh

# name -> (function path, schedule type, first run as (month, day, hour, minute) or (hour, minute))
SCHEDULES = {
    "nightly status refresh": ("scheduling.jobs.refresh_statuses", "D", (1, 0)),
    "daily reminders": ("scheduling.jobs.send_reminders", "D", (7, 0)),
    "weekly overdue digest": ("scheduling.jobs.send_overdue_digests", "W", (8, 0)),
    "next year's plan on 1 December": ("scheduling.jobs.plan_next_year", "Y", (12, 1, 2, 0)),
    "nightly removal of abandoned held photos": ("scheduling.pending.discard_stale", "D", (1, 30)),
}


def _next_run(schedule_type, when, now):
    tz = timezone.get_current_timezone()
    if schedule_type == "Y":
        month, day, hour, minute = when
        run = datetime.datetime(now.year, month, day, hour, minute, tzinfo=tz)
        return run if run > now else run.replace(year=now.year + 1)
    hour, minute = when
    run = now.astimezone(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if schedule_type == "W":  # Mondays
        run += datetime.timedelta(days=(7 - run.weekday()) % 7)
    while run <= now:
        run += datetime.timedelta(days=7 if schedule_type == "W" else 1)
    return run


def register_schedules(now=None):
    """Create or update the django-q schedules by name. Returns the names created."""
    from django_q.models import Schedule

    now = now or timezone.now()
    created = []
    for name, (func, schedule_type, when) in SCHEDULES.items():
        obj, was_created = Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": schedule_type,
                                 "next_run": _next_run(schedule_type, when, now), "repeats": -1})
        if not was_created and (obj.func, obj.schedule_type) != (func, schedule_type):
            obj.func, obj.schedule_type = func, schedule_type
            obj.next_run = _next_run(schedule_type, when, now)
            obj.save()
        if was_created:
            created.append(name)
    return created


# --------------------------------------------------------------------------- the jobs


def refresh_statuses(today=None):
    """Nightly: recompute every obligation's status as of today."""
    return statuses_refresh(today or timezone.localdate())


def replan_for_contracts(contract_ids, today=None):
    """Re-plan, for each provider of the given contracts (after they are signed or terminated),
    the years those contracts touch from this year on. Only those providers: one contract
    signed must not re-plan a whole province."""
    today = today or timezone.localdate()
    years = {}
    for provider, start, end in Contract.objects.filter(pk__in=contract_ids) \
            .values_list("provider", "valid_from", "valid_to"):
        years.setdefault(provider, set()).update(range(max(start.year, today.year), end.year + 1))
    providers = {p.pk: p for p in Provider.objects.filter(pk__in=years)}
    return [schedule_generate(year=y, today=today, provider=providers[pid])
            for pid in sorted(years) for y in sorted(years[pid])]


def plan_next_year(today=None):
    """On 1 December: plan next year (estimated until its official calendar is loaded)."""
    today = today or timezone.localdate()
    return schedule_generate(year=today.year + 1, today=today)


@receiver(contract_changed)
def _replan_when_contracts_change(sender, contract_ids, **kwargs):
    from django_q.tasks import async_task

    async_task("scheduling.jobs.replan_for_contracts", list(contract_ids))


# --------------------------------------------------------------------------- reminders


def notify(user, *, key, title, body="", url=""):
    """Create the in-app notification and e-mail it; nothing if `key` was sent before."""
    try:
        with transaction.atomic():
            Notification.objects.create(user=user, key=key[:120], title=title[:200], body=body, url=url)
    except IntegrityError:
        return False
    if user.email:
        link = f"\n\n{settings.SITE_URL}{url}" if url else ""
        send_mail(title, body + link, None, [user.email], fail_silently=True)
    return True


def _session_line(s):
    centres = "、".join(sorted({o.contract.centre.name for o in s.obligations.all()}))
    return f"{s.date:%Y-%m-%d} {s.start:%H:%M}–{s.end:%H:%M} {s.get_kind_display()}：{centres}"


def send_reminders(today=None):
    """Daily: doctors 3 days ahead of their sessions, centres 7 days ahead (so parents can be
    told). Returns the number of notifications sent."""
    today = today or timezone.localdate()
    sent = 0
    doctor_day = today + datetime.timedelta(days=settings.REMINDER_DAYS_DOCTOR)
    centre_day = today + datetime.timedelta(days=settings.REMINDER_DAYS_CENTRE)
    sessions = (
        Session.objects.filter(status=Session.Status.PLANNED, date__in=[doctor_day, centre_day])
        .select_related("provider", "doctor").prefetch_related("obligations__contract__centre")
    )
    doctors_of = {}
    centre_staff_of = {}
    for m in Membership.objects.filter(role=Role.DOCTOR).select_related("user"):
        doctors_of.setdefault(m.provider_id, []).append(m.user)
    for m in Membership.objects.filter(role=Role.CENTRE_STAFF).select_related("user"):
        centre_staff_of.setdefault(m.centre_id, []).append(m.user)
    for s in sessions:
        line = _session_line(s)
        if s.date == doctor_day:
            for user in [s.doctor] if s.doctor else doctors_of.get(s.provider_id, []):
                sent += notify(user, key=f"doctor:{s.pk}:{s.date}:{s.sequence}",
                               title=f"{settings.REMINDER_DAYS_DOCTOR} 天后有服务：{s.get_kind_display()}",
                               body=line)
        if s.date == centre_day:
            for centre_id in {o.contract.centre_id for o in s.obligations.all()}:
                for user in centre_staff_of.get(centre_id, []):
                    sent += notify(user, key=f"centre:{s.pk}:{s.date}:{s.sequence}",
                                   title=f"{s.date:%m月%d日} {s.provider.name} 将来园开展{s.get_kind_display()}",
                                   body=line + "\n请提前通知家长。" if s.kind == "parent_lecture" else line)
    return sent


def send_overdue_digests(today=None):
    """Weekly: each provider manager gets the list of its overdue and missed obligations."""
    today = today or timezone.localdate()
    week = today.isocalendar()
    overdue = {}
    for ob in Obligation.objects.filter(status__in=["overdue", "missed"]).select_related(
            "contract__centre", "contract__provider").order_by("period", "kind"):
        overdue.setdefault(ob.contract.provider_id, []).append(ob)
    sent = 0
    for m in Membership.objects.filter(role=Role.PROVIDER_MANAGER, provider__in=list(overdue)).select_related("user"):
        items = overdue[m.provider_id]
        body = "\n".join(f"{o.period} {o.get_kind_display()} {o.contract.centre.name}（{o.get_status_display()}）"
                         for o in items)
        sent += notify(m.user, key=f"digest:{m.provider_id}:{week.year}W{week.week}",
                       title=f"逾期未完成的服务：{len(items)} 项", body=body, url=reverse("scheduling:provider_plan"))
    return sent
