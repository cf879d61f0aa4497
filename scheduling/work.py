"""The vocabulary of the daily work: the checklist of guidance and supervision visits, the
topics offered on the record form, the attendance labels. Pure data, no ORM.

The writes of the daily work are on the models (Session.reschedule, Record.submit,
RecordCentre.confirm, Obligation.resolve, ...) and orchestrated by scheduling.services;
the reads are in scheduling.selectors.
"""

from . import periods

# The ten areas of the 托儿所幼儿园卫生保健工作规范, checked at guidance and supervision visits.
CHECKLIST_AREAS = (
    "一日生活安排", "膳食", "体格锻炼", "健康检查", "卫生与消毒",
    "传染病预防与控制", "常见病预防与管理", "伤害预防", "健康教育", "信息收集",
)
CHECKLIST_KINDS = (periods.GUIDANCE, periods.SUPERVISION)
TOPICS = {
    periods.GUIDANCE: ("晨午检与全日健康观察", "膳食营养与食品安全", "卫生消毒", "传染病防控", "伤害预防",
                       "健康档案管理"),
    periods.STAFF_TRAINING: ("婴幼儿常见病识别与护理", "意外伤害急救", "传染病防控", "喂养与营养", "生长发育监测",
                             "心理行为发展"),
    periods.PARENT_LECTURE: ("科学喂养", "睡眠与作息", "早期发展与亲子互动", "常见病预防", "家庭安全与伤害预防",
                             "预防接种"),
    periods.SUPERVISION: ("卫生保健制度落实", "人员配备与资质", "卫生保健档案", "整改落实情况"),
}
ATTENDANCE_LABEL = {periods.STAFF_TRAINING: "参训人数（工作人员）", periods.PARENT_LECTURE: "参加家长人数"}
