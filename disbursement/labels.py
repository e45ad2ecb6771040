"""Chinese labels of award states and actions, for messages and pages."""

from __future__ import annotations

from collections.abc import Mapping

STATE_LABELS: Mapping[str, str] = {
    "proposed": "待公示/公示中",
    "objected": "有异议",
    "notified": "待确认",
    "confirmed": "已确认",
    "reviewed": "已初审",
    "awaiting_second_approval": "待复核",
    "approved": "已审批",
    "scheduled": "已排入批次",
    "payment_failed": "支付失败",
    "paid": "已支付",
    "clawback_pending": "追回中",
    "recovered": "已追回",
    "granted": "已移交税务",
    "declined": "已放弃",
    "lapsed": "已逾期",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
    "payment_abandoned": "支付终止",
}

ACTION_LABELS: Mapping[str, str] = {
    "object": "提出异议",
    "dismiss_objection": "驳回异议",
    "uphold_objection": "异议成立",
    "notify": "推送企业",
    "grant": "移交税务",
    "withdraw": "撤回",
    "confirm": "确认账户",
    "decline": "放弃",
    "lapse": "逾期未确认",
    "review": "初审",
    "approve": "审批",
    "second_approve": "复核",
    "reject": "驳回",
    "schedule": "排入批次",
    "pay": "支付成功",
    "fail_payment": "支付失败",
    "reschedule": "重新排入批次",
    "abandon": "终止支付",
    "open_clawback": "发起追回",
    "recover": "追回完成",
}
