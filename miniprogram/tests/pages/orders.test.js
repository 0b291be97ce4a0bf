// 我的订单 and 订单详情 (C6, C8, C9, C13, C15)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const summary = (no, over = {}) => ({ order_no: no, status: 'pending', status_label: '等待处理', released: false, status_hint: null, total_amount: '176', created_at: '2024-05-01T08:00:00+00:00', ...over });
const detail = (over = {}) => ({
  ...summary('JHT1', { status: 'shipped', status_label: '已发货' }),
  ship_to: { recipient: '张三', phone: '138', province: '江苏省', city: '苏州市', district: '', detail: '1 号' },
  remark: '尽快', erp_ref: 'E1', can_cancel: false, can_confirm_receipt: true,
  lines: [{ line_no: 1, product_id: 9, sku: 'GW-400', name: '平形砂轮', spec: '400×40×127', marking: 'M1', quantity: 2, shipped_quantity: 2, unit: '片', unit_price: '88', amount: '176' }],
  shipments: [{ courier: '顺丰速运', tracking_no: 'SF123456', shipped_at: '2024-05-02T08:00:00+00:00', lines: [{ sku: 'GW-400', quantity: 2 }] }],
  timeline: [
    { at: '2024-05-01T08:00:00+00:00', action: 'placed', status: 'pending', status_label: '等待处理', by: 'customer', action_label: '提交订单', by_label: '客户' },
    { at: '2024-05-02T08:00:00+00:00', action: 'shipment', status: null, status_label: null, by: 'erp', action_label: '发货', by_label: '生产管理软件' },
  ],
  ...over,
});

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('C6/C13: status tabs filter the list; the hint of a type-2 order shows (C15)', async () => {
  fake.route('GET', `${API}/orders`, (req) => ({
    data: { page: 1, page_size: 20, total: 1, items: [summary(req.query.status ? 'JHT-S' : 'JHT-A', { status_hint: '等待业务员确认收款' })] },
  }));
  const page = await openPage(simulate, 'pages/orders/index');
  await page.instance.onShow();
  await flush();
  const labels = page.querySelectorAll('.status-tab').map((t) => t.dom.textContent);
  expect(labels).toEqual(['全部', '等待处理', '生产中', '等待发货', '已发货', '已完成', '已取消']);
  expect(page.dom.innerHTML).toContain('JHT-A');
  expect(page.dom.innerHTML).toContain('等待业务员确认收款');
  expect(page.dom.innerHTML).toContain('¥176.00');
  page.querySelectorAll('.status-tab')[3].dispatchEvent('tap');
  await flush();
  expect(fake.requests.pop().query).toEqual({ status: 'awaiting_shipment', page: '1' });
  expect(page.dom.innerHTML).toContain('JHT-S');
  page.querySelector('.order').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageOrder/detail/index?order_no=JHT-S');
});

test('orders: empty and error states', async () => {
  fake.route('GET', `${API}/orders`, { data: { page: 1, page_size: 20, total: 0, items: [] } });
  const page = await openPage(simulate, 'pages/orders/index');
  await page.instance.onShow();
  expect(page.dom.innerHTML).toContain('暂无订单');
  fake.route('GET', `${API}/orders`, { statusCode: 503, data: { code: 'erp_down', message: '服务暂时不可用' } });
  await page.instance.onShow();
  expect(page.dom.innerHTML).toContain('服务暂时不可用');
});

test('C8: shipments with courier and tracking number to copy; lines and timeline', async () => {
  fake.route('GET', `${API}/orders/JHT1`, { data: detail() });
  const page = await openPage(simulate, 'packageOrder/detail/index', { order_no: 'JHT1' });
  await flush();
  const html = page.dom.innerHTML;
  ['已发货', '顺丰速运', 'SF123456', '平形砂轮', '标记：M1', '已发 2/2', '生产管理软件', '发货', '¥176.00'].forEach((t) => expect(html).toContain(t));
  page.querySelector('.copy').dispatchEvent('tap');
  await flush();
  expect(fake.calls.setClipboardData[0].data).toBe('SF123456');
  expect(page.querySelector('#cancel')).toBeUndefined();
});

test('C9: confirm receipt when the API allows it → POST /receipt, the answer shown', async () => {
  fake.route('GET', `${API}/orders/JHT1`, { data: detail() });
  fake.route('POST', `${API}/orders/JHT1/receipt`, { data: detail({ status: 'completed', status_label: '已完成', can_confirm_receipt: false }) });
  const page = await openPage(simulate, 'packageOrder/detail/index', { order_no: 'JHT1' });
  await flush();
  page.querySelector('#receipt').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showModal).toHaveLength(1);
  expect(fake.sent('POST', `${API}/orders/JHT1/receipt`)).toHaveLength(1);
  expect(page.dom.innerHTML).toContain('已完成');
  expect(page.querySelector('#receipt')).toBeUndefined();
});

test('C13: cancel only when can_cancel; declining the dialog sends nothing', async () => {
  fake.route('GET', `${API}/orders/JHT1`, { data: detail({ status: 'pending', status_label: '等待处理', can_cancel: true, can_confirm_receipt: false, shipments: [] }) });
  const page = await openPage(simulate, 'packageOrder/detail/index', { order_no: 'JHT1' });
  await flush();
  expect(page.querySelector('#receipt')).toBeUndefined();
  fake.answers.showModal = { confirm: false };
  page.querySelector('#cancel').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/orders/JHT1/cancel`)).toHaveLength(0);
  fake.answers.showModal = { confirm: true };
  fake.route('POST', `${API}/orders/JHT1/cancel`, { statusCode: 409, data: { code: 'bad_state', message: '订单已投产，不能取消' } });
  page.querySelector('#cancel').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showToast.pop().title).toBe('订单已投产，不能取消');
  expect(page.instance.data.order.status_label).toBe('等待处理');
});

test('detail: a missing order shows the API message', async () => {
  fake.route('GET', `${API}/orders/NOPE`, { statusCode: 404, data: { code: 'not_found', message: '订单不存在' } });
  const page = await openPage(simulate, 'packageOrder/detail/index', { order_no: 'NOPE' });
  await flush();
  expect(page.dom.innerHTML).toContain('订单不存在');
});
