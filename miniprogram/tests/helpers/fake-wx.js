// A fake `wx` that records every call. Install it AFTER requiring miniprogram-simulate (which sets
// its own global.wx stub); `sim.js` does both.
//
//   const fake = installFakeWx();
//   fake.route('GET', '/api/mp/v1/products', (req) => ({ statusCode: 200, data: {...} }));
//   fake.route('POST', '/api/mp/v1/orders', () => fake.networkError());
//   ... await flush(); expect(fake.requests[0].header.Authorization) ...
//   fake.calls.makePhoneCall  → [{ phoneNumber: '...' }]

function parseUrl(url) {
  const m = /^https?:\/\/[^/]+(\/[^?]*)(?:\?(.*))?$/.exec(url);
  const path = m ? m[1] : url;
  const query = {};
  if (m && m[2]) {
    m[2].split('&').forEach((kv) => {
      const [k, v = ''] = kv.split('=');
      query[decodeURIComponent(k)] = decodeURIComponent(v);
    });
  }
  return { path, query };
}

const NETWORK_ERROR = Symbol('network error');

function installFakeWx(options = {}) {
  const storage = { ...(options.storage || {}) };
  const calls = {};
  const routes = [];
  const requests = [];
  const answers = { scanCode: null, showModal: { confirm: true }, login: { code: 'wx-code-1' } };

  const record = (name, arg) => {
    (calls[name] = calls[name] || []).push(arg);
  };
  const callback = (arg, ok, res) => {
    setTimeout(() => {
      if (ok) {
        if (arg && arg.success) arg.success(res);
      } else if (arg && arg.fail) arg.fail(res);
      if (arg && arg.complete) arg.complete(res);
    }, 0);
  };
  // wx.xxx(arg) that succeeds with `res` (or fails when res is an Error)
  const simple = (name, resFn) => (arg) => {
    record(name, arg);
    const res = resFn ? resFn(arg) : { errMsg: `${name}:ok` };
    if (res instanceof Error) callback(arg, false, { errMsg: `${name}:fail ${res.message}` });
    else callback(arg, true, res);
  };

  const wx = {
    request(arg) {
      const { path, query } = parseUrl(arg.url);
      const req = { method: arg.method || 'GET', url: arg.url, path, query, data: arg.data, header: arg.header || {} };
      requests.push(req);
      record('request', req);
      const route = routes.find((r) => r.method === req.method && (r.path instanceof RegExp ? r.path.test(path) : r.path === path));
      let res = route ? route.handler(req) : { statusCode: 404, data: { code: 'not_found', message: '未找到（测试）' } };
      Promise.resolve(res).then((answer) => {
        if (answer === NETWORK_ERROR) callback(arg, false, { errMsg: 'request:fail timeout' });
        else callback(arg, true, { statusCode: answer.statusCode || 200, data: answer.data, header: {} });
      });
    },
    getStorageSync: (key) => (key in storage ? storage[key] : ''),
    setStorageSync: (key, value) => {
      storage[key] = value;
    },
    removeStorageSync: (key) => {
      delete storage[key];
    },
    login: simple('login', () => answers.login),
    scanCode: simple('scanCode', () => answers.scanCode || new Error('cancel')),
    makePhoneCall: simple('makePhoneCall'),
    setClipboardData: simple('setClipboardData'),
    requestSubscribeMessage: simple('requestSubscribeMessage', (arg) => {
      const res = { errMsg: 'requestSubscribeMessage:ok' };
      (arg.tmplIds || []).forEach((id) => {
        res[id] = 'accept';
      });
      return res;
    }),
    showModal: simple('showModal', () => answers.showModal),
    showActionSheet: simple('showActionSheet', () => answers.showActionSheet || new Error('cancel')),
    showToast: simple('showToast'),
    showLoading: simple('showLoading'),
    hideLoading: simple('hideLoading'),
    navigateTo: simple('navigateTo'),
    redirectTo: simple('redirectTo'),
    switchTab: simple('switchTab'),
    navigateBack: simple('navigateBack'),
    reLaunch: simple('reLaunch'),
    stopPullDownRefresh: simple('stopPullDownRefresh'),
    setNavigationBarTitle: simple('setNavigationBarTitle'),
    chooseAddress: simple('chooseAddress', () => answers.chooseAddress || new Error('cancel')),
  };

  global.wx = wx;
  return {
    wx,
    storage,
    calls,
    requests,
    answers,
    route(method, path, handler) {
      routes.unshift({ method, path, handler: typeof handler === 'function' ? handler : () => handler });
      return this;
    },
    networkError: () => NETWORK_ERROR,
    // requests to a path (and method), newest last
    sent(method, path) {
      return requests.filter((r) => r.method === method && (path instanceof RegExp ? path.test(r.path) : r.path === path));
    },
    count(name) {
      return (calls[name] || []).length;
    },
  };
}

// Let pending timers and promises run (the fake answers on a 0 ms timer).
async function flush(rounds = 6) {
  for (let i = 0; i < rounds; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

const API = '/api/mp/v1';

module.exports = { installFakeWx, flush, API, NETWORK_ERROR };
