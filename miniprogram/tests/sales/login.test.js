// packageSales/login: staff WeChat login; when not bound, password login then /auth/wechat/bind.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, failure } = require('./helpers');

let simulate;
let fake;
let p;

const USER = { id: 2, username: 'li', display_name: '李业务', role: 'sales', phone: null, wechat_bound: false };
const LOGIN = { access_token: 'staff-a9', refresh_token: 'staff-r9', token_type: 'Bearer', expires_in: 900, user: USER };
const NOT_BOUND = failure(401, 'wechat_not_bound', '该微信尚未绑定员工账号，请先用用户名和密码登录后绑定');

beforeEach(async () => {
  jest.resetModules();
  ({ simulate, fake } = setupSales({ signedIn: false }));
  p = await require('../helpers/sim').openPage(simulate, 'packageSales/login/index');
});

async function tap(selector) {
  p.querySelector(selector).dispatchEvent('tap');
  await flush();
}

test('a bound WeChat account logs in with the wx.login code; the staff tokens go to their own slot', async () => {
  fake.route('POST', `${SALES}/auth/wechat/login`, { data: LOGIN });
  await tap('.wechat-login');
  expect(fake.sent('POST', `${SALES}/auth/wechat/login`)[0].data).toEqual({ code: 'wx-code-1' });
  expect(fake.storage['jht.sales.tokens']).toEqual({ access_token: 'staff-a9', refresh_token: 'staff-r9' });
  expect(fake.storage['jht.mp.tokens']).toBeUndefined();
  expect(fake.calls.redirectTo[0].url).toBe('/packageSales/index/index');
});

test('not bound: the password form appears; logging in binds this WeChat account', async () => {
  fake.route('POST', `${SALES}/auth/wechat/login`, NOT_BOUND);
  await tap('.wechat-login');
  expect(p.querySelector('.password-form')).toBeTruthy();
  expect(p.querySelector('.notice').dom.textContent).toContain('尚未绑定');
  fake.route('POST', `${SALES}/auth/login`, { data: LOGIN });
  fake.route('POST', `${SALES}/auth/wechat/bind`, (req) => ({ data: { ...USER, wechat_bound: true, seen: req.header.Authorization } }));
  p.querySelector('.username').dispatchEvent('input', { detail: { value: ' li ' } });
  p.querySelector('.password').dispatchEvent('input', { detail: { value: 'secret-pw' } });
  await tap('.password-login');
  expect(fake.sent('POST', `${SALES}/auth/login`)[0].data).toEqual({ username: 'li', password: 'secret-pw' });
  const bind = fake.sent('POST', `${SALES}/auth/wechat/bind`)[0];
  expect(bind.data).toEqual({ code: 'wx-code-1' });
  expect(bind.header.Authorization).toBe('Bearer staff-a9');
  expect(fake.calls.redirectTo[0].url).toBe('/packageSales/index/index');
});

test('a wrong password is shown on the page and nothing is bound', async () => {
  fake.route('POST', `${SALES}/auth/wechat/login`, NOT_BOUND);
  await tap('.wechat-login');
  fake.route('POST', `${SALES}/auth/login`, failure(401, 'bad_credentials', '用户名或密码错误'));
  p.querySelector('.username').dispatchEvent('input', { detail: { value: 'li' } });
  p.querySelector('.password').dispatchEvent('input', { detail: { value: 'wrong' } });
  await tap('.password-login');
  expect(p.querySelector('.form-error').dom.textContent).toBe('用户名或密码错误');
  expect(fake.sent('POST', `${SALES}/auth/wechat/bind`)).toHaveLength(0);
  expect(fake.count('redirectTo')).toBe(0);
});

test('empty username or password is refused before any request', async () => {
  fake.route('POST', `${SALES}/auth/wechat/login`, NOT_BOUND);
  await tap('.wechat-login');
  await tap('.password-login');
  expect(p.querySelector('.form-error').dom.textContent).toBe('请输入用户名和密码');
  expect(fake.sent('POST', `${SALES}/auth/login`)).toHaveLength(0);
});

test('a network error on the WeChat login is shown', async () => {
  fake.route('POST', `${SALES}/auth/wechat/login`, () => fake.networkError());
  await tap('.wechat-login');
  expect(p.querySelector('.form-error').dom.textContent).toBe('网络异常，请检查网络后重试');
});
