// utils/auth.js: login with the invite code from the launch query or scene.
const { API } = require('./helpers/fake-wx');

let fake;
let auth;

beforeEach(() => {
  jest.resetModules();
  ({ fake } = require('./helpers/sim').setup({ signedIn: false }));
  require('../config').setBaseUrl('http://api.test');
  auth = require('../utils/auth');
  fake.route('POST', `${API}/auth/login`, { data: { access_token: 'a1', refresh_token: 'r1', new_customer: true, customer: { id: 7, name: '新客户', type: 2 } } });
});

test('the invite code of a salesperson share (query) goes with the first login, once', async () => {
  auth.rememberLaunch({ path: 'pages/home/index', query: { invite: 'S8K2' } });
  await auth.login();
  expect(fake.sent('POST', `${API}/auth/login`)[0].data).toEqual({ code: 'wx-code-1', invite: 'S8K2' });
  expect(fake.storage['jht.mp.tokens']).toEqual({ access_token: 'a1', refresh_token: 'r1' });
  await auth.login();
  expect(fake.sent('POST', `${API}/auth/login`)[1].data).toEqual({ code: 'wx-code-1' });
});

test('the invite code in a mini-program code scene (invite=… or i=…)', () => {
  expect(auth.inviteFrom({ query: { scene: encodeURIComponent('invite=AB12') } })).toBe('AB12');
  expect(auth.inviteFrom({ query: { scene: 'i%3DZZ9' } })).toBe('ZZ9');
  expect(auth.inviteFrom({ query: {} })).toBeNull();
});

test('binding the phone saves the tokens naming the customer joined', async () => {
  fake.storage['jht.mp.tokens'] = { access_token: 'a1', refresh_token: 'r1' };
  fake.route('POST', `${API}/auth/phone`, (req) => {
    expect(req.data).toEqual({ code: 'phone-code' });
    return { data: { access_token: 'a2', refresh_token: 'r2', phone: '13800000000', customer: { id: 3, name: '老客户' }, joined_registered_customer: true } };
  });
  const answer = await auth.bindPhone('phone-code');
  expect(answer.joined_registered_customer).toBe(true);
  expect(fake.storage['jht.mp.tokens'].access_token).toBe('a2');
});

test('a failing wx.login rejects with a Chinese message', async () => {
  fake.answers.login = new Error('no');
  await expect(auth.login()).rejects.toThrow('微信登录失败，请重试');
});
