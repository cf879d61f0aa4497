"""What the API answers and accepts: typed schemas, the OpenAPI document's components.

Rows are named by their stable codes where the registry has them (regions, providers,
centres: 区划代码, 机构编码, 统一社会信用代码) and by id elsewhere. Dates are ISO dates in
Asia/Shanghai, times local wall-clock times, timestamps ISO 8601 with offset."""

import datetime
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

from .paging import page_of

# A local wall-clock time as "HH:MM" (JSON Schema's "time" format requires an offset, which
# a session's time in Asia/Shanghai does not carry). Accepted as HH:MM or HH:MM:SS.
LocalTime = Annotated[
    datetime.time,
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
                    "description": "本地时间（北京时间）HH:MM", "examples": ["09:00"]}),
]




def _in_utc(moment):
    """A moment of a filter in UTC (one without an offset is Beijing time): what the database
    compares, whatever offset the client wrote (PostgreSQL refuses offsets past ±15:59)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("时间超出范围") from None


# A moment a filter compares with (updated_since), as ISO 8601.
Moment = Annotated[datetime.datetime, AfterValidator(_in_utc)]


class Problem(Schema):
    """A refusal: `detail` says why, in Chinese; `errors` maps a field to its messages."""

    detail: str
    code: str = ""
    errors: dict[str, list[str]] = {}


class ConflictProblem(Problem):
    """Someone changed the row since the client read it: nothing was written. `current`
    holds the versions now stored (send them back after re-reading)."""

    current: dict[str, int] = {}


# --------------------------------------------------------------------------- registry


class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: Literal["city", "county", "township"]
    parent: str | None = Field(None, alias="parent.code")
    valid_from: datetime.date | None
    valid_to: datetime.date | None


class ProviderOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    tier: str
    region: str = Field(..., alias="region.code")
    doctors: int
    also_covers: list[str]

    @staticmethod
    def resolve_also_covers(obj):
        return [r.code for r in obj.also_covers.all()]


class CentreOut(Schema):
    """A centre as of a day (`as_of`): its grade held that day and whether it was filed and
    not yet closed that day."""

    id: int
    code: str
    name: str
    township: str = Field(..., alias="township.code")
    ownership: str | None = Field(None, alias="ownership.name")
    places: int
    filed_on: datetime.date
    closed_on: datetime.date | None
    as_of: datetime.date
    open: bool = Field(..., description="已备案且未注销（as_of 当日）")
    grade: str | None = Field(None, description="as_of 当日的等级名称")
    grade_rank: int | None = Field(None, description="等级序位，越大越高")


class ContractOut(Schema):
    id: int
    provider: str = Field(..., alias="provider.code")
    centre: str = Field(..., alias="centre.code")
    tier: str
    status: str
    signed_on: datetime.date | None
    valid_from: datetime.date
    valid_to: datetime.date
    terminated_on: datetime.date | None
    updated_at: datetime.datetime


# --------------------------------------------------------------------------- the plan and the work


class ObligationOut(Schema):
    id: int
    contract: int = Field(..., alias="contract_id")
    provider: str = Field(..., alias="contract.provider.code")
    centre: str = Field(..., alias="contract.centre.code")
    kind: str
    period: str
    start: datetime.date
    end: datetime.date
    status: str
    status_on: datetime.date | None
    confirmation: str
    resolution: str
    resolution_reason: str
    done_on: datetime.date | None


class SessionOut(Schema):
    """A session; `centres` and `obligations` are those the caller may see (centre staff see
    their own centre of a joint training only)."""

    id: int
    uid: str
    provider: str = Field(..., alias="provider.code")
    kind: str
    date: datetime.date
    start: LocalTime
    end: LocalTime
    status: str
    place: str
    doctor: str | None = Field(None, alias="doctor.username")
    estimated: bool
    sequence: int
    version: int
    change_reason: str
    updated_at: datetime.datetime
    obligations: list[int]
    centres: list[str]

    @staticmethod
    def resolve_uid(obj):
        return str(obj.uid)

    @staticmethod
    def resolve_obligations(obj):
        return [o.pk for o in obj.visible_obligations]

    @staticmethod
    def resolve_centres(obj):
        return sorted({o.contract.centre.code for o in obj.visible_obligations})


class PartOut(Schema):
    """One centre's part of a record: attendance and its answer. `version` is the part's,
    `confirmed_version` the record version the answer was about."""

    id: int
    centre: str = Field(..., alias="centre.code")
    attendance: int | None
    confirmation: str
    dispute_reason: str
    confirmed_at: datetime.datetime | None
    confirmed_version: int | None
    version: int


class AttachmentOut(Schema):
    id: int
    name: str = Field(..., alias="original_name")
    size: int
    sha256: str
    uploaded_at: datetime.datetime


class RecordOut(Schema):
    id: int
    session: int = Field(..., alias="session_id")
    status: str
    doctor: str | None = Field(None, alias="doctor.username")
    held_on: datetime.date
    start: LocalTime
    end: LocalTime
    topics: list[str]
    topics_other: str
    content: str
    findings: dict[str, str]
    advice: str
    follow_up_on: datetime.date | None
    version: int
    submitted_at: datetime.datetime | None
    updated_at: datetime.datetime
    parts: list[PartOut] = Field(..., alias="visible_parts")
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class WorkDayOut(Schema):
    date: datetime.date
    is_off: bool = Field(..., description="true：法定放假日；false：调休上班日")
    name: str


class WorkYearOut(Schema):
    year: int
    estimated: bool = Field(..., description="尚无国务院办公厅放假通知时为 true（按规则估计）")
    source: str
    days: list[WorkDayOut]

    @staticmethod
    def resolve_days(obj):
        return list(obj.days.all())


# --------------------------------------------------------------------------- figures


class PairOut(Schema):
    provider: str
    centre: str
    tier: str


class CoverageOut(Schema):
    """The JSON of `manage.py coverage --format json` (docs/reports.md)."""

    date: datetime.date
    region: str | None
    centres: int
    signed_centres: int
    signed_guidance_rate: float | None
    required_pairs: int
    covered_pairs: int
    missing_pairs: list[PairOut]
    uncovered_centres: list[str]
    extra_contracts: list[PairOut]


class CompletionReportOut(Schema):
    """The JSON of `manage.py completion_report --format json` (docs/reports.md)."""

    region: dict[str, Any]
    period: str
    as_of: datetime.date
    projected: bool
    signed_guidance_rate: dict[str, Any]
    full_coverage_rate: dict[str, Any]
    completion: dict[str, dict[str, Any]]
    by_region: list[dict[str, Any]]
    by_provider: list[dict[str, Any]]
    uncovered_centres: list[dict[str, Any]]
    missing_pairs: list[dict[str, Any]]
    overdue: list[dict[str, Any]]


# --------------------------------------------------------------------------- writes


class RecordIn(Schema):
    """A record's content, as on the record page. `version`: the record version read, 0 when
    there is no record yet. `submit`: false saves a draft. `attendance`: {centre code: n}
    (trainings and lectures); `findings`: {area: finding} (guidance and supervision, areas
    as in the 卫生保健工作规范 checklist). `attachments`: JPG, PNG or PDF, base64."""

    version: int = Field(..., ge=0)
    submit: bool = True
    held_on: datetime.date
    start: LocalTime
    end: LocalTime
    topics: list[str] = []
    topics_other: str = Field("", max_length=200)
    content: str = ""
    findings: dict[str, str] = {}
    advice: str = ""
    follow_up_on: datetime.date | None = None
    attendance: dict[str, int] = {}
    late_reason: str = Field("", max_length=200, description="补录原因：实际日期超过 LATE_ENTRY_DAYS 天后才提交时必填")
    attachments: list["AttachmentIn"] = Field([], max_length=10)


class AttachmentIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    content_base64: str


RecordIn.model_rebuild()


class AnswerIn(Schema):
    """A centre's answer to its part: confirm, or dispute with a reason. `version` is the
    part's version read, `record_version` the record's (the content it answers)."""

    action: Literal["confirm", "dispute"]
    reason: str = Field("", max_length=300)
    version: int = Field(..., ge=1)
    record_version: int = Field(..., ge=1)


class MoveIn(Schema):
    """A planned session moved to another working day. `version`: the session's version read."""

    date: datetime.date
    start: LocalTime
    end: LocalTime
    reason: str = Field(..., max_length=200)
    version: int = Field(..., ge=1)


RegionPage = page_of(RegionOut)
ProviderPage = page_of(ProviderOut)
CentrePage = page_of(CentreOut)
ContractPage = page_of(ContractOut)
ObligationPage = page_of(ObligationOut)
SessionPage = page_of(SessionOut)
RecordPage = page_of(RecordOut)
