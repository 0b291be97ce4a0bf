// packageSales/index: the workbench home (A6) — who is signed in, the counts waiting, sign-in state.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, page, order, failure } = require('./helpers');

let simulate;
let fake;
let openPage;

const ME = { id: 2, username: 'li', display_name: '李业务', role: 'sales', phone: null, wechat_bound: true };

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
  ({ openPage } = require('../helpers/sim'));
});

async function open() {
  const p = await openPage(simulate, 'packageSales/index/index');
  await p.instance.onShow();
  await flush();
  return p;
}

test('A6: shows the salesperson and the counts waiting, with the staff token (not the customer one)', async () => {
  fake.route('GET', `${SALES}/me`, { data: ME });
  fake.route('GET', `${SALES}/inquiries`, { data: page([{ id: 1 }], { total: 4 }) });
  fake.route('GET', `${SALES}/orders`, { data: page([order(), order({ order_no: 'JHT-2' })]) });
  const p = await open();
  expect(p.querySelector('.user-name').dom.textContent).toBe('李业务');
  expect(p.querySelector('.awaiting-count').dom.textContent).toBe('2');
  expect(p.querySelector('.inquiry-count').dom.textContent).toBe('4');
  expect(fake.sent('GET', `${SALES}/orders`)[0].query).toEqual({ awaiting_payment: 'true', page: '1' });
  expect(fake.sent('GET', `${SALES}/inquiries`)[0].query).toEqual({ status: 'open', page: '1' });
  fake.requests.forEach((r) => expect(r.header.Authorization).toBe('Bearer staff-a1'));
});

test('A6: tapping an entry opens its page', async () => {
  fake.route('GET', `${SALES}/me`, { data: ME });
  fake.route('GET', `${SALES}/orders`, { data: page([]) });
  fake.route('GET', `${SALES}/inquiries`, { data: page([]) });
  const p = await open();
  p.querySelector('.entry-customers').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageSales/customers/index');
  p.querySelector('.entry-awaiting').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[1].url).toBe('/packageSales/orders/index?awaiting=1');
});

test('not signed in and the WeChat account not bound: 去登录 instead of an error', async () => {
  jest.resetModules();
  ({ simulate, fake } = setupSales({ signedIn: false }));
  ({ openPage } = require('../helpers/sim'));
  fake.route('POST', `${SALES}/auth/wechat/login`, failure(401, 'wechat_not_bound', '该微信尚未绑定员工账号，请先用用户名和密码登录后绑定'));
  const p = await open();
  expect(fake.sent('POST', `${SALES}/auth/wechat/login`)[0].data).toEqual({ code: 'wx-code-1' });
  expect(p.querySelector('.login-btn')).toBeTruthy();
  p.querySelector('.login-btn').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageSales/login/index');
  expect(fake.storage['jht.mp.tokens']).toBeUndefined();
});

test('a server error is shown with 重试, which loads again', async () => {
  fake.route('GET', `${SALES}/me`, failure(500, 'internal', '服务暂时不可用，请稍后再试'));
  const p = await open();
  expect(p.querySelector('.error-text').dom.textContent).toBe('服务暂时不可用，请稍后再试');
  fake.route('GET', `${SALES}/me`, { data: ME });
  fake.route('GET', `${SALES}/orders`, { data: page([]) });
  fake.route('GET', `${SALES}/inquiries`, { data: page([]) });
  p.querySelector('.retry').dispatchEvent('tap');
  await flush();
  expect(p.querySelector('.user-name').dom.textContent).toBe('李业务');
});
