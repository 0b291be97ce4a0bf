// packageSales/order: one order (A6) — confirm payment (release) and cancel as the API allows
// (can_release, can_cancel), each after a confirm dialog; notes on the order.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, orderDetail, failure } = require('./helpers');

let simulate;
let fake;

const ORDER = `${SALES}/orders/JHT-20261201-0001`;

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
});

async function open(detail = orderDetail()) {
  fake.route('GET', ORDER, { data: detail });
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/order/index', { order_no: 'JHT-20261201-0001' });
  await flush();
  return p;
}

async function tap(p, selector) {
  p.querySelector(selector).dispatchEvent('tap');
  await flush();
}

test('A6: shows lines, amounts in ¥ with two decimals, address, timeline in Chinese and notes', async () => {
  const p = await open();
  expect(p.querySelector('.status').dom.textContent).toBe('等待发货');
  expect(p.querySelector('.hint').dom.textContent).toBe('等待业务员确认收款');
  expect(p.querySelector('.line-amount').dom.textContent).toBe('¥1280.50');
  expect(p.querySelector('.line').dom.textContent).toContain('¥640.25 × 2片');
  expect(p.querySelector('.total').dom.textContent).toBe('¥1280.50');
  expect(p.querySelector('.customer').dom.textContent).toContain('宏达机械（类型二）');
  expect(p.querySelector('.event').dom.textContent).toContain('提交订单 → 等待发货（客户）');
  expect(p.querySelector('.note-body').dom.textContent).toBe('已电话联系');
});

test('A6: 确认收款 asks first, then releases and shows the order the API answered', async () => {
  fake.route('POST', `${ORDER}/release`, { data: orderDetail({ can_release: false, can_cancel: false, released: true, awaiting_payment: false, status_hint: null }) });
  const p = await open();
  await tap(p, '.release');
  expect(fake.calls.showModal[0].title).toBe('确认收款');
  expect(fake.calls.showModal[0].content).toContain('¥1280.50');
  expect(fake.sent('POST', `${ORDER}/release`)).toHaveLength(1);
  expect(fake.sent('POST', `${ORDER}/release`)[0].header.Authorization).toBe('Bearer staff-a1');
  expect(p.querySelector('.release')).toBeUndefined();
  expect(p.querySelector('.hint')).toBeUndefined();
  expect(fake.calls.showToast[0].title).toBe('已确认收款');
});

test('A6: declining the dialog releases nothing', async () => {
  fake.answers.showModal = { confirm: false, cancel: true };
  const p = await open();
  await tap(p, '.release');
  expect(fake.sent('POST', `${ORDER}/release`)).toHaveLength(0);
  expect(p.querySelector('.release')).toBeTruthy();
});

test('A6: what I may do comes from the API: each button only with its can_* flag', async () => {
  const p = await open(orderDetail({ can_release: false, can_cancel: true }));
  expect(p.querySelector('.release')).toBeUndefined();
  expect(p.querySelector('.cancel')).toBeTruthy();
  p.setData({ order: { ...p.instance.data.order, can_release: true, can_cancel: false } });
  expect(p.querySelector('.release')).toBeTruthy();
  expect(p.querySelector('.cancel')).toBeUndefined();
  p.setData({ order: { ...p.instance.data.order, can_release: false, can_cancel: false } });
  expect(p.querySelector('.footer-bar')).toBeUndefined();
});

test('cancel after the dialog; a refusal shows the API message and keeps the order', async () => {
  fake.route('POST', `${ORDER}/cancel`, failure(409, 'bad_state', '订单已发货，不能取消'));
  const p = await open(orderDetail({ can_release: false }));
  await tap(p, '.cancel');
  expect(fake.calls.showModal[0].title).toBe('取消订单');
  expect(fake.sent('POST', `${ORDER}/cancel`)[0].data).toEqual({});
  expect(fake.calls.showToast[0].title).toBe('订单已发货，不能取消');
  expect(p.querySelector('.status').dom.textContent).toBe('等待发货');
  fake.route('POST', `${ORDER}/cancel`, { data: orderDetail({ status: 'cancelled', status_label: '已取消', can_cancel: false, can_release: false }) });
  await tap(p, '.cancel');
  expect(p.querySelector('.status').dom.textContent).toBe('已取消');
  expect(p.querySelector('.cancel')).toBeUndefined();
});

test('A6: a note on the order is posted and shown first', async () => {
  fake.route('POST', `${ORDER}/notes`, (req) => ({ data: { id: 9, body: req.data.body, author_id: 2, author: '李业务', created_at: '2026-12-02T10:00:00+08:00' } }));
  const p = await open();
  p.querySelector('.note-input').dispatchEvent('input', { detail: { value: '客户已转账，待财务确认' } });
  await tap(p, '.add-note');
  expect(fake.sent('POST', `${ORDER}/notes`)[0].data).toEqual({ body: '客户已转账，待财务确认' });
  expect(p.querySelectorAll('.note-body').map((n) => n.dom.textContent)).toEqual(['客户已转账，待财务确认', '已电话联系']);
});

test('shipments with courier and tracking number (copy); the customer opens', async () => {
  const p = await open(orderDetail({
    status: 'shipped', status_label: '已发货', can_release: false, can_cancel: false,
    shipments: [{ courier: '顺丰', tracking_no: 'SF123456', shipped_at: '2026-12-03T10:00:00+08:00', lines: [{ sku: 'PSA-400', quantity: 2 }] }],
  }));
  expect(p.querySelector('.shipment').dom.textContent).toContain('顺丰 SF123456');
  await tap(p, '.copy-tracking');
  expect(fake.calls.setClipboardData[0].data).toBe('SF123456');
  await tap(p, '.customer');
  expect(fake.calls.navigateTo[0].url).toBe('/packageSales/customer/index?id=7');
});

test('an order not found is shown as the API says', async () => {
  fake.route('GET', ORDER, failure(404, 'not_found', '订单不存在'));
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/order/index', { order_no: 'JHT-20261201-0001' });
  await flush();
  expect(p.querySelector('.error-text').dom.textContent).toBe('订单不存在');
});
