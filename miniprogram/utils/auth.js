// Signing in: wx.login → /auth/login, with the salesperson's invite code when the app was opened
// from their share (query `invite`) or their mini-program code (scene `invite=…` / `i=…`).
const authService = require('../services/auth');
const { tokens } = require('./request');

const INVITE_KEY = 'jht.invite';

function parseScene(scene) {
  const text = decodeURIComponent(String(scene || ''));
  const found = {};
  text.split('&').forEach((part) => {
    const [key, value] = part.split('=');
    if (key && value !== undefined) found[key] = value;
  });
  return found;
}

// The invite code in launch / page options, if any.
function inviteFrom(options) {
  const query = (options && options.query) || options || {};
  if (query.invite) return String(query.invite);
  if (query.scene) {
    const scene = parseScene(query.scene);
    if (scene.invite || scene.i) return scene.invite || scene.i;
  }
  return null;
}

// App.onLaunch / onShow: keep the invite code for the first login.
function rememberLaunch(options) {
  const invite = inviteFrom(options);
  if (invite) wx.setStorageSync(INVITE_KEY, invite);
  return invite;
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res && res.code ? resolve(res.code) : reject(new Error('微信登录失败，请重试'))),
      fail: () => reject(new Error('微信登录失败，请重试')),
    });
  });
}

async function login() {
  const code = await wxLogin();
  const invite = wx.getStorageSync(INVITE_KEY) || null;
  const answer = await authService.login(code, invite);
  tokens.save(answer);
  if (invite) wx.removeStorageSync(INVITE_KEY);
  return answer;
}

// Bind the WeChat phone number: the `code` of <button open-type="getPhoneNumber"> (the code-based API).
async function bindPhone(code) {
  const answer = await authService.bindPhone(code);
  tokens.save(answer); // the tokens may name another customer now (scenario 2)
  return answer;
}

async function logout() {
  try {
    await authService.logout();
  } finally {
    tokens.clear();
  }
}

module.exports = { login, bindPhone, logout, rememberLaunch, inviteFrom, parseScene, isSignedIn: () => !!tokens.get() };
