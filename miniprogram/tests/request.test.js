// utils/request.js: the one wrapper over wx.request.
const { API } = require('./helpers/fake-wx');

let fake;
let request;
let config;

beforeEach(() => {
  jest.resetModules();
  ({ fake } = require('./helpers/sim').setup());
  config = require('../config');
  config.setBaseUrl('http://api.test');
  request = require('../utils/request');
});

test('sends the bearer token from storage to the base URL of config.js', async () => {
  fake.route('GET', `${API}/me`, { data: { ok: 1 } });
  await expect(request.request({ path: '/me' })).resolves.toEqual({ ok: 1 });
  expect(fake.requests[0].url).toBe('http://api.test/api/mp/v1/me');
  expect(fake.requests[0].header.Authorization).toBe('Bearer access-1');
});

test('query parameters skip empty values; the Idempotency-Key header is sent when given', async () => {
  fake.route('POST', `${API}/orders`, { data: {} });
  fake.route('GET', `${API}/products`, { data: {} });
  await request.request({ path: '/products', params: { kind: 'standard', q: '', page: 2 } });
  await request.request({ method: 'POST', path: '/orders', data: { a: 1 }, idempotencyKey: 'key-12345678' });
  expect(fake.requests[0].query).toEqual({ kind: 'standard', page: '2' });
  expect(fake.requests[1].header['Idempotency-Key']).toBe('key-12345678');
  expect(fake.requests[1].data).toEqual({ a: 1 });
});

test('an API error rejects with its Chinese message and code, and is shown', async () => {
  fake.route('POST', `${API}/orders/X1/cancel`, { statusCode: 409, data: { code: 'bad_state', message: '订单已发货，不能取消' } });
  const err = await request.request({ method: 'POST', path: '/orders/X1/cancel' }).catch((e) => e);
  expect(err).toBeInstanceOf(request.ApiError);
  expect(err.message).toBe('订单已发货，不能取消');
  expect(err.code).toBe('bad_state');
  expect(err.status).toBe(409);
  expect(fake.calls.showToast[0].title).toBe('订单已发货，不能取消');
});

test('a network error is shown and rejected, never swallowed', async () => {
  fake.route('GET', `${API}/me`, () => fake.networkError());
  const err = await request.request({ path: '/me' }).catch((e) => e);
  expect(err).toBeInstanceOf(request.ApiError);
  expect(err.code).toBe('network_error');
  expect(err.message).toBe('网络异常，请检查网络后重试');
  expect(fake.calls.showToast[0].title).toBe('网络异常，请检查网络后重试');
});

test('toast: false leaves showing the error to the page', async () => {
  fake.route('GET', `${API}/me`, { statusCode: 500, data: 'oops' });
  const err = await request.request({ path: '/me', toast: false }).catch((e) => e);
  expect(err.message).toBe('服务暂时不可用，请稍后再试');
  expect(fake.count('showToast')).toBe(0);
});

test('on a 401 the token is refreshed once and the call made again with the new token', async () => {
  let n = 0;
  fake.route('GET', `${API}/me`, (req) => {
    n += 1;
    return req.header.Authorization === 'Bearer access-2' ? { data: { me: 1 } } : { statusCode: 401, data: { code: 'token_expired', message: '登录已过期，请重新登录' } };
  });
  fake.route('POST', `${API}/auth/refresh`, (req) => {
    expect(req.data).toEqual({ refresh_token: 'refresh-1' });
    return { data: { access_token: 'access-2', refresh_token: 'refresh-2', token_type: 'Bearer', expires_in: 900 } };
  });
  await expect(request.request({ path: '/me' })).resolves.toEqual({ me: 1 });
  expect(n).toBe(2);
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'access-2', refresh_token: 'refresh-2' });
  expect(fake.count('login')).toBe(0);
});

test('two calls failing with 401 together share one refresh', async () => {
  fake.route('GET', /\/api\/mp\/v1\/(me|orders)$/, (req) =>
    req.header.Authorization === 'Bearer access-2' ? { data: {} } : { statusCode: 401, data: { message: '登录已过期' } });
  fake.route('POST', `${API}/auth/refresh`, { data: { access_token: 'access-2', refresh_token: 'refresh-2' } });
  await Promise.all([request.request({ path: '/me' }), request.request({ path: '/orders' })]);
  expect(fake.sent('POST', `${API}/auth/refresh`)).toHaveLength(1);
});

test('when the refresh fails, wx.login → /auth/login and the call once more', async () => {
  fake.route('GET', `${API}/me`, (req) =>
    req.header.Authorization === 'Bearer access-3' ? { data: { me: 3 } } : { statusCode: 401, data: { message: '登录已失效' } });
  fake.route('POST', `${API}/auth/refresh`, { statusCode: 401, data: { code: 'session_ended', message: '登录已失效，请重新登录' } });
  fake.route('POST', `${API}/auth/login`, (req) => {
    expect(req.data).toEqual({ code: 'wx-code-1' });
    return { data: { access_token: 'access-3', refresh_token: 'refresh-3', new_customer: false, customer: { id: 1, name: 'x', type: 1 } } };
  });
  await expect(request.request({ path: '/me' })).resolves.toEqual({ me: 3 });
  expect(fake.count('login')).toBe(1);
  expect(fake.storage['jht.mp.tokens'].access_token).toBe('access-3');
});

test('a 401 after refreshing is an error, not a loop', async () => {
  fake.route('GET', `${API}/me`, { statusCode: 401, data: { code: 'token_expired', message: '登录已过期，请重新登录' } });
  fake.route('POST', `${API}/auth/refresh`, { data: { access_token: 'access-2', refresh_token: 'refresh-2' } });
  const err = await request.request({ path: '/me' }).catch((e) => e);
  expect(err.status).toBe(401);
  expect(fake.sent('GET', `${API}/me`)).toHaveLength(2);
});

test('without tokens the first call logs in first', async () => {
  fake.storage['jht.mp.tokens'] = '';
  fake.route('POST', `${API}/auth/login`, { data: { access_token: 'a-new', refresh_token: 'r-new' } });
  fake.route('GET', `${API}/me`, (req) => ({ data: { auth: req.header.Authorization } }));
  await expect(request.request({ path: '/me' })).resolves.toEqual({ auth: 'Bearer a-new' });
});

test('idempotency keys are fresh and long enough for the API (8..128)', () => {
  const a = request.newIdempotencyKey();
  const b = request.newIdempotencyKey();
  expect(a).not.toBe(b);
  expect(a.length).toBeGreaterThanOrEqual(8);
  expect(a.length).toBeLessThanOrEqual(128);
});

test('config.js picks the base URL by envVersion', () => {
  config.setBaseUrl(null);
  global.__wxConfig = { envVersion: 'trial' };
  expect(config.baseUrl()).toBe(config.BASE_URLS.trial);
  global.__wxConfig = { envVersion: 'release' };
  expect(config.baseUrl()).toBe(config.BASE_URLS.release);
  delete global.__wxConfig;
  expect(config.baseUrl()).toBe(config.BASE_URLS.develop);
});
