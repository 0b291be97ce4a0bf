// 我的 (C3, C10): the customer, the phone and its binding, 联系业务员, the links, logout
const fs = require('fs');
const path = require('path');
const { API, flush } = require('../helpers/fake-wx');

const wxml = fs.readFileSync(path.join(__dirname, '..', '..', 'pages', 'me', 'index.wxml'), 'utf8');

let fake;
let simulate;
let openPage;

const me = (over = {}) => ({
  customer: { id: 7, name: '苏州精工', type: 2, type_label: '类型二' },
  account: { id: 11, phone: '13800000000', nickname: '张三' },
  accounts: [{ id: 11, phone: '13800000000', wechat_bound: true, nickname: '张三' }],
  salesperson: { name: '李业务', phone: '13900000000', wechat: 'li-wecom' },
  ...over,
});

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

async function openMe() {
  const page = await openPage(simulate, 'pages/me/index');
  await page.instance.onShow();
  await flush();
  return page;
}

test('C10: the customer with its type label and this account phone; the links navigate', async () => {
  fake.route('GET', `${API}/me`, { data: me() });
  const page = await openMe();
  const html = page.dom.innerHTML;
  ['苏州精工', '类型二', '手机号：13800000000', '收货地址', '绑定账号', '我的询价', '联系业务员'].forEach((t) => expect(html).toContain(t));
  expect(page.querySelector('#bind-phone')).toBeUndefined();
  page.querySelector('#link-addresses').dispatchEvent('tap');
  page.querySelector('#link-accounts').dispatchEvent('tap');
  page.querySelector('#link-inquiries').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo.map((c) => c.url)).toEqual([
    '/packageMe/addresses/index',
    '/packageMe/accounts/index',
    '/packageMe/inquiries/index',
  ]);
});

test('C3: 联系业务员 opens the contact sheet with the salesperson from /me; tap-to-call', async () => {
  fake.route('GET', `${API}/me`, { data: me() });
  const page = await openMe();
  page.querySelector('#contact').dispatchEvent('tap');
  await flush();
  const sheet = page.querySelector('#contact-sheet');
  expect(sheet.dom.innerHTML).toContain('李业务');
  expect(sheet.dom.innerHTML).toContain('li-wecom');
  sheet.querySelector('.call').dispatchEvent('tap');
  await flush();
  expect(fake.calls.makePhoneCall[0].phoneNumber).toBe('13900000000');
  sheet.querySelector('.inquiry').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo.pop().url).toBe('/packageMe/inquiry/index');
});

test('C10: no phone → the getPhoneNumber button; its code goes to POST /auth/phone, the new tokens kept', async () => {
  let bound = false;
  fake.route('GET', `${API}/me`, () => ({ data: me({ account: { id: 11, phone: bound ? '13700000000' : null, nickname: null } }) }));
  fake.route('POST', `${API}/auth/phone`, () => {
    bound = true;
    return { data: { access_token: 'access-2', refresh_token: 'refresh-2', phone: '13700000000', customer: { id: 7, name: '苏州精工' }, joined_registered_customer: false } };
  });
  const page = await openMe();
  expect(page.dom.innerHTML).toContain('未绑定手机号');
  const button = page.querySelector('#bind-phone');
  // the simulator does not render attributes: the WXML names the code-based phone button
  expect(wxml).toMatch(/id="bind-phone"[^>]*open-type="getPhoneNumber"[^>]*bindgetphonenumber="onGetPhoneNumber"/);
  button.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' } });
  await flush();
  expect(fake.sent('POST', `${API}/auth/phone`)[0].data).toEqual({ code: 'phone-code-1' });
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'access-2', refresh_token: 'refresh-2' });
  expect(fake.calls.showToast[0].title).toBe('手机号已绑定');
  expect(page.dom.innerHTML).toContain('手机号：13700000000');
});

test('C10: a refused phone permission sends nothing; an API refusal shows its message', async () => {
  fake.route('GET', `${API}/me`, { data: me({ account: { id: 11, phone: null, nickname: null } }) });
  fake.route('POST', `${API}/auth/phone`, { statusCode: 409, data: { code: 'phone_taken', message: '该手机号已绑定其他微信账号' } });
  const page = await openMe();
  await page.instance.onGetPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail user deny' } });
  expect(fake.sent('POST', `${API}/auth/phone`)).toHaveLength(0);
  expect(fake.calls.showToast.pop().title).toBe('未授权获取手机号');
  await page.instance.onGetPhoneNumber({ detail: { code: 'c2' } });
  await flush();
  expect(fake.calls.showToast.pop().title).toBe('该手机号已绑定其他微信账号');
  expect(page.dom.innerHTML).toContain('未绑定手机号');
});

test('logout: confirmed → POST /auth/logout, tokens gone, the signed-out state; 微信登录 signs in again', async () => {
  fake.route('GET', `${API}/me`, { data: me() });
  fake.route('POST', `${API}/auth/logout`, { data: { logged_out: true } });
  fake.route('POST', `${API}/auth/login`, { data: { access_token: 'a3', refresh_token: 'r3', new_customer: false, customer: { id: 7, name: '苏州精工', type: 2 } } });
  const page = await openMe();
  fake.answers.showModal = { confirm: false };
  page.querySelector('#logout').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/auth/logout`)).toHaveLength(0);
  fake.answers.showModal = { confirm: true };
  page.querySelector('#logout').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/auth/logout`)).toHaveLength(1);
  expect(fake.storage['jht.mp.tokens']).toBeUndefined();
  expect(page.dom.innerHTML).toContain('您已退出登录');
  await page.instance.onShow();
  expect(fake.count('login')).toBe(0); // no silent sign-in on the 我的 tab after logout
  page.querySelector('#login').dispatchEvent('tap');
  await flush();
  expect(fake.count('login')).toBe(1);
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'a3', refresh_token: 'r3' });
  expect(page.dom.innerHTML).toContain('苏州精工');
});

test('me: loading, then the API error with a retry', async () => {
  fake.route('GET', `${API}/me`, { statusCode: 503, data: { code: 'down', message: '服务暂时不可用，请稍后再试' } });
  const page = await openPage(simulate, 'pages/me/index');
  const shown = page.instance.onShow();
  expect(page.dom.innerHTML).toContain('加载中');
  await shown;
  expect(page.dom.innerHTML).toContain('服务暂时不可用，请稍后再试');
  fake.route('GET', `${API}/me`, { data: me() });
  page.querySelector('#retry').dispatchEvent('tap');
  await flush();
  expect(page.dom.innerHTML).toContain('苏州精工');
});
