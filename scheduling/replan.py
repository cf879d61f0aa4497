"""What a re-plan cannot decide: pinned sessions (moved by hand or held) that a new calendar puts
on a day that is not a working day. The planner never moves them (planner.Decision); this
module flags them on the plan (Session.needs_decision_on), lists them in the report and tells
their provider's managers, once per session and day.
"""

from django.urls import reverse

from mch_link.models import Membership, Role

from .models import Session


def decisions_apply(plan, flags, sessions_by_pk, report):
    """Flag the sessions of `plan.decisions`, unflag the kept ones that no longer need a
    decision, add them to `report.needs_decision` and notify the managers. `flags`: {kept
    session id: its stored needs_decision_on}; `sessions_by_pk`: the instances of (at least)
    the sessions of `plan.decisions`. Returns the number of notifications sent. One UPDATE per
    new flag value (and chunk of 900 ids) of the sessions whose flag changes, one read of the
    managers, plus one insert per notification."""
    decisions = {d.session_id: d for d in plan.decisions}
    changed = {}
    for pk in plan.keep:
        flag = decisions[pk].day if pk in decisions else None
        if flags[pk] != flag:
            changed.setdefault(flag, []).append(pk)
    for flag, pks in changed.items():
        for i in range(0, len(pks), 900):
            Session.objects.filter(pk__in=pks[i:i + 900]).update(needs_decision_on=flag)
    flagged = [sessions_by_pk[pk] for pk in sorted(decisions)]
    report.needs_decision = [(s.pk, s.date, decisions[s.pk].reason) for s in flagged]
    return _notify_managers(flagged, decisions)


def _notify_managers(sessions, decisions):
    from .jobs import notify  # jobs imports the services, which call this module

    if not sessions:
        return 0
    managers = {}
    for m in Membership.objects.filter(role=Role.PROVIDER_MANAGER, provider__in={s.provider_id for s in sessions}) \
            .select_related("user"):
        managers.setdefault(m.provider_id, []).append(m.user)
    sent = 0
    for s in sessions:
        for user in managers.get(s.provider_id, []):
            sent += notify(
                user, key=f"decision:{s.pk}:{s.date}",
                title=f"需要决定：{s.date:%m月%d日}的{s.get_kind_display()}落在放假日",
                body=f"场次 #{s.pk}（{s.date:%Y-%m-%d} {s.start:%H:%M}）为人工安排或已开展，重新排期不会移动它。"
                     f"{decisions[s.pk].reason}。请改期或确认照常开展。",
                url=reverse("scheduling:session_detail", args=[s.pk]),
            )
    return sent
