"""The Chinese words people read for the bridge's enums — order statuses, customer types, product
kinds, inquiry statuses — in one place, so the mini-program, the sales API, the admin pages, the
CLI and the label sheets all say the same thing."""

from __future__ import annotations

from bridge.models import InquiryStatus, OrderStatus, ProductKind

ORDER_STATUS = {
    OrderStatus.PENDING: "等待处理",
    OrderStatus.IN_PRODUCTION: "生产中",
    OrderStatus.AWAITING_SHIPMENT: "等待发货",
    OrderStatus.SHIPPED: "已发货",
    OrderStatus.COMPLETED: "已完成",
    OrderStatus.CANCELLED: "已取消",
}

CUSTOMER_TYPE = {1: "类型一", 2: "类型二"}
"""1: the ERP makes the production order at once; 2: the salesperson confirms payment first."""

PRODUCT_KIND = {ProductKind.STANDARD: "标准品", ProductKind.CUSTOM: "定制品"}

INQUIRY_STATUS = {InquiryStatus.OPEN: "待跟进", InquiryStatus.HANDLED: "已处理"}
