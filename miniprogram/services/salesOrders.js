// /api/sales/v1/orders — my customers' orders, the ones waiting for my payment confirmation,
// release, cancel, notes on an order (A1, A6).
const { request } = require('./salesClient');

const orderPath = (orderNo) => `/orders/${encodeURIComponent(orderNo)}`;

module.exports = {
  // GET /orders?status=&awaiting_payment=true&customer_id=&page= → StaffOrderPage
  listOrders: ({ status, awaitingPayment, customerId, page = 1 } = {}, options = {}) =>
    request({
      path: '/orders',
      params: { status, awaiting_payment: awaitingPayment ? 'true' : undefined, customer_id: customerId, page },
      ...options,
    }),
  // GET /orders/{order_no} → StaffOrderView (can_release, can_cancel, notes, timeline …)
  getOrder: (orderNo, options = {}) => request({ path: orderPath(orderNo), ...options }),
  // POST /orders/{order_no}/release → StaffOrderView: payment confirmed, released to production
  releaseOrder: (orderNo, options = {}) => request({ method: 'POST', path: `${orderPath(orderNo)}/release`, ...options }),
  // POST /orders/{order_no}/cancel {reason?} → StaffOrderView
  cancelOrder: (orderNo, reason, options = {}) =>
    request({ method: 'POST', path: `${orderPath(orderNo)}/cancel`, data: reason ? { reason } : {}, ...options }),
  // POST /orders/{order_no}/notes {body} → NoteOut
  addOrderNote: (orderNo, body, options = {}) =>
    request({ method: 'POST', path: `${orderPath(orderNo)}/notes`, data: { body }, ...options }),
};
