// /api/mp/v1/orders — place, list, follow, cancel, confirm receipt (C5–C9, C13), reorder (C14).
const { request } = require('../utils/request');

// The status tabs of the order list, in the API's status values ('' = all).
const STATUS_TABS = [
  { status: '', label: '全部' },
  { status: 'pending', label: '等待处理' },
  { status: 'in_production', label: '生产中' },
  { status: 'awaiting_shipment', label: '等待发货' },
  { status: 'shipped', label: '已发货' },
  { status: 'completed', label: '已完成' },
  { status: 'cancelled', label: '已取消' },
];

module.exports = {
  STATUS_TABS,
  // POST /orders {lines: [{product_id, quantity, qr_payload?, marking?}], address_id, remark}
  //   header Idempotency-Key → PlacedOrder
  placeOrder: ({ lines, addressId, remark }, idempotencyKey, options = {}) =>
    request({
      method: 'POST',
      path: '/orders',
      data: { lines, address_id: addressId, remark: remark || '' },
      idempotencyKey,
      ...options,
    }),
  // GET /orders?status=&page= → OrderPage {page, page_size, total, items}
  listOrders: ({ status, page = 1 } = {}, options = {}) =>
    request({ path: '/orders', params: { status, page }, ...options }),
  // GET /orders/{order_no} → CustomerOrderView
  getOrder: (orderNo, options = {}) => request({ path: `/orders/${encodeURIComponent(orderNo)}`, ...options }),
  // POST /orders/{order_no}/cancel → CustomerOrderView
  cancelOrder: (orderNo) => request({ method: 'POST', path: `/orders/${encodeURIComponent(orderNo)}/cancel` }),
  // POST /orders/{order_no}/receipt → CustomerOrderView
  confirmReceipt: (orderNo) => request({ method: 'POST', path: `/orders/${encodeURIComponent(orderNo)}/receipt` }),
  // GET /orders/{order_no}/reorder → ReorderView {order_no, lines, dropped, total_amount}: the past
  //   order's lines still offered, at today's prices, and those dropped with why (C14)
  reorder: (orderNo, options = {}) => request({ path: `/orders/${encodeURIComponent(orderNo)}/reorder`, ...options }),
};
