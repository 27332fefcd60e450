"""Every word the seat shows, in Chinese (the default) and English (by config).

One table, so a missing translation is a test failure rather than an empty label, and the
screens never carry literal text of their own.
"""

from __future__ import annotations

import unicodedata

from console.domain.labels import Language

TEXTS: dict[str, tuple[str, str]] = {
    "app.title": ("值班热线坐席", "Duty hotline seat"),
    "login.title": ("坐席登录", "Agent login"),
    "login.agent_id": ("工号", "Agent ID"),
    "login.secret": ("密码", "Secret"),
    "login.submit": ("登录", "Log in"),
    "login.empty": ("请输入工号和密码", "Enter the agent ID and the secret"),
    "login.failed": ("登录失败", "Login failed"),
    "login.locked": ("工号已锁定", "Agent ID locked"),
    "login.hint": ("工号专人专用,禁止借用", "Agent IDs are personal: never shared or borrowed"),
    "handover.title": ("上一班交接", "Previous shift's handover"),
    "handover.from": ("交班人", "Handed over by"),
    "handover.notes": ("交班记录", "Notes"),
    "handover.open": ("未处理完的问题", "Open items"),
    "handover.followups": ("未结跟进", "Open follow-ups"),
    "handover.accept": ("接班确认", "Accept the handover"),
    "handover.accepted": ("已接班", "Handover accepted"),
    "handover.write": ("交班", "Hand over"),
    "handover.write_title": ("交班:写交接班记录", "Handover: write the shift's notes"),
    "handover.carry": ("将转入下一班", "Carries over to the next shift"),
    "handover.written": ("交接班记录已保存", "Handover saved"),
    "seat.title": ("坐席", "Seat"),
    "seat.today": ("今日来电", "Today's calls"),
    "seat.followups": ("未结跟进", "Open follow-ups"),
    "seat.waiting": ("等待中的来电", "Calls waiting"),
    "seat.none": ("(无)", "(none)"),
    "seat.take_waiting": ("接听等待来电", "Take waiting call"),
    "line.label": ("线路", "Line"),
    "line.registered": ("已注册", "registered"),
    "line.registering": ("注册中", "registering"),
    "line.failed": ("注册失败", "failed"),
    "line.stopped": ("未启动", "stopped"),
    "mode.day": ("日间", "Day"),
    "mode.night": ("夜间转门岗", "Night: gate post"),
    "mode.override": ("人工", "manual"),
    "mode.switch_soon": ("即将自动切换", "Switching automatically at"),
    "gate.label": ("门岗", "Gate post"),
    "gate.ok": ("正常", "answering"),
    "gate.alarm": ("无应答!", "NOT answering!"),
    "gate.unknown": ("未检测", "not checked"),
    "agent.label": ("坐席", "Agent"),
    "agent.overdue": ("超时", "overdue"),
    "agent.none": ("未登录", "not logged in"),
    "headset.label": ("耳机", "Headset"),
    "headset.none": ("无耳机", "no headset"),
    "headset.ready": ("就绪", "ready"),
    "headset.error": ("故障", "error"),
    "ring.title": ("来电振铃", "Incoming call"),
    "ring.caller": ("来电号码", "Caller"),
    "ring.rings": ("振铃", "Rings"),
    "ring.seconds": ("秒", "s"),
    "ring.limit": ("时限", "Limit"),
    "ring.answer": ("接听", "Answer"),
    "ring.auto": (
        "已自动接听,来电保持中 — 按 Enter 接手",
        "Answered automatically, caller on hold — Enter takes over",
    ),
    "ring.waiting": (
        "坐席忙,来电等待中 — 按 Enter 接手",
        "Seat busy, caller waiting — Enter takes over",
    ),
    "ring.too_late": ("来电已结束或已被接听", "The call has ended or was taken"),
    "ring.gone": ("来电已挂断", "The caller hung up"),
    "call.title": ("通话中", "On call"),
    "call.script": ("服务流程", "Script"),
    "call.notes": ("通话记录", "Notes"),
    "call.next": ("下一步", "Next step"),
    "call.survey": ("满意度评价", "Survey"),
    "call.transfer": ("转门岗", "To gate post"),
    "call.hold": ("保持", "Hold"),
    "call.hangup": ("挂断", "Hang up"),
    "call.escalate": ("上报", "Escalate"),
    "call.hangup_confirm": (
        "客户尚未挂机。规范要求等对方先挂断。确定要挂断吗?",
        "The caller has not hung up; the rules ask to let them hang up first. Hang up anyway?",
    ),
    "call.greeting_tts": ("问候语由语音播放:", "Greeting played by TTS:"),
    "call.greeting_say": ("请说:", "Say:"),
    "call.survey_started": ("已开始满意度评价", "Survey started"),
    "fu.title": ("我的跟进事项(首问负责)", "My follow-ups (first-contact ownership)"),
    "fu.columns": ("到期|状态|事项|创建", "Due|State|What|Opened"),
    "fu.count": ("未办结 {n} 项,其中超期 {overdue} 项", "{n} open, {overdue} overdue"),
    "fu.overdue": ("超期", "OVERDUE"),
    "fu.none": ("没有选中的跟进事项", "No follow-up selected"),
    "fu.done": ("办结", "Done"),
    "fu.cancel": ("撤销", "Cancel it"),
    "fu.note": ("处理结果 / 撤销原因(必填,回车提交)", "What was done / why cancelled (Enter)"),
    "fu.need_note": ("请填写处理结果或原因", "Say what was done or why"),
    "fu.closed": ("跟进事项已关闭", "Follow-up closed"),
    "gate.title": ("门岗夜间值班 · 转接来电", "Gate post night duty · forwarded calls"),
    "gate.columns": ("来电时间|来电号码|转接结果|备注", "Rang|Caller|Forward result|Notes"),
    "gate.count": (
        "近24小时转接 {n} 通;选中一行按回车添加备注",
        "{n} forwarded calls in the last 24 h; Enter on a row adds a note",
    ),
    "gate.none": ("没有可备注的来电", "No call selected"),
    "gate.note_for": ("门岗备注:来电", "Gate post note for the call from"),
    "gate.need_note": ("备注不能为空", "A note cannot be empty"),
    "gate.saved": ("备注已记入值班记录", "Note added to the duty record"),
    "event.title": ("上报突发事件", "Escalate an urgent event"),
    "event.summary": (
        "事件摘要(给值班主任,回车提交)", "What happened, for the supervisor (Enter files it)"
    ),
    "event.need_summary": ("请填写事件摘要", "An event report needs a summary"),
    "event.filed": ("事件报告已提交,主任已收到", "Event report filed for the supervisor"),
    "call.on_hold": ("客户保持中(F6 恢复通话)", "Caller on hold (F6 takes them back)"),
    "call.resumed": ("已恢复通话", "Caller taken back from hold"),
    "call.hold_failed": ("保持/恢复未成功", "Hold / resume did not take effect"),
    "call.transferring": ("正在转门岗……", "Transferring to the gate post…"),
    "call.transferred": ("已转门岗", "Transferred to the gate post"),
    "call.transfer_failed": (
        "门岗未接,通话仍由您处理(结果已记录)",
        "The gate post did not take the call; it stays with you (outcome recorded)",
    ),
    "call.score": ("满意度", "Satisfaction"),
    "call.no_rating": ("未评价", "no rating"),
    "call.ended": ("通话结束", "Call ended"),
    "call.forbidden": ("服务忌语", "Forbidden phrase"),
    "acw.title": ("话后处理", "After-call work"),
    "acw.done": ("处理完毕", "Done"),
    "notes.category": ("分类", "Category"),
    "notes.caller_name": ("来电人", "Caller name"),
    "notes.contact": ("联系方式", "Contact"),
    "notes.address": ("地址/单元", "Address / unit"),
    "notes.content": ("来电内容", "Content"),
    "notes.action": ("处理情况", "Action taken"),
    "notes.result": ("处理结果", "Result"),
    "notes.follow_up_due": ("跟进期限", "Follow-up due"),
    "notes.due_hint": ("YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM"),
    "notes.saved": ("已自动保存", "saved"),
    "notes.bad_due": (
        "跟进期限格式应为 YYYY-MM-DD HH:MM",
        "Follow-up due must be YYYY-MM-DD HH:MM",
    ),
    "away.title": ("示忙", "Away"),
    "away.reason": ("示忙原因", "Reason"),
    "away.limit": ("最长", "limit"),
    "away.back": ("恢复就绪", "Back"),
    "away.need_reason": ("示忙需要填写原因", "Going away needs a reason"),
    "night.title": ("夜间模式切换", "Night mode switch"),
    "night.early": ("提前转门岗", "Switch to night mode early"),
    "night.stay": ("下班后继续值守", "Stay on after hours"),
    "night.reason": ("原因(记入值班记录)", "Reason (goes into the record)"),
    "night.clear": ("恢复按排班", "Back to the schedule"),
    "night.done": ("夜间模式已切换", "Night mode switched"),
    "night.none_switch": ("无夜间模式控制", "No night-mode control"),
    "calendar.ends": ("节假日日历截止 {date}", "holiday calendar ends {date}"),
    "calendar.days_left": ("还剩 {n} 天", "{n} days left"),
    "calendar.ended": (
        "节假日日历已于 {date} 截止,此后的节假日和调休未知!",
        "holiday calendar ended {date}: holidays and make-up days after it are unknown!",
    ),
    "calendar.uncovered": (
        "节假日日历不含 {date},节假日和调休未知!",
        "the holiday calendar does not cover {date}: holidays and make-up days are unknown!",
    ),
    "calendar.covered": ("节假日日历截止 {date}", "holiday calendar ends {date}"),
    "calendar.none": ("未配置节假日日历", "no holiday calendar configured"),
    "calendar.fix": (
        "请导入下一年的放假通知(duty-console holidays add)或升级 chinese-calendar",
        "load the next year's notice (duty-console holidays add) or upgrade chinese-calendar",
    ),
    "notice.load": ("载入假日通知", "Load holiday notice"),
    "notice.title": ("载入一年的放假通知", "Load a year's holiday notice"),
    "notice.file": ("通知文件(.toml 或 .ics)", "Notice file (.toml or .ics)"),
    "notice.year": ("年份(.ics 可选)", "Year (optional, for an .ics feed)"),
    "notice.preview": ("预览", "Preview"),
    "notice.write": ("写入", "Write"),
    "notice.checking": ("检查中……", "Checking…"),
    "notice.writing": ("写入中……", "Writing…"),
    "notice.need_file": ("请输入通知文件的路径", "Type the notice file's path"),
    "notice.bad_year": ("年份应为四位数字,如 2027", "The year must be four digits, e.g. 2027"),
    "notice.summary": (
        "{year} 年:法定节假日 {holidays} 天,调休上班 {makeup} 天",
        "{year}: {holidays} holiday day(s), {makeup} make-up working day(s)",
    ),
    "notice.changes": (
        "与现用日历相比的变化({n} 天):", "Changes against the calendar in use ({n} day(s)):"
    ),
    "notice.no_change": ("无变化:全年每天不变", "none: every day of the year stays as it is"),
    "notice.write_to": ("按“写入”保存到 {target}", "“Write” saves it to {target}"),
    "notice.stale": (
        "预览之后文件或办公室日历已变,请重新预览",
        "the file or the office's calendar changed since the preview: preview again",
    ),
    "notice.written": (
        "已写入 {target}(审计:{action},操作人 {who});坐席下次启动时读取新日历",
        "written to {target} (audit: {action} by {who}); the console reads it at its next start",
    ),
    "notice.no_config": (
        "未配置 [holidays] calendar,无法写入办公室日历",
        "[holidays] calendar is not set: there is no office calendar to write",
    ),
    # ---- the supervisor's review (console/screens/supervisor)
    "rv.sub_title": ("主任 {who} · 值班记录审阅", "Supervisor {who} · duty record review"),
    "rv.tab.log": ("通话记录", "Calls"),
    "rv.tab.kpis": ("统计", "KPIs"),
    "rv.tab.morning": ("晨检", "Morning"),
    "rv.tab.handovers": ("交接班", "Handovers"),
    "rv.tab.quality": ("质检", "Quality"),
    "rv.tab.integrity": ("完整性", "Integrity"),
    "rv.tab.export": ("导出", "Export"),
    "rv.tab.attendance": ("考勤", "Attendance"),
    "rv.tab.events": ("事件", "Events"),
    "rv.tab.follow_ups": ("跟进", "Follow-ups"),
    "rv.search": ("搜索", "Search"),
    "rv.att.col.locked": ("锁定", "Locked"),
    "rv.att.locked": ("锁定至 {until}", "locked until {until}"),
    "rv.att.unlock": ("解锁所选工号", "Unlock the selected ID"),
    "rv.att.unlocked": ("已解锁 {who}(已记入审计)", "{who} unlocked (audited)"),
    "rv.att.none_selected": ("请先选中一个工号", "Select an agent ID first"),
    "rv.att.not_locked": ("工号 {who} 未锁定", "Agent ID {who} is not locked"),
    "common.ok": ("确定", "OK"),
    "common.cancel": ("取消", "Cancel"),
    "common.quit": ("退出", "Quit"),
    "common.theme": ("切换深/浅色", "Dark/light"),
    "common.logout": ("登出", "Log out"),
}


def text(key: str, language: Language = Language.ZH) -> str:
    """The label for `key`; KeyError for an unknown key (a bug, caught by the tests)."""
    zh, en = TEXTS[key]
    return zh if language is Language.ZH else en


def both(key: str, sep: str = " ") -> str:
    """The label for `key` in Chinese and English, as the supervisor's screens show it."""
    zh, en = TEXTS[key]
    return f"{zh}{sep}{en}"


def cell_width(value: str) -> int:
    """Terminal columns of `value`: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in value)


def pad(value: str, width: int) -> str:
    """`value` padded with spaces to `width` terminal columns (CJK-aware alignment)."""
    return value + " " * max(0, width - cell_width(value))
