// THE one wrapper over wx.request: nothing else in the app calls wx.request (a test checks).
//
// - the bearer token from storage on every authenticated call;
// - on a 401: one refresh through <prefix>/auth/refresh, then a new login (the client's own
//   `login`), then the call once more; concurrent 401s share one refresh;
// - an API error rejects with ApiError carrying the API's Chinese `message` (and `code`);
// - network errors (no answer at all) reject too, with 网络异常 — never swallowed;
// - every failure is shown with wx.showToast unless the caller passes `toast: false`
//   (then the page shows it itself);
// - `idempotencyKey` sends the Idempotency-Key header (see newIdempotencyKey).
const config = require('../config');

class ApiError extends Error {
  constructor(message, { status = 0, code = 'network_error', data = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.data = data;
  }
}

const NETWORK_MESSAGE = '网络异常，请检查网络后重试';

function fallbackMessage(status) {
  if (status >= 500) return '服务暂时不可用，请稍后再试';
  if (status === 404) return '内容不存在';
  if (status === 401) return '请先登录';
  return `请求失败（${status}）`;
}

function showError(err) {
  wx.showToast({ title: err.message, icon: 'none', duration: 2500 });
}

function queryString(params) {
  const parts = [];
  Object.keys(params || {}).forEach((key) => {
    const value = params[key];
    if (value === undefined || value === null || value === '') return;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  });
  return parts.length ? `?${parts.join('&')}` : '';
}

// A fresh key per order confirmation (the server wants 8 to 128 characters).
function newIdempotencyKey() {
  const rand = () => Math.random().toString(16).slice(2, 10).padEnd(8, '0');
  return `mp-${Date.now().toString(16)}-${rand()}${rand()}`;
}

// One raw exchange: resolves {status, data}, rejects ApiError on a network failure.
function send({ method, url, data, header }) {
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      data,
      header,
      timeout: 15000,
      success(res) {
        resolve({ status: res.statusCode, data: res.data });
      },
      fail(res) {
        const detail = res && res.errMsg ? ` (${res.errMsg})` : '';
        reject(new ApiError(NETWORK_MESSAGE, { code: 'network_error', data: detail }));
      },
    });
  });
}

function errorFrom(status, data) {
  const body = data && typeof data === 'object' ? data : {};
  const message = typeof body.message === 'string' && body.message ? body.message : fallbackMessage(status);
  return new ApiError(message, { status, code: body.code || `http_${status}`, data: body });
}

// A client for one API (prefix) with its own tokens in storage and its own way to log in.
//   prefix:    '/api/mp/v1' or '/api/sales/v1'
//   storageKey: where the token pair is kept
//   login:     () => Promise<tokens answer>; called when the refresh fails (may be null)
function createClient({ prefix, storageKey, login }) {
  let refreshing = null;
  let loggingIn = null;

  const tokens = {
    get() {
      return wx.getStorageSync(storageKey) || null;
    },
    save(answer) {
      const pair = { access_token: answer.access_token, refresh_token: answer.refresh_token };
      wx.setStorageSync(storageKey, pair);
      return pair;
    },
    clear() {
      wx.removeStorageSync(storageKey);
    },
  };

  function refreshOnce() {
    if (!refreshing) {
      const pair = tokens.get();
      refreshing = (async () => {
        if (!pair || !pair.refresh_token) return false;
        // a network error rejects here: it is not a reason to log in again
        const res = await send({
          method: 'POST',
          url: config.baseUrl() + prefix + '/auth/refresh',
          data: { refresh_token: pair.refresh_token },
          header: { 'content-type': 'application/json' },
        });
        if (res.status >= 200 && res.status < 300) {
          tokens.save(res.data);
          return true;
        }
        tokens.clear();
        return false;
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  function loginOnce() {
    if (!login) return Promise.resolve(false);
    if (!loggingIn) {
      loggingIn = Promise.resolve()
        .then(() => login())
        .then(() => true)
        .finally(() => {
          loggingIn = null;
        });
    }
    return loggingIn;
  }

  async function call(options) {
    const { method = 'GET', path, data, params, auth = true, idempotencyKey } = options;
    const header = { 'content-type': 'application/json' };
    if (idempotencyKey) header['Idempotency-Key'] = idempotencyKey;
    if (auth) {
      if (!tokens.get() && login) await loginOnce();
      const pair = tokens.get();
      if (pair && pair.access_token) header.Authorization = `Bearer ${pair.access_token}`;
    }
    const url = config.baseUrl() + prefix + path + queryString(params);
    const body = method === 'GET' || method === 'DELETE' ? undefined : data || {};
    const res = await send({ method, url, data: body, header });
    if (res.status >= 200 && res.status < 300) return { status: res.status, data: res.data, retry: false };
    return { status: res.status, data: res.data, retry: auth && res.status === 401 };
  }

  async function request(options) {
    const toast = options.toast !== false;
    try {
      let res = await call(options);
      if (res.retry) {
        // once: refresh, else log in again; then the same call a second (and last) time
        const renewed = (await refreshOnce()) || (await loginOnce());
        if (renewed) res = await call({ ...options, auth: true });
      }
      if (res.status >= 200 && res.status < 300) return res.data;
      throw errorFrom(res.status, res.data);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(err && err.message ? err.message : NETWORK_MESSAGE);
      if (toast) showError(error);
      throw error;
    }
  }

  return { request, tokens };
}

// The mini-program's own API (a customer's tokens); logging in again is utils/auth.login.
const mp = createClient({
  prefix: config.MP_PREFIX,
  storageKey: 'jht.mp.tokens',
  login: () => require('./auth').login(),
});

module.exports = {
  ApiError,
  createClient,
  newIdempotencyKey,
  request: mp.request,
  tokens: mp.tokens,
  NETWORK_MESSAGE,
};
