"""Every hand-over of the daily loop tells the one who acts next (design.md, "Records and
time"): a record submitted → its centres; disputed → the doctor; amended → its centres; a
session moved or cancelled → its centres and its doctor; a quarter approved or reopened → the
providers serving that county.

The services call these inside their transaction, after the change: a rollback takes the
notification rows with it. Each goes through jobs.notify, idempotent per key, so a repeated
POST or a retried job tells nobody twice. Who is told is `people()`: active users only, so a
deactivated user or one who left the organisation is told nothing.
"""

from django.db.models import Q
from django.urls import reverse

from mch_link.models import Contract, Membership, Role
from mch_link.scoping import region_q


def people(**who):
    """The users of _memberships(**who)."""
    return [m.user for m in _memberships(**who)]


def _memberships(*, centres=(), doctors_of=(), managers_of=(), county=None, period_bounds=None, leave_out=None):
    """The active users to tell: the staff of `centres` (ids), the doctors of the providers
    `doctors_of` (ids), the managers of the providers `managers_of` (ids), and the managers of
    the providers serving `county` (a Region) with a signed contract in force some day of
    `period_bounds` (first, last). Without `leave_out` (the user who acted). One query."""
    q = Q(pk__in=[])
    if centres:
        q |= Q(role=Role.CENTRE_STAFF, centre__in=list(centres))
    if doctors_of:
        q |= Q(role=Role.DOCTOR, provider__in=list(doctors_of))
    if managers_of:
        q |= Q(role=Role.PROVIDER_MANAGER, provider__in=list(managers_of))
    if county is not None:
        first, last = period_bounds
        serving = Contract.objects.filter(
            region_q(county, "centre__township"), status__in=(Contract.Status.SIGNED, Contract.Status.TERMINATED),
            valid_from__lte=last, valid_to__gte=first).values("provider_id")
        q |= Q(role=Role.PROVIDER_MANAGER, provider__in=serving)
    qs = Membership.objects.filter(q, user__is_active=True).select_related("user").order_by("user_id")
    if leave_out is not None:
        qs = qs.exclude(user=leave_out)
    return list(qs)


def _notify(users, *, key, title, body, url):
    from ..jobs import notify

    return sum(notify(user, key=key, title=title, body=body, url=url) for user in users)


def _session_url(session):
    return reverse("scheduling:session_detail", args=[session.pk])


def _session_label(session):
    return f"{session.date:%Y-%m-%d} {session.get_kind_display()}"


def _doctors(session, record=None):
    """The doctor of the session (or of its record); when none is named, its provider's."""
    named = [u for u in (getattr(record, "doctor", None), session.doctor) if u is not None and u.is_active]
    if named:
        return list({u.pk: u for u in named}.values())
    return people(doctors_of=[session.provider_id])


def record_submitted(record, centre_ids, *, by):
    """First submission: each centre's staff are asked to confirm their part."""
    session = record.session
    return _notify(
        people(centres=centre_ids, leave_out=by), key=f"record-{record.pk}-submitted",
        title=f"服务记录待确认：{_session_label(session)}",
        body=f"{session.provider.name} 提交了服务记录，请核对后确认或提出异议。", url=_session_url(session))


def record_amended(record, centre_ids, reset_centre_ids, *, by):
    """A submitted record's content changed (version up): centres whose answer was reset are
    asked to confirm again; the others, still to confirm, see the new content."""
    session, sent = record.session, 0
    staff = {}  # centre id -> its staff: one query for every centre of a joint session
    for m in _memberships(centres=centre_ids, leave_out=by):
        staff.setdefault(m.centre_id, []).append(m.user)
    for centre_id in centre_ids:
        reset = centre_id in reset_centre_ids
        sent += _notify(
            staff.get(centre_id, []), key=f"record-{record.pk}-v{record.version}-centre-{centre_id}",
            title=f"服务记录已修改，请{'重新' if reset else ''}确认：{_session_label(session)}",
            body="医生修改了您已确认或提出异议的服务记录，原确认已失效，请查看最新内容后重新确认。" if reset
            else "医生修改了待您确认的服务记录，请查看最新内容后确认。", url=_session_url(session))
    return sent


def record_disputed(part, *, by):
    """A centre disputed its part: the doctor amends and resubmits."""
    record = part.record
    session = record.session
    return _notify(
        [u for u in _doctors(session, record) if u != by], key=f"dispute-{part.pk}-v{part.version}",
        title=f"托育机构提出异议：{_session_label(session)}",
        body=f"{part.centre.name}：{part.dispute_reason}\n请修改服务记录后重新提交。", url=_session_url(session))


def session_changed(session, centre_ids, *, by, before_date=None):
    """A session moved (from `before_date`) or was cancelled: its centres and its doctor."""
    if session.status == session.Status.CANCELLED:
        title = f"服务已取消：{_session_label(session)}"
        body = f"{session.provider.name} 取消了 {_session_label(session)} 的服务。原因：{session.change_reason}"
    else:
        title = f"服务改期：{before_date:%Y-%m-%d} → {session.date:%Y-%m-%d} {session.get_kind_display()}"
        body = (f"{session.provider.name} 将服务改至 {session.date:%Y-%m-%d} "
                f"{session.start:%H:%M}–{session.end:%H:%M}。原因：{session.change_reason}")
    users = people(centres=centre_ids, leave_out=by) + [u for u in _doctors(session) if u != by]
    return _notify(list({u.pk: u for u in users}.values()), key=f"session-{session.pk}-seq{session.sequence}",
                   title=title, body=body, url=_session_url(session))


def quarter_decided(approval, *, by, bounds):
    """A quarter approved or reopened: the managers of the providers serving the county."""
    county = approval.county
    approved = approval.status == approval.Status.APPROVED
    when = approval.approved_at if approved else approval.reopened_at
    if approved:
        title = f"{county.name} {approval.period} 已审核锁定"
        body = ("该季度的服务场次、记录和服务义务已锁定，不能再修改；尚未确认的记录也不能再确认。"
                "如需修改请联系区县卫健局重新开放。")
    else:
        title = f"{county.name} {approval.period} 已重新开放"
        body = f"原因：{approval.reopen_reason}\n该季度的服务记录可以补录、修改和确认。"
    return _notify(people(county=county, period_bounds=bounds, leave_out=by),
                   key=f"quarter-{approval.pk}-{approval.status}-{when:%Y%m%d%H%M%S%f}",
                   title=title, body=body,
                   url=reverse("scheduling:provider_plan") + f"?quarter={approval.period}")
