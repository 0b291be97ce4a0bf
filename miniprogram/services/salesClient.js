// /api/sales/v1 — the salesperson's own client: staff tokens in their own storage slot
// ('jht.sales.tokens'), never mixed with the customer's ('jht.mp.tokens').
//
// Signing in from the phone: wx.login → /auth/wechat/login (the WeChat account bound earlier);
// when it is not bound yet (code wechat_not_bound), username + password → /auth/login, then
// wx.login → /auth/wechat/bind so the next login needs no password.
// On a 401 utils/request refreshes once, then tries the WeChat login; when that fails too the
// page shows its "去登录" state (needsLogin).
const config = require('../config');
const { createClient } = require('../utils/request');

const STORAGE_KEY = 'jht.sales.tokens';
const USER_KEY = 'jht.sales.user';
const NOT_BOUND = 'wechat_not_bound';

function wxCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res && res.code ? resolve(res.code) : reject(new Error('微信登录失败，请重试'))),
      fail: () => reject(new Error('微信登录失败，请重试')),
    });
  });
}

// eslint-disable-next-line no-use-before-define
const client = createClient({ prefix: config.SALES_PREFIX, storageKey: STORAGE_KEY, login: () => wechatLogin() });
const { request, tokens } = client;

function signedIn(answer) {
  tokens.save(answer);
  wx.setStorageSync(USER_KEY, answer.user);
  return answer;
}

// POST /auth/wechat/login {code} → StaffLogin {access_token, refresh_token, user}
async function wechatLogin() {
  const code = await wxCode();
  return signedIn(
    await request({ method: 'POST', path: '/auth/wechat/login', data: { code }, auth: false, toast: false })
  );
}

// POST /auth/login {username, password} → StaffLogin
async function passwordLogin(username, password) {
  return signedIn(
    await request({ method: 'POST', path: '/auth/login', data: { username, password }, auth: false, toast: false })
  );
}

// POST /auth/wechat/bind {code} → StaffUserView (signed in)
async function bindWechat() {
  const code = await wxCode();
  const user = await request({ method: 'POST', path: '/auth/wechat/bind', data: { code }, toast: false });
  wx.setStorageSync(USER_KEY, user);
  return user;
}

// POST /auth/logout → LoggedOut; the staff tokens are dropped either way
async function logout() {
  try {
    await request({ method: 'POST', path: '/auth/logout', toast: false });
  } finally {
    tokens.clear();
    wx.removeStorageSync(USER_KEY);
  }
}

// A failure that only signing in can cure: the page shows "去登录" instead of an error.
function needsLogin(err) {
  return !!err && (err.status === 401 || err.code === NOT_BOUND || err.code === 'wrong_token');
}

module.exports = {
  request,
  tokens,
  STORAGE_KEY,
  NOT_BOUND,
  wechatLogin,
  passwordLogin,
  bindWechat,
  logout,
  needsLogin,
  // GET /me → StaffUserView
  me: (options = {}) => request({ path: '/me', ...options }),
};
