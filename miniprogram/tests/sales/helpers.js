// The workbench pages' tests: a signed-in salesperson (staff tokens in their own slot), the
// sales API prefix, and small builders of API answers shaped like webapi/views.py.
const SALES = '/api/sales/v1';
const STAFF_TOKENS = { 'jht.sales.tokens': { access_token: 'staff-a1', refresh_token: 'staff-r1' } };

function setupSales({ signedIn = true } = {}) {
  const { setup } = require('../helpers/sim');
  const env = setup({ signedIn: false, storage: signedIn ? STAFF_TOKENS : {} });
  require('../../config').setBaseUrl('http://api.test');
  return env;
}

const page = (items, extra = {}) => ({ page: 1, page_size: 20, total: items.length, items, ...extra });

function order(overrides = {}) {
  return {
    order_no: 'JHT-20261201-0001',
    status: 'awaiting_shipment',
    status_label: '等待发货',
    released: false,
    status_hint: '等待业务员确认收款',
    total_amount: '1280.5',
    created_at: '2026-12-01T08:30:00+08:00',
    customer: { id: 7, name: '宏达机械', type: 2 },
    awaiting_payment: true,
    ...overrides,
  };
}

function orderDetail(overrides = {}) {
  return {
    ...order(),
    ship_to: { recipient: '王工', phone: '13800000000', province: '河南省', city: '郑州市', district: '中原区', detail: '建设路1号' },
    remark: '尽快',
    erp_ref: null,
    can_cancel: true,
    can_release: true,
    released_at: null,
    stock_check: 'in_stock',
    placed_by_staff_id: null,
    lines: [
      { line_no: 1, product_id: 3, sku: 'PSA-400', name: '平形砂轮', spec: 'P 400×40×127 A 60 K V', marking: 'JHT', quantity: 2, shipped_quantity: 0, unit: '片', unit_price: '640.25', amount: '1280.5' },
    ],
    shipments: [],
    timeline: [{ at: '2026-12-01T08:30:00+08:00', action: 'placed', status: 'awaiting_shipment', status_label: '等待发货', by: 'customer', action_label: '提交订单', by_label: '客户' }],
    notes: [{ id: 1, body: '已电话联系', author_id: 2, author: '李业务', created_at: '2026-12-01T09:00:00+08:00' }],
    ...overrides,
  };
}

function customer(overrides = {}) {
  return {
    id: 7, name: '宏达机械', type: 2, type_label: '类型二', phone: '13800000000', contact_name: '王工',
    erp_code: null, salesperson_id: 2, salesperson: '李业务', created_at: '2026-11-20T10:00:00+08:00',
    accounts: 1, orders: 3, ...overrides,
  };
}

function customerDetail(overrides = {}) {
  return {
    ...customer(),
    accounts: [{ id: 11, phone: '13800000000', wechat_bound: true, nickname: '王工', last_login_at: null }],
    addresses: [],
    open_orders: 2,
    awaiting_payment_orders: 1,
    notes: [{ id: 5, body: '要求月结', author_id: 2, author: '李业务', created_at: '2026-11-21T10:00:00+08:00' }],
    ...overrides,
  };
}

const failure = (statusCode, code, message) => ({ statusCode, data: { code, message } });

module.exports = { SALES, STAFF_TOKENS, setupSales, page, order, orderDetail, customer, customerDetail, failure };
