// packageSales/orders: my orders by status, the ones waiting for my payment confirmation (A6).
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, page, order, failure } = require('./helpers');

let simulate;
let fake;

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
});

async function open(query = {}) {
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/orders/index', query);
  await flush();
  return p;
}

test('A6: awaiting=1 asks for awaiting_payment=true and shows amounts as ¥ with two decimals', async () => {
  fake.route('GET', `${SALES}/orders`, { data: page([order()]) });
  const p = await open({ awaiting: '1' });
  expect(fake.sent('GET', `${SALES}/orders`)[0].query).toEqual({ awaiting_payment: 'true', page: '1' });
  expect(p.querySelector('.banner')).toBeTruthy();
  expect(p.querySelector('.tabs')).toBeUndefined();
  expect(p.querySelector('.order-no').dom.textContent).toBe('JHT-20261201-0001');
  expect(p.querySelector('.customer').dom.textContent).toBe('宏达机械（类型二）');
  expect(p.querySelector('.hint').dom.textContent).toBe('等待业务员确认收款');
  expect(p.querySelector('.total').dom.textContent).toBe('¥1280.50');
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('待确认收款');
});

test('A6: nothing waiting for my confirmation has its own empty text', async () => {
  fake.route('GET', `${SALES}/orders`, { data: page([]) });
  const p = await open({ awaiting: '1' });
  expect(p.querySelector('.empty').dom.textContent).toBe('没有等待确认收款的订单');
});

test('A6: my orders by status: a tab sends its status', async () => {
  fake.route('GET', `${SALES}/orders`, (req) =>
    ({ data: page(req.query.status === 'shipped' ? [order({ status: 'shipped', status_label: '已发货', status_hint: null, awaiting_payment: false })] : []) }));
  const p = await open();
  expect(fake.sent('GET', `${SALES}/orders`)[0].query).toEqual({ page: '1' });
  expect(p.querySelector('.empty').dom.textContent).toBe('暂无订单');
  p.querySelector('.tab-shipped').dispatchEvent('tap');
  await flush();
  expect(fake.sent('GET', `${SALES}/orders`)[1].query).toEqual({ status: 'shipped', page: '1' });
  expect(p.querySelector('.status').dom.textContent).toBe('已发货');
  expect(p.querySelector('.tab-shipped').dom.className).toContain('active');
});

test("one customer's orders: customer_id is sent and the customer named", async () => {
  fake.route('GET', `${SALES}/orders`, { data: page([order()]) });
  const p = await open({ customer_id: '7', customer_name: encodeURIComponent('宏达机械') });
  expect(fake.sent('GET', `${SALES}/orders`)[0].query).toEqual({ customer_id: '7', page: '1' });
  expect(p.querySelector('.filter').dom.textContent).toBe('客户：宏达机械');
});

test('tapping an order opens its detail; the next page is appended', async () => {
  fake.route('GET', `${SALES}/orders`, (req) =>
    ({ data: page([order({ order_no: `JHT-${req.query.page}` })], { total: 2 }) }));
  const p = await open();
  await p.instance.onReachBottom();
  await flush();
  expect(p.querySelectorAll('.order')).toHaveLength(2);
  p.querySelectorAll('.order')[1].dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageSales/order/index?order_no=JHT-2');
});

test('an error is shown; an expired sign-in that cannot be renewed shows 去登录', async () => {
  fake.route('GET', `${SALES}/orders`, failure(500, 'internal', '服务暂时不可用，请稍后再试'));
  const p = await open();
  expect(p.querySelector('.error-text').dom.textContent).toBe('服务暂时不可用，请稍后再试');

  fake.route('GET', `${SALES}/orders`, failure(401, 'token_expired', '登录已过期，请重新登录'));
  fake.route('POST', `${SALES}/auth/refresh`, failure(401, 'session_ended', '登录已失效，请重新登录'));
  fake.route('POST', `${SALES}/auth/wechat/login`, failure(401, 'wechat_not_bound', '该微信尚未绑定员工账号'));
  p.querySelector('.retry').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${SALES}/auth/refresh`)[0].data).toEqual({ refresh_token: 'staff-r1' });
  expect(p.querySelector('.login-btn')).toBeTruthy();
  expect(fake.storage['jht.sales.tokens']).toBeUndefined();
});
