"""What people read for a code: every Chinese label the mini-program, the admin pages, the
sales API, the CLI and the demo show for one of the bridge's enums.

Codes (``pending``, ``custom``, 1 / 2 …) are what the API, the database and the ERP documents
carry; a front end shows the label next to the code and never spells a label of its own.
"""

from __future__ import annotations

from bridge.models import CustomerType, InquiryStatus, OrderStatus, ProductKind

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

REORDER_DROP_LABELS: dict[str, str] = {
    "gone": "商品已不存在",
    "inactive": "商品已下架",
    "not_visible": "该商品已不再向您供应",
}
"""Why a past order's line is not offered again by a reorder (C14; ``reorder.DropReason``)."""

AWAITING_PAYMENT_HINT = "等待业务员确认收款"
"""What the customer reads beside the status of an order still waiting for the salesperson's
payment confirmation (C15; ``statemachine.status_hint``)."""
