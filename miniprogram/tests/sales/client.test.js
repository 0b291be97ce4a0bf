// services/salesClient: the staff tokens live in their own slot, apart from the customer's.
const { flush, API } = require('../helpers/fake-wx');
const { SALES, setupSales, failure } = require('./helpers');

let fake;
let sales;

beforeEach(() => {
  jest.resetModules();
  ({ fake } = setupSales());
  fake.storage['jht.mp.tokens'] = { access_token: 'cust-a1', refresh_token: 'cust-r1' };
  sales = require('../../services/salesClient');
});

test('sales calls carry the staff token; customer calls keep the customer token', async () => {
  fake.route('GET', `${SALES}/me`, { data: { id: 2 } });
  fake.route('GET', `${API}/me`, { data: { customer: {} } });
  await sales.me();
  await require('../../utils/request').request({ path: '/me' });
  expect(fake.sent('GET', `${SALES}/me`)[0].header.Authorization).toBe('Bearer staff-a1');
  expect(fake.sent('GET', `${API}/me`)[0].header.Authorization).toBe('Bearer cust-a1');
});

test('a staff 401 refreshes through /api/sales/v1/auth/refresh and leaves the customer tokens alone', async () => {
  fake.route('GET', `${SALES}/me`, (req) =>
    (req.header.Authorization === 'Bearer staff-a2' ? { data: { id: 2 } } : failure(401, 'token_expired', '登录已过期')));
  fake.route('POST', `${SALES}/auth/refresh`, { data: { access_token: 'staff-a2', refresh_token: 'staff-r2', user: { id: 2 } } });
  await expect(sales.me()).resolves.toEqual({ id: 2 });
  expect(fake.sent('POST', `${SALES}/auth/refresh`)[0].data).toEqual({ refresh_token: 'staff-r1' });
  expect(fake.storage['jht.sales.tokens']).toEqual({ access_token: 'staff-a2', refresh_token: 'staff-r2' });
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'cust-a1', refresh_token: 'cust-r1' });
  expect(fake.sent('POST', `${API}/auth/refresh`)).toHaveLength(0);
});

test('when the refresh fails the bound WeChat account signs in again, not the customer login', async () => {
  fake.route('GET', `${SALES}/me`, (req) =>
    (req.header.Authorization === 'Bearer staff-a3' ? { data: { id: 2 } } : failure(401, 'token_expired', '登录已过期')));
  fake.route('POST', `${SALES}/auth/refresh`, failure(401, 'session_ended', '登录已失效，请重新登录'));
  fake.route('POST', `${SALES}/auth/wechat/login`, { data: { access_token: 'staff-a3', refresh_token: 'staff-r3', user: { id: 2 } } });
  await expect(sales.me()).resolves.toEqual({ id: 2 });
  expect(fake.sent('POST', `${SALES}/auth/wechat/login`)[0].data).toEqual({ code: 'wx-code-1' });
  expect(fake.sent('POST', `${API}/auth/login`)).toHaveLength(0);
  expect(fake.storage['jht.sales.user']).toEqual({ id: 2 });
});

test('logout ends the staff session and drops only the staff tokens, even when the call fails', async () => {
  fake.route('POST', `${SALES}/auth/logout`, () => fake.networkError());
  await expect(sales.logout()).rejects.toThrow('网络异常');
  await flush();
  expect(fake.sent('POST', `${SALES}/auth/logout`)[0].header.Authorization).toBe('Bearer staff-a1');
  expect(fake.storage['jht.sales.tokens']).toBeUndefined();
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'cust-a1', refresh_token: 'cust-r1' });
});

test('needsLogin: a 401 or an unbound WeChat account, not other errors', () => {
  expect(sales.needsLogin({ status: 401 })).toBe(true);
  expect(sales.needsLogin({ status: 0, code: 'wechat_not_bound' })).toBe(true);
  expect(sales.needsLogin({ status: 403, code: 'forbidden' })).toBe(false);
  expect(sales.needsLogin({ status: 0, code: 'network_error' })).toBe(false);
});
