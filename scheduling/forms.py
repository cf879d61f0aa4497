from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from mch_link.errors import Locked
from mch_link.forms import DateInput, MultipleFileField, validate_upload

from .models import Record
from .work import ATTENDANCE_LABEL, CHECKLIST_AREAS, CHECKLIST_KINDS, TOPICS

ATTACHMENT_TYPES = ("jpg", "jpeg", "png", "pdf")
MAX_ATTACHMENTS = 10


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class RecordForm(forms.Form):
    """The doctor's record of a held session. Fields depend on the kind: attendance per
    centre for trainings and lectures, the ten-area checklist for guidance and supervision."""

    held_on = forms.DateField(label="实际日期", widget=DateInput())
    start = forms.TimeField(label="开始时间", widget=TimeInput())
    end = forms.TimeField(label="结束时间", widget=TimeInput())
    topics = forms.MultipleChoiceField(label="主题", required=False, widget=forms.CheckboxSelectMultiple)
    topics_other = forms.CharField(label="其他主题", required=False, max_length=200)
    content = forms.CharField(label="服务内容", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    advice = forms.CharField(label="整改意见", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_on = forms.DateField(label="复查日期", required=False, widget=DateInput())
    files = MultipleFileField(label="附件（照片、签到表：JPG、PNG、PDF）", required=False, max_files=MAX_ATTACHMENTS,
                              accept="image/jpeg,image/png,application/pdf")
    late_reason = forms.CharField(label="补录原因", required=False, max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, session, centres, held=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        self.held = held  # photos kept from a failed submit, attached with the new ones
        self.fields["late_reason"].help_text = (
            f"实际日期早于今天 {settings.LATE_ENTRY_DAYS} 天以上的记录为补录，提交时请说明原因")
        self.fields["topics"].choices = [(t, t) for t in TOPICS.get(session.kind, ())]
        self.centres = centres
        label = ATTENDANCE_LABEL.get(session.kind)
        for centre in centres:
            if label:
                self.fields[f"attendance_{centre.pk}"] = forms.IntegerField(
                    label=f"{label}：{centre.name}", min_value=0, max_value=2000, required=False)
        self.checklist = session.kind in CHECKLIST_KINDS
        if self.checklist:
            for i, area in enumerate(CHECKLIST_AREAS):
                self.fields[f"finding_{i}"] = forms.CharField(
                    label=area, required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
        else:
            del self.fields["advice"]
            del self.fields["follow_up_on"]

    def attendance_fields(self):
        return [self[f"attendance_{c.pk}"] for c in self.centres if f"attendance_{c.pk}" in self.fields]

    def finding_fields(self):
        return [self[f"finding_{i}"] for i in range(len(CHECKLIST_AREAS))] if self.checklist else []

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        if self.held and len(files) + self.held > MAX_ATTACHMENTS:
            room = max(MAX_ATTACHMENTS - self.held, 0)
            raise forms.ValidationError(f"附件最多 {MAX_ATTACHMENTS} 个：已保留 {self.held} 个，本次最多再选 {room} 个")
        return [validate_upload(f, ATTACHMENT_TYPES) for f in files]

    def clean(self):
        data = super().clean()
        if self.is_bound and "submit" in self.data:
            if not data.get("content") and not data.get("topics") and not data.get("topics_other"):
                self.add_error("content", "提交前请填写服务主题或内容")
            for field in self.attendance_fields():
                if data.get(field.name) is None:
                    self.add_error(field.name, "提交前请填写参加人数")
            if self.checklist and not any(data.get(f.name) for f in self.finding_fields()):
                self.add_error(None, "提交前请至少填写一个方面的检查发现")
            if self.is_late_entry(data.get("held_on")) and not (data.get("late_reason") or "").strip():
                self.add_error("late_reason",
                               f"实际日期早于今天 {settings.LATE_ENTRY_DAYS} 天以上，属补录，请填写补录原因")
        self.add_content_errors(data)
        return data

    def add_content_errors(self, data):
        """The record's own rules (Record.clean_content: dates, times, follow-up) as field
        errors now, beside the form's, so a failed submit shows every error in one round. The
        service checks the same rule again when saving (for the API and for a race)."""
        if any(data.get(name) is None for name in ("held_on", "start", "end")):
            return  # a missing or unreadable date or time already has its error
        try:
            self.session.refuse_if_locked(data["held_on"])
        except Locked:
            return  # nothing can be saved: the service answers with the lock first (423)
        try:
            Record(session=self.session).clean_content({
                "held_on": data["held_on"], "start": data["start"], "end": data["end"],
                "follow_up_on": data.get("follow_up_on"), "advice": data.get("advice", "")})
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field not in self.errors:  # one message a field: the form's own comes first
                    self.add_error(field if field in self.fields else None, messages)

    def is_late_entry(self, held_on):
        """Whether submitting now enters the record late ("补录"): held more than LATE_ENTRY_DAYS
        days ago, within its period (not before: allowed early), and not submitted before
        (reports count it apart: status.entered_late)."""
        if held_on is None or (timezone.localdate() - held_on).days <= settings.LATE_ENTRY_DAYS:
            return False
        starts = list(self.session.obligations.values_list("start", flat=True))
        if starts and held_on < min(starts):
            return False  # held before its period (allowed early, or refused): not a late entry
        return not Record.objects.filter(session=self.session, status=Record.Status.SUBMITTED).exists()

    def record_data(self):
        d = self.cleaned_data
        return {
            "held_on": d["held_on"], "start": d["start"], "end": d["end"],
            "topics": d.get("topics") or [], "topics_other": d.get("topics_other", ""),
            "content": d.get("content", ""), "advice": d.get("advice", ""),
            "follow_up_on": d.get("follow_up_on"), "late_reason": (d.get("late_reason") or "").strip(),
            "findings": {area: d[f"finding_{i}"] for i, area in enumerate(CHECKLIST_AREAS)
                         if self.checklist and d.get(f"finding_{i}")},
        }

    def attendance(self):
        return {c.pk: self.cleaned_data.get(f"attendance_{c.pk}") for c in self.centres
                if f"attendance_{c.pk}" in self.fields and self.cleaned_data.get(f"attendance_{c.pk}") is not None}


class MoveForm(forms.Form):
    date = forms.DateField(label="新日期", widget=DateInput())
    start = forms.TimeField(label="开始时间", widget=TimeInput())
    end = forms.TimeField(label="结束时间", widget=TimeInput())
    reason = forms.CharField(label="改期原因", max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ConfirmForm(forms.Form):
    reason = forms.CharField(label="异议原因", max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    record_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=200)
