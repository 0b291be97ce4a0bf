// The API base URL, per environment: the one place it is set.
// WeChat tells the running version in __wxConfig.envVersion: develop (DevTools / 开发版),
// trial (体验版), release (正式版). Each base URL must be a 合法 request domain in the admin console
// (except develop with "不校验合法域名" ticked in DevTools).
const BASE_URLS = {
  develop: 'http://127.0.0.1:8600',
  trial: 'https://trial.example.com',
  release: 'https://mall.example.com',
};

const MP_PREFIX = '/api/mp/v1';
const SALES_PREFIX = '/api/sales/v1';

// The subscribe-message templates (订阅消息 → 我的模板 in the admin console), the same ids as the
// bridge's [notify.wechat.<notice>] template_id. Empty: the app does not ask for that notice.
// An order's (asked on 提交订单, at most 3 at once as WeChat allows): shipment, status, cancelled;
// READY (your custom product is ready) is asked when the customer leaves an inquiry.
const SHIPMENT_TEMPLATE_ID = '';
const TEMPLATE_IDS = { shipment: '', status: '', cancelled: '', ready: '' };

/** The order notices' template ids to ask for, in order, without the empty ones (at most 3). */
function orderTemplateIds() {
  const ids = [module.exports.TEMPLATE_IDS.shipment || module.exports.SHIPMENT_TEMPLATE_ID,
    module.exports.TEMPLATE_IDS.status, module.exports.TEMPLATE_IDS.cancelled];
  return ids.filter((id, i) => id && ids.indexOf(id) === i).slice(0, 3);
}

function envVersion() {
  /* global __wxConfig */
  if (typeof __wxConfig !== 'undefined' && __wxConfig && __wxConfig.envVersion) {
    return __wxConfig.envVersion;
  }
  return 'develop';
}

let override = null;

module.exports = {
  BASE_URLS,
  MP_PREFIX,
  SALES_PREFIX,
  SHIPMENT_TEMPLATE_ID,
  TEMPLATE_IDS,
  orderTemplateIds,
  envVersion,
  baseUrl() {
    if (override) return override;
    return BASE_URLS[envVersion()] || BASE_URLS.release;
  },
  // Tests (and the contract test run in Node) point the app at another server.
  setBaseUrl(url) {
    override = url ? String(url).replace(/\/+$/, '') : null;
  },
};
