"""What people read for a code: every Chinese label the mini-program, the admin pages, the
sales API, the CLI and the demo show for one of the bridge's enums.

Codes (``pending``, ``custom``, 1 / 2 …) are what the API, the database and the ERP documents
carry; a front end shows the label next to the code and never spells a label of its own.
"""

from __future__ import annotations

from datetime import timedelta

from bridge.models import CustomerType, InquiryStatus, OrderStatus, ProductKind, StaffRole, StockCheck

STATUS_LABELS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "等待处理",
    OrderStatus.IN_PRODUCTION: "生产中",
    OrderStatus.AWAITING_SHIPMENT: "等待发货",
    OrderStatus.SHIPPED: "已发货",
    OrderStatus.COMPLETED: "已完成",
    OrderStatus.CANCELLED: "已取消",
}
"""Order statuses (C6)."""

CUSTOMER_TYPE_LABELS: dict[CustomerType, str] = {
    CustomerType.TYPE_1: "类型一",
    CustomerType.TYPE_2: "类型二",
}
"""Customer types (A1); keyed by the enum, so the plain numbers 1 and 2 look up too."""

CUSTOMER_TYPE_EXPLANATIONS: dict[CustomerType, str] = {
    CustomerType.TYPE_1: "下单后 ERP 立即生成生产单",
    CustomerType.TYPE_2: "业务员确认收款后才下发生产",
}
"""What each customer type means for a new order (A1), shown beside the type where staff choose it."""

MERGE_ROW_LABELS: dict[str, str] = {
    "accounts": "绑定的账号（微信、手机号）",
    "orders": "订单",
    "addresses": "收货地址",
    "notes": "备注",
    "inquiries": "询价",
    "grants": "定制品授权",
    "prices": "专属价格",
    "hides": "对其隐藏的商品",
    "hides_kept": "两者都隐藏、保留的商品",
    "outbox": "待发送给 ERP 的消息",
    "outbox_superseded": "被合并后的客户资料取代的 ERP 消息",
    "aliases": "此前合并进来的客户",
    "erp_bindings": "ERP 客户关联",
}
"""What a customer merge moves or drops (A2; the keys of ``customers.merge_preview`` rows and
``MergeResult.moved`` / ``dropped``)."""

CUSTOMER_IMPORT_LABELS: dict[str, str] = {
    "created": "新建客户",
    "linked": "关联到已有客户",
    "unchanged": "已关联，不变",
}
"""What a row of the ERP's customer list does on import (A11; ``customer_import`` actions)."""

PRODUCT_KIND_LABELS: dict[ProductKind, str] = {
    ProductKind.STANDARD: "标准品",
    ProductKind.CUSTOM: "定制品",
}
"""Product kinds (C1, A3)."""

INQUIRY_STATUS_LABELS: dict[InquiryStatus, str] = {
    InquiryStatus.OPEN: "待跟进",
    InquiryStatus.HANDLED: "已处理",
}
"""Inquiry statuses (C11, A6)."""

STAFF_ROLE_LABELS: dict[StaffRole, str] = {
    StaffRole.ADMIN: "管理员",
    StaffRole.SALES: "业务员",
}
"""Staff roles (A12)."""

REORDER_DROP_LABELS: dict[str, str] = {
    "gone": "商品已不存在",
    "inactive": "商品已下架",
    "not_visible": "该商品已不再向您供应",
}
"""Why a past order's line is not offered again by a reorder (C14; ``reorder.DropReason``)."""

AWAITING_PAYMENT_HINT = "等待业务员确认收款"
"""What the customer reads beside the status of an order still waiting for the salesperson's
payment confirmation (C15; ``statemachine.status_hint``)."""

TIMELINE_ACTION_LABELS: dict[str, str] = {
    "placed": "提交订单",
    "status": "状态更新",
    "release": "确认收款，放行生产",
    "accepted": "生产管理软件已接单",
    "shipment": "发货",
    "ignored": "忽略生产管理软件的过时状态",
}
"""The actions of an order's timeline (C8); ``ignored`` lines are kept for staff but not shown."""

ACTOR_LABELS: dict[str, str] = {
    "customer": "客户",
    "sales": "业务员",
    "admin": "管理员",
    "erp": "生产管理软件",
    "system": "系统",
}
"""Who acted on an order (``ActorKind`` values), as the timeline names them."""

STOCK_CHECK_LABELS: dict[StockCheck, str] = {
    StockCheck.SUFFICIENT: "库存充足",
    StockCheck.INSUFFICIENT: "库存不足",
    StockCheck.UNKNOWN: "未知",
}
"""What the stock check at placement found (C7)."""

STOCK_SOURCE_LABELS: dict[str, str] = {
    "live": "实时查询生产管理软件",
    "snapshot": "库存快照",
    "none": "未能查询",
}
"""Where that stock answer came from (``Order.stock_source``)."""
OUTBOX_STATUS_LABELS: dict[str, str] = {
    "pending": "待发送",
    "in_flight": "发送中",
    "delivered": "已送达",
    "dead": "发送失败",
    "superseded": "已作废",
}
"""What became of a message to the ERP or a notice (``OutboxStatus`` values, and ``in_flight``: a
waiting message a worker is delivering now, ``outbox.delivery_state``)."""

OUTBOX_KIND_LABELS: dict[str, str] = {
    "customer.upsert": "客户资料",
    "customer.merge": "客户合并",
    "order.create": "新订单",
    "order.release": "确认收款放行",
    "order.cancel": "取消订单",
    "order.complete": "订单完成",
    "notify.new_order": "新订单提醒",
    "notify.shipment": "发货通知",
    "notify.cancelled": "取消通知",
    "notify.customer_cancelled": "客户取消订单提醒",
    "notify.inquiry": "询价提醒",
    "notify.status": "订单状态通知",
    "notify.ready": "定制品就绪通知",
    "notify.ops_digest": "同步告警",
}
"""Kinds of outbox messages (``OutboxMessage.kind``); a kind not listed is shown by its code."""

INBOX_STATUS_LABELS: dict[str, str] = {
    "parked": "暂存（等待订单）",
    "quarantined": "已隔离",
    "dead": "无法处理",
    "applied": "已处理",
    "ignored": "已忽略",
}
"""What became of an event from the ERP (``InboxStatus`` values)."""

INBOX_KIND_LABELS: dict[str, str] = {
    "order.status": "订单状态",
    "order.accepted": "接单",
    "order.released": "确认收款",
    "order.shipment": "发货",
    "stock": "库存",
    "customer.code": "客户编码",
}
"""Kinds of ERP events (``connector.EVENT_KINDS``); a kind not listed is shown by its code."""

CHECK_LABELS: dict[str, str] = {"ok": "正常", "warn": "警告", "fail": "失败"}
"""A line of ``jht-bridge check`` (``diagnose.CheckResult.level``)."""

CHECK_NAMES: dict[str, tuple[str, str]] = {
    "config": ("配置文件", "配置文件有误。"),
    "database": ("数据库", "无法连接数据库，下单和同步都已停止。"),
    "schema": ("数据库结构", "数据库结构与本版本不符，需要升级（jht-bridge db upgrade）。"),
    "token key": ("登录令牌密钥", "缺少登录令牌密钥，小程序和后台都无法登录。"),
    "file permissions": ("文件权限", "配置、数据库或密钥文件的权限过宽，本机其他用户可以读取。"),
    "demo logins": ("演示账号", "演示账号仍使用公开的演示密码，任何人都能登录：正式使用前请重置密码或停用。"),
    "salespeople": ("业务员分配", "未设置默认业务员：没有邀请码的新客户无人跟进，需要管理员在「客户」页分配。"),
    "notify": ("新订单提醒", "提醒渠道（企业微信、邮件）无法启动，业务员收不到新订单提醒。"),
    "wechat": ("微信接口", "无法连接微信接口，客户无法登录小程序。"),
    "connector": ("生产管理软件连接", "与生产管理软件的连接无法启动，订单无法送达。"),
    "outbox dead letters": ("发送失败的消息", "有消息发送失败、不再自动重发：请在「同步」页查看原因，处理后重新发送。"),
    "inbox dead events": (
        "无法处理的 ERP 事件",
        "有生产管理软件发来的事件无法处理：请在「同步」页查看原因，处理后重放。",
    ),
    "inbox parked events": ("暂存的 ERP 事件", "有事件提到本系统还不知道的订单，会自动重试。"),
    "inbox quarantined events": (
        "被隔离的 ERP 事件",
        "有生产管理软件发来的文件格式有误，已被隔离：请让对方重新发送正确的文件。",
    ),
}
"""The lines of ``jht-bridge check`` as the 工作台 shows them: each check's Chinese name and
what a failure or warning of it means for the shop (the English detail is for the IT person)."""

NOTIFY_CHANNEL_NAMES = {
    "wecom_robot": "企业微信群机器人",
    "wecom_app": "企业微信应用",
    "email": "邮件",
    "wechat": "微信订阅消息",
}
"""The notice channels by their ``[notify.NAME]`` (``notify NAME`` lines of the check)."""

CONNECTOR_CHECK = ("生产管理软件连接", "与生产管理软件的连接有问题，订单和状态可能无法同步：请 IT 人员查看技术说明。")
"""A connector's own check lines (``connector NAME: LINE``)."""


def check_name(name: str) -> str:
    """The Chinese name of a ``jht-bridge check`` line (its own name when it has none)."""
    if name in CHECK_NAMES:
        return CHECK_NAMES[name][0]
    if name.startswith("connector "):
        return f"{CONNECTOR_CHECK[0]}（{name.removeprefix('connector ')}）"
    if name.startswith("notify "):
        return f"{CHECK_NAMES['notify'][0]}（{NOTIFY_CHANNEL_NAMES.get(name.removeprefix('notify '), name)}）"
    return name


def check_advice(name: str) -> str:
    """What a failure or warning of that check means, in Chinese."""
    if name in CHECK_NAMES:
        return CHECK_NAMES[name][1]
    if name.startswith("connector "):
        return CONNECTOR_CHECK[1]
    if name.startswith("notify "):
        return "这个提醒渠道发不出提醒：请 IT 人员查看技术说明。"
    return "请 IT 人员查看技术说明。"


def age_label(age: timedelta | None) -> str:
    """A duration as people say it: 不到 1 分钟, 3 分钟, 2 小时 5 分钟, 3 天 4 小时 ('' for None)."""
    if age is None:
        return ""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "不到 1 分钟"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")
    return f"{minutes} 分钟"


CLI_ACTOR_LABEL = "命令行"
"""Who acted when it was ``jht-bridge`` at the command line (``actors.CLI_ADMIN``), as the audit
log names it."""

AUDIT_ACTION_LABELS: dict[str, str] = {
    "user.add": "添加员工",
    "user.notify_settings": "修改通知设置",
    "product.ready_notice": "通知客户定制品就绪",
    "user.deactivate": "停用员工",
    "user.activate": "启用员工",
    "user.reset_password": "重置密码",
    "user.revoke_sessions": "结束登录会话",
    "user.role": "更改角色",
    "user.wechat_bind": "绑定微信",
    "user.wechat_unbind": "解绑微信",
    "customer.create": "新建客户",
    "customer.update": "修改客户",
    "customer.type": "更改客户类型",
    "customer.erp_code": "关联 ERP 客户编码",
    "customer.merge": "合并客户",
    "customers.import": "导入客户",
    "account.unbind": "解绑账号",
    "account.joined_customer": "账号加入客户",
    "account.phone_matches_customer": "手机号匹配到客户",
    "note.add": "添加备注",
    "inquiry.handle": "询价已处理",
    "inquiry.answer": "回复询价",
    "product.create": "新建商品",
    "product.update": "修改商品",
    "product.grant": "授权定制品",
    "product.revoke": "取消授权",
    "product.hide": "对客户隐藏商品",
    "product.unhide": "取消隐藏商品",
    "product.qr_add": "添加二维码数据",
    "product.qr_remove": "删除二维码数据",
    "products.qr_import": "批量导入二维码数据",
    "products.import": "导入商品目录",
    "price.set": "设置价格",
    "price.clear": "清除价格",
    "demo.load": "载入演示数据",
}
"""The audited actions (``bridge.actors.audit``) as the 审计日志 page names them; an action with
no label here is shown by its code."""

AUDIT_ENTITY_LABELS: dict[str, str] = {
    "staff_user": "员工",
    "customer": "客户",
    "account": "账号",
    "order": "订单",
    "inquiry": "询价",
    "product": "商品",
    "catalog": "商品目录",
    "demo": "演示数据",
}
"""What an audit row is about (its ``entity``), as the 审计日志 page names it."""


CHANNEL_LABELS: dict[str, str] = {
    "wecom_robot": "企业微信群",
    "wecom_app": "企业微信",
    "email": "邮件",
    "wechat": "微信订阅消息",
}
"""The channels a notice goes out through (``bridge.notify``)."""

NOTICE_OUTCOME_LABELS: dict[str, str] = {
    "sent": "已发送",
    "not_consented": "客户未订阅",
    "waiting": "待发送",
    "failed": "发送失败",
}
"""What became of a routed notice (``bridge.notify.Notification.outcome``)."""
