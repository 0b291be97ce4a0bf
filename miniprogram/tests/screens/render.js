#!/usr/bin/env node
// Screens of the mini-program without WeChat DevTools (issue #13): each main page is loaded in
// miniprogram-simulate with the fake `wx` of the jest tests and realistic API answers, then written
// as one standalone HTML file (the rendered DOM, the page's WXSS and app.wxss as CSS at 375 px
// width, a navigation bar and, on tab pages, the tab bar). tests/test_miniprogram_screens.py opens
// them in Chromium and keeps the screenshots in docs/miniprogram/.
//
//   node tests/screens/render.js OUT_DIR [page-name …]
//
// Prints one JSON line per page: {"name", "path", "file", "title", "expect"} or {"name", "skipped"}.
// PAGES below is the one list of pages shot: add a page there (a page whose files do not exist yet
// is skipped with a message, so the list may run ahead of the code).
process.env.TZ = 'Asia/Shanghai'; // dates as a customer in China reads them

const fs = require('fs');
const path = require('path');
const { JSDOM } = require('jsdom');

const ROOT = path.resolve(__dirname, '..', '..');
const MP = '/api/mp/v1';
const SALES = '/api/sales/v1';

// ---- realistic API answers (shaped like webapi/views.py) -------------------------------------

const wheel = (id, over = {}) => ({
  id, sku: `PSA-${id}`, name: '白刚玉平形砂轮', kind: 'standard', kind_label: '标准品', unit: '片', price: '186',
  spec: '1 400×50×127 WA 60 K V 35m/s', shape: '1', outer_diameter_mm: '400.00', thickness_mm: '50.00', bore_mm: '127.00',
  abrasive: 'WA', grit: '60', hardness: 'K', bond: 'V', max_speed_ms: '35.00', marking: null, description: null, ...over,
});
const WHEELS = [
  wheel(101, { description: '适用于淬火钢、高速钢的外圆及平面磨削' }),
  wheel(102, { name: '棕刚玉平形砂轮', spec: '1 350×40×127 A 46 M V 35m/s', price: '128.5', abrasive: 'A', grit: '46', hardness: 'M', outer_diameter_mm: '350.00', thickness_mm: '40.00' }),
  wheel(103, { name: '绿碳化硅杯形砂轮', spec: '6 150×50×32 GC 80 K V 35m/s', price: '96', shape: '6', abrasive: 'GC', grit: '80', outer_diameter_mm: '150.00', thickness_mm: '50.00', bore_mm: '32.00' }),
  wheel(104, { name: '树脂切割片', spec: '41 400×3.2×32 A 30 R BF 80m/s', price: '23.8', shape: '41', abrasive: 'A', grit: '30', hardness: 'R', bond: 'BF', max_speed_ms: '80.00' }),
];
const CUSTOM = [
  wheel(201, { kind: 'custom', kind_label: '定制品', name: '宏达专用双端面砂轮', sku: 'HD-500', spec: '1 500×63×203 WA 80 L V 45m/s', price: '468', marking: 'HD-2026', outer_diameter_mm: '500.00', thickness_mm: '63.00', bore_mm: '203.00', grit: '80', hardness: 'L', max_speed_ms: '45.00' }),
  wheel(202, { kind: 'custom', kind_label: '定制品', name: '宏达专用碗形砂轮', sku: 'HD-150', spec: '11 150×50×32 A 46 K B 35m/s', price: null, shape: '11', abrasive: 'A', grit: '46', bond: 'B', outer_diameter_mm: '150.00', thickness_mm: '50.00', bore_mm: '32.00' }),
];
// a route answer: no network (the fake of this page's own module instance says it)
const OFFLINE = 'offline';
const { page: listOf, STAFF_TOKENS } = require('../sales/helpers'); // a page of items; the salesperson's tokens
const SALESPERSON = { name: '李明', phone: '13912345678', wechat: 'jht-liming' };
const ADDRESS = { id: 3, recipient: '王建国', phone: '13800138000', province: '河南省', city: '郑州市', district: '中原区', detail: '建设西路 188 号宏达机械厂', is_default: true };
const SHIP_TO = { recipient: '王建国', phone: '13800138000', province: '河南省', city: '郑州市', district: '中原区', detail: '建设西路 188 号宏达机械厂' };
const cartLine = (p, quantity, marking = null) => ({
  key: `${p.id}|${marking || ''}|`, product_id: p.id, name: p.name, sku: p.sku, spec: p.spec, unit: p.unit, price: p.price, quantity, marking, qr_payload: null,
});
const CART = [cartLine(WHEELS[0], 2), cartLine(WHEELS[1], 5, 'HD-LOT-12')];
const summary = (no, over = {}) => ({
  order_no: no, status: 'pending', status_label: '等待处理', released: false, status_hint: null, total_amount: '372', created_at: '2026-12-01T09:20:00+08:00', ...over,
});
const ORDERS = [
  summary('JHT-20261203-0007', { status: 'awaiting_shipment', status_label: '等待发货', status_hint: '等待业务员确认收款', total_amount: '1014.5', created_at: '2026-12-03T10:05:00+08:00' }),
  summary('JHT-20261201-0003', { status: 'shipped', status_label: '已发货', total_amount: '372' }),
  summary('JHT-20261120-0012', { status: 'in_production', status_label: '生产中', total_amount: '9360', created_at: '2026-11-20T15:40:00+08:00' }),
  summary('JHT-20261102-0001', { status: 'completed', status_label: '已完成', total_amount: '476', created_at: '2026-11-02T08:12:00+08:00' }),
];
const orderLine = (n, p, quantity, shipped, marking = null) => ({
  line_no: n, product_id: p.id, sku: p.sku, name: p.name, spec: p.spec, marking, quantity, shipped_quantity: shipped, unit: p.unit,
  unit_price: p.price, amount: String(Number(p.price) * quantity),
});
const ORDER_DETAIL = {
  ...ORDERS[1], ship_to: SHIP_TO, remark: '请周五前送到，卸货找仓库老张', erp_ref: 'SO-2026-1187', can_cancel: false, can_confirm_receipt: true,
  lines: [orderLine(1, WHEELS[0], 2, 2)],
  shipments: [{ courier: '顺丰速运', tracking_no: 'SF1428839012873', shipped_at: '2026-12-02T16:30:00+08:00', lines: [{ sku: 'PSA-101', quantity: 2 }] }],
  timeline: [
    { at: '2026-12-01T09:20:00+08:00', action: 'placed', status: 'pending', status_label: '等待处理', by: 'customer', action_label: '提交订单', by_label: '客户' },
    { at: '2026-12-01T11:02:00+08:00', action: 'status', status: 'awaiting_shipment', status_label: '等待发货', by: 'erp', action_label: '状态更新', by_label: '生产管理软件' },
    { at: '2026-12-02T16:30:00+08:00', action: 'shipment', status: null, status_label: null, by: 'erp', action_label: '发货', by_label: '生产管理软件' },
  ],
};
const ME = {
  customer: { id: 7, name: '宏达机械', type: 2, type_label: '类型二' },
  account: { id: 11, phone: '13800138000', nickname: '王建国' },
  accounts: [{ id: 11, phone: '13800138000', wechat_bound: true, nickname: '王建国' }, { id: 12, phone: '13700137000', wechat_bound: true, nickname: '采购小刘' }],
  salesperson: SALESPERSON,
};
const MY_INQUIRIES = [
  { id: 5, body: '需要 Φ500 的树脂砂轮，月用量 200 片，能否按图纸定制？', status: 'handled', status_label: '已跟进', created_at: '2026-11-28T14:00:00+08:00', answer: '可以定制，已按图纸报价 468 元/片，请在定制页下单', answered_by: '李明', answered_at: '2026-11-29T09:30:00+08:00' },
  { id: 6, body: '白刚玉砂轮 60# 能否改 80#？', status: 'open', status_label: '待跟进', created_at: '2026-12-03T08:45:00+08:00', answer: null, answered_by: null, answered_at: null },
];

// workbench answers
const STAFF = { id: 2, username: 'liming', display_name: '李明', role: 'sales', phone: '13912345678', wechat_bound: true };
const staffCustomer = (over = {}) => ({
  id: 7, name: '宏达机械', type: 2, type_label: '类型二', phone: '13800138000', contact_name: '王建国', erp_code: 'C0012',
  salesperson_id: 2, salesperson: '李明', created_at: '2026-11-20T10:00:00+08:00', accounts: 2, orders: 4, ...over,
});
const STAFF_CUSTOMERS = [
  staffCustomer(),
  staffCustomer({ id: 8, name: '恒力五金制品厂', type: 1, type_label: '类型一', phone: '13600136000', contact_name: '赵经理', erp_code: null, accounts: 1, orders: 1 }),
  staffCustomer({ id: 9, name: '精工轴承有限公司', phone: null, contact_name: '孙工', erp_code: 'C0031', accounts: 0, orders: 0 }),
];
const staffOrder = (o, customer = { id: 7, name: '宏达机械', type: 2 }, over = {}) => ({ ...o, customer, awaiting_payment: false, ...over });
const STAFF_ORDERS = [
  staffOrder(ORDERS[0], undefined, { awaiting_payment: true }),
  staffOrder(ORDERS[1]),
  staffOrder(summary('JHT-20261202-0004', { status: 'pending', status_label: '等待处理', total_amount: '2808', created_at: '2026-12-02T14:25:00+08:00' }), { id: 8, name: '恒力五金制品厂', type: 1 }),
];
const STAFF_ORDER_DETAIL = {
  ...STAFF_ORDERS[0], ship_to: SHIP_TO, remark: '请周五前送到', erp_ref: null, can_cancel: true, can_release: true, released_at: null,
  stock_check: 'in_stock', placed_by_staff_id: null,
  lines: [orderLine(1, WHEELS[0], 3, 0), orderLine(2, WHEELS[1], 3, 0, 'HD-LOT-12'), orderLine(3, WHEELS[3], 5, 0)],
  shipments: [],
  timeline: [{ at: '2026-12-03T10:05:00+08:00', action: 'placed', status: 'awaiting_shipment', status_label: '等待发货', by: 'customer', action_label: '提交订单', by_label: '客户' }],
  notes: [{ id: 1, body: '客户来电：货款周四对公转账', author_id: 2, author: '李明', created_at: '2026-12-03T11:00:00+08:00' }],
};
STAFF_ORDER_DETAIL.total_amount = '1014.5';
const STAFF_CUSTOMER_DETAIL = {
  ...staffCustomer(),
  accounts: [
    { id: 11, phone: '13800138000', wechat_bound: true, nickname: '王建国', last_login_at: '2026-12-03T10:01:00+08:00' },
    { id: 12, phone: '13700137000', wechat_bound: true, nickname: '采购小刘', last_login_at: null },
  ],
  addresses: [ADDRESS], open_orders: 2, awaiting_payment_orders: 1,
  notes: [{ id: 5, body: '要求月结，每月 25 日对账', author_id: 2, author: '李明', created_at: '2026-11-21T10:00:00+08:00' }],
};
const STAFF_INQUIRIES = [
  { id: 6, customer: { id: 7, name: '宏达机械' }, body: '白刚玉砂轮 60# 能否改 80#？', status: 'open', status_label: '待跟进', created_at: '2026-12-03T08:45:00+08:00', handled_by_id: null, handled_by: null, handled_at: null, answer: null, answered_by_id: null, answered_by: null, answered_at: null },
  { id: 4, customer: { id: 8, name: '恒力五金制品厂' }, body: '需要 Φ500 的树脂砂轮，月用量 200 片', status: 'open', status_label: '待跟进', created_at: '2026-12-02T16:10:00+08:00', handled_by_id: null, handled_by: null, handled_at: null, answer: null, answered_by_id: null, answered_by: null, answered_at: null },
];

// ---- the pages shot: the one list -------------------------------------------------------------
// name: the file name (docs/miniprogram/<name>.png); path: the page in app.json; label: what the
// README calls it; expect: a text the rendered page must contain (the test checks it); query: the
// page options; storage: wx storage before the page opens; staff: signed in as a salesperson
// instead of a customer; whenBuilt: skipped while the page is a placeholder that loads nothing
// (its .js requires no module); routes: [method, API path, answer] for the fake `wx.request`.
const PAGES = [
  {
    name: 'home', path: 'pages/home/index', label: '首页', expect: '白刚玉平形砂轮',
    routes: [['GET', `${MP}/products`, (req) => ({ data: listOf(req.query.kind === 'custom' ? CUSTOM : WHEELS) })]],
  },
  {
    name: 'custom', path: 'pages/custom/index', label: '定制', expect: '宏达专用双端面砂轮',
    routes: [['GET', `${MP}/products`, { data: listOf(CUSTOM) }]],
  },
  {
    name: 'product', path: 'pages/product/index', label: '商品详情', expect: '¥186.00', query: { id: '101' },
    routes: [['GET', `${MP}/products/101`, { data: WHEELS[0] }]],
  },
  {
    name: 'cart', path: 'pages/cart/index', label: '购物车', expect: '棕刚玉平形砂轮', storage: { 'jht.cart': CART },
  },
  {
    name: 'order-confirm', path: 'packageOrder/confirm/index', label: '确认订单', expect: '王建国',
    storage: { 'jht.checkout': { lines: CART, fromCart: true } },
    routes: [['GET', `${MP}/addresses`, { data: [ADDRESS] }]],
  },
  {
    name: 'orders', path: 'pages/orders/index', label: '订单', expect: 'JHT-20261203-0007',
    routes: [['GET', `${MP}/orders`, { data: listOf(ORDERS) }]],
  },
  // the states a customer also meets: nothing yet, and no network
  {
    name: 'orders-empty', path: 'pages/orders/index', label: '订单', expect: '暂无订单',
    routes: [['GET', `${MP}/orders`, { data: listOf([]) }]],
  },
  {
    name: 'home-offline', path: 'pages/home/index', label: '锦亨泰商城', expect: '网络异常',
    routes: [['GET', `${MP}/products`, OFFLINE]],
  },
  {
    name: 'order-detail', path: 'packageOrder/detail/index', label: '订单详情', expect: 'SF1428839012873',
    query: { order_no: ORDER_DETAIL.order_no },
    routes: [['GET', `${MP}/orders/${ORDER_DETAIL.order_no}`, { data: ORDER_DETAIL }]],
  },
  {
    // a placeholder until the 我的 page is built (then it loads /me and shows the customer)
    name: 'me', path: 'pages/me/index', label: '我的', expect: '宏达机械', whenBuilt: true,
    routes: [
      ['GET', `${MP}/me`, { data: ME }],
      ['GET', `${MP}/me/accounts`, { data: ME.accounts }],
      ['GET', `${MP}/salesperson`, { data: SALESPERSON }],
      ['GET', `${MP}/inquiries`, { data: listOf(MY_INQUIRIES) }],
      ['GET', `${MP}/addresses`, { data: [ADDRESS] }],
    ],
  },
  // packageMe (being built beside this list): skipped until their files exist
  {
    name: 'me-addresses', path: 'packageMe/addresses/index', label: '收货地址', expect: '建设西路 188 号',
    routes: [['GET', `${MP}/addresses`, { data: [ADDRESS, { ...ADDRESS, id: 4, recipient: '刘芳', phone: '13700137000', detail: '航海东路 66 号仓库', is_default: false }] }]],
  },
  {
    name: 'me-accounts', path: 'packageMe/accounts/index', label: '绑定的账号', expect: '采购小刘',
    routes: [['GET', `${MP}/me/accounts`, { data: ME.accounts }], ['GET', `${MP}/me`, { data: ME }]],
  },
  {
    name: 'me-inquiries', path: 'packageMe/inquiries/index', label: '我的询价', expect: '能否改 80#',
    routes: [['GET', `${MP}/inquiries`, { data: listOf(MY_INQUIRIES) }]],
  },
  {
    name: 'me-inquiry', path: 'packageMe/inquiry/index', label: '询价', expect: '询价',
    routes: [['GET', `${MP}/salesperson`, { data: SALESPERSON }]],
  },
  {
    name: 'sales-index', path: 'packageSales/index/index', label: '业务员工作台', expect: '李明', staff: true,
    routes: [
      ['GET', `${SALES}/me`, { data: STAFF }],
      ['GET', `${SALES}/orders`, { data: listOf(STAFF_ORDERS.slice(0, 1)) }],
      ['GET', `${SALES}/inquiries`, { data: listOf(STAFF_INQUIRIES) }],
    ],
  },
  {
    name: 'sales-login', path: 'packageSales/login/index', label: '员工登录', expect: '登录', staff: true, signedIn: false,
  },
  {
    name: 'sales-customers', path: 'packageSales/customers/index', label: '我的客户', expect: '恒力五金制品厂', staff: true,
    routes: [['GET', `${SALES}/customers`, { data: listOf(STAFF_CUSTOMERS) }]],
  },
  {
    name: 'sales-customer', path: 'packageSales/customer/index', label: '客户详情', expect: '要求月结', staff: true, query: { id: '7' },
    routes: [['GET', `${SALES}/customers/7`, { data: STAFF_CUSTOMER_DETAIL }]],
  },
  {
    name: 'sales-orders', path: 'packageSales/orders/index', label: '业务员订单', expect: 'JHT-20261202-0004', staff: true,
    routes: [['GET', `${SALES}/orders`, { data: listOf(STAFF_ORDERS) }]],
  },
  {
    name: 'sales-order', path: 'packageSales/order/index', label: '业务员订单详情', expect: '货款周四对公转账', staff: true,
    query: { order_no: STAFF_ORDER_DETAIL.order_no },
    routes: [['GET', `${SALES}/orders/${STAFF_ORDER_DETAIL.order_no}`, { data: STAFF_ORDER_DETAIL }]],
  },
  {
    name: 'sales-inquiries', path: 'packageSales/inquiries/index', label: '客户询价', expect: '能否改 80#', staff: true,
    routes: [['GET', `${SALES}/inquiries`, { data: listOf(STAFF_INQUIRIES) }]],
  },
  {
    name: 'sales-customer-new', path: 'packageSales/customer-new/index', label: '新建客户', expect: '客户', staff: true,
  },
  {
    name: 'sales-product-new', path: 'packageSales/product-new/index', label: '创建定制品', expect: '恒力五金制品厂', staff: true,
    query: { customer_id: '8', customer_name: encodeURIComponent('恒力五金制品厂') },
  },
];

// ---- loading a page ----------------------------------------------------------------------------

const APP = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));

// rpx → px at a 375 px wide screen (750 rpx = 375 px)
const rpx = (css) => css.replace(/(-?\d*\.?\d+)rpx/g, (m, n) => `${Number((Number(n) / 2).toFixed(2))}px`);

// The simulator turns 1rpx into 1px (in the WXSS it injects and in inline styles): make it 0.5px.
function useRpxAt375() {
  const simulateDir = path.dirname(require.resolve('miniprogram-simulate/src/utils'));
  require('miniprogram-simulate/src/utils').transformRpx = rpx;
  require(require.resolve('j-component/src/tool/utils', { paths: [simulateDir] })).transformRpx = rpx;
}

const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freshDocument() {
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true });
  global.window = dom.window;
  global.document = dom.window.document;
  ['Node', 'HTMLElement', 'Element', 'Event', 'CustomEvent', 'navigator', 'getComputedStyle', 'MutationObserver', 'DocumentFragment', 'Text'].forEach((k) => {
    global[k] = dom.window[k];
  });
}

// Forget the project's own modules (services keep state: tokens, base URL) between pages.
function forgetProjectModules() {
  Object.keys(require.cache).forEach((file) => {
    if (file.startsWith(ROOT) && !file.includes(`${path.sep}node_modules${path.sep}`) && file !== __filename) delete require.cache[file];
  });
}

async function loadPage(spec) {
  freshDocument();
  forgetProjectModules();
  const sim = require('../helpers/sim');
  // a customer signed in (sim's tokens), or a salesperson (their own slot), or nobody
  const staff = spec.staff && spec.signedIn !== false ? STAFF_TOKENS : {};
  const storage = { ...staff, ...JSON.parse(JSON.stringify(spec.storage || {})) };
  const { simulate, fake } = sim.setup({ signedIn: !spec.staff && spec.signedIn !== false, storage });
  require('../../config').setBaseUrl('http://api.test');
  (spec.routes || []).forEach(([method, apiPath, answer]) =>
    fake.route(method, apiPath, answer === OFFLINE ? () => fake.networkError() : answer)
  );
  const page = await sim.openPage(simulate, spec.path, spec.query || {});
  await settle(20);
  // the page lifetime 'show' runs onShow, as WeChat does after onLoad
  page.triggerPageLifeTime('show');
  await settle(60);
  return { page, fake };
}

// ---- the rendered DOM as plain HTML ------------------------------------------------------------

const TAGS = {
  'wx-view': 'wx-view', 'wx-text': 'wx-text', 'wx-button': 'button', 'wx-image': 'img', 'wx-input': 'input', 'wx-textarea': 'textarea',
};
const PROPS = {
  'wx-button': ['size', 'type', 'plain', 'disabled', 'loading'],
  'wx-input': ['value', 'placeholder', 'type', 'password', 'disabled', 'maxlength'],
  'wx-textarea': ['value', 'placeholder', 'disabled'],
  'wx-image': ['src', 'mode'],
  'wx-switch': ['checked'], 'wx-checkbox': ['checked', 'value'], 'wx-radio': ['checked', 'value'],
  'wx-picker': ['value', 'mode'], 'wx-navigator': ['url'],
};

const escapeHtml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// The properties a template gave a built-in component (the simulator keeps them on the node's
// virtual tree, not as DOM attributes).
function wxAttrs(el) {
  const node = el.__wxElement;
  const out = {};
  ((node && node._vt && node._vt.attrs) || []).forEach(({ name, value }) => {
    out[name] = value;
  });
  return out;
}

function flatten(node) {
  if (node.nodeType === 3) return escapeHtml(node.textContent);
  if (node.nodeType !== 1) return '';
  const tag = node.tagName.toLowerCase();
  const attrs = wxAttrs(node);
  if (attrs.hidden === true || attrs.hidden === 'true') return '';
  const out = TAGS[tag] || tag;
  const html = [];
  ['id', 'class', 'style'].forEach((a) => {
    if (node.getAttribute(a)) html.push(`${a}="${escapeHtml(node.getAttribute(a))}"`);
  });
  Array.from(node.attributes).filter((a) => a.name.startsWith('data-')).forEach((a) => html.push(`${a.name}="${escapeHtml(a.value)}"`));
  (PROPS[tag] || []).forEach((p) => {
    const v = attrs[p];
    if (v === undefined || v === null || v === false || v === '') return;
    if (tag === 'wx-input' && p === 'password') html.push('type="password"');
    else if (tag === 'wx-input' && p === 'type') html.push(`type="${v === 'number' || v === 'digit' ? 'text' : escapeHtml(v)}"`);
    else if (tag === 'wx-textarea' && p === 'value') return;
    else html.push(v === true ? p : `${p}="${escapeHtml(v)}"`);
  });
  const open = `<${out}${html.length ? ' ' : ''}${html.join(' ')}>`;
  if (out === 'input' || out === 'img') return open;
  if (out === 'textarea') return `${open}${escapeHtml(attrs.value || '')}</textarea>`;
  return `${open}${Array.from(node.childNodes).map(flatten).join('')}</${out}>`;
}

// ---- WXSS as CSS -------------------------------------------------------------------------------

// WXSS tag selectors onto the rendered tags; `page` is the page's box.
const SELECTOR_TAGS = {
  page: '.wx-page', view: 'wx-view', text: 'wx-text', button: 'button', image: 'img', input: 'input', textarea: 'textarea',
  'scroll-view': 'wx-scroll-view', navigator: 'wx-navigator', picker: 'wx-picker', label: 'wx-label', form: 'wx-form',
  switch: 'wx-switch', checkbox: 'wx-checkbox', radio: 'wx-radio', icon: 'wx-icon', swiper: 'wx-swiper',
};
function mapTags(css) {
  const postcss = require('postcss');
  const root = postcss.parse(css);
  root.walkRules((rule) => {
    if (rule.parent && rule.parent.type === 'atrule' && /keyframes/.test(rule.parent.name)) return;
    rule.selectors = rule.selectors.map((sel) =>
      sel.replace(/(^|[\s>+~(,])([a-z][a-z-]*)(?=$|[\s.#:[>+~),])/g, (all, pre, tag) => (SELECTOR_TAGS[tag] ? `${pre}${SELECTOR_TAGS[tag]}` : all)));
  });
  return root.toString();
}

// The simulator compiles each component's WXSS with its class prefix into <style> elements; the
// page also gets app.wxss (WeChat applies it to pages, not to isolated components).
function pageCss(page) {
  const wxss = require('miniprogram-simulate/src/wxss');
  const prefix = (/(?:^|\s)([a-z0-9-]+)--/.exec(page.dom.querySelector('[class]') ? page.dom.querySelector('[class]').getAttribute('class') : '') || [])[1] || 'main';
  const app = wxss.compile(wxss.getContent(path.join(ROOT, 'app.wxss')), { prefix });
  const styles = Array.from(document.querySelectorAll('head style')).map((s) => s.textContent);
  return mapTags(rpx([app, ...styles].join('\n')));
}

// ---- the standalone HTML -----------------------------------------------------------------------

// Built-in components as WeChat (style v2) draws them, roughly.
const BASE_CSS = `
html, body { margin: 0; padding: 0; }
body { width: 375px; background: #ededed; font-family: "WenQuanYi Zen Hei", sans-serif; -webkit-font-smoothing: antialiased; }
wx-view, wx-scroll-view, wx-swiper, wx-form, wx-picker, wx-navigator, wx-rich-text, wx-radio-group, wx-checkbox-group, wx-cover-view { display: block; }
wx-text, wx-label { display: inline; }
wx-scroll-view { overflow: auto; }
wx-switch, wx-checkbox, wx-radio, wx-icon { display: inline-block; }
wx-contact-sheet, product-card { display: block; }
.wx-page { display: flow-root; position: relative; transform: translateZ(0); line-height: 1.4; box-sizing: border-box; }
button { position: relative; display: block; box-sizing: border-box; width: 184px; margin: 0 auto; padding: 8px 24px;
  font: inherit; font-size: 17px; font-weight: 700; line-height: 1.41176471; text-align: center; border: 0; border-radius: 8px;
  color: #000; background-color: #f2f2f2; overflow: hidden; }
button[size=mini] { display: inline-block; width: auto; padding: 0 0.75em; font-size: 14px; line-height: 2.2; border-radius: 4px; }
button[type=primary] { color: #fff; background-color: #07c160; }
button[type=warn] { color: #fa5151; background-color: #f2f2f2; }
button[plain] { color: #353535; border: 1px solid #353535; background-color: transparent; }
button[disabled] { color: rgba(0,0,0,.18); background-color: #fafafa; }
button[type=primary][disabled] { color: rgba(255,255,255,.6); background-color: #9ed99d; }
input { display: block; box-sizing: content-box; width: -webkit-fill-available; height: 1.4em; min-height: 1.4em; padding: 0; border: 0; margin: 0;
  font: inherit; color: inherit; background: transparent; outline: none; overflow: hidden; }
input::placeholder, textarea::placeholder { color: #999; }
textarea { display: block; box-sizing: border-box; width: 300px; height: 150px; padding: 0; border: 0; margin: 0; font: inherit; color: inherit; background: transparent; resize: none; }
img { display: inline-block; width: 320px; height: 240px; background: #e5e5e5; object-fit: cover; }
wx-switch { width: 52px; height: 32px; border-radius: 16px; background: #e5e5e5; }
wx-switch[checked] { background: #07c160; }
.wx-navbar { position: relative; height: 44px; line-height: 44px; text-align: center; font-size: 17px; font-weight: 600; color: #000; background: #fff; border-bottom: 1px solid #eee; }
.wx-capsule { position: absolute; right: 7px; top: 7px; width: 87px; height: 30px; box-sizing: border-box; border: 1px solid #ddd; border-radius: 15px; }
.wx-capsule::before { content: "···"; position: absolute; left: 12px; top: -8px; font-size: 18px; letter-spacing: 1px; }
.wx-capsule::after { content: ""; position: absolute; right: 12px; top: 7px; width: 12px; height: 12px; border: 2px solid #000; border-radius: 50%; box-sizing: border-box; }
.wx-capsule i { position: absolute; left: 43px; top: 7px; width: 1px; height: 14px; background: #ddd; }
.wx-tabbar { display: flex; height: 50px; background: #fff; border-top: 1px solid #ddd; }
.wx-tabbar div { flex: 1; text-align: center; line-height: 50px; font-size: 13px; }
`;

const VIEW_HEIGHT = 667; // iPhone 8 height at 375 px width: the page fills at least one screen

function title(spec, fake) {
  const set = (fake.calls.setNavigationBarTitle || []).slice(-1)[0];
  if (set) return set.title;
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${spec.path}.json`), 'utf8'));
  return json.navigationBarTitleText || APP.window.navigationBarTitleText;
}

function tabBar(spec) {
  const tabs = (APP.tabBar && APP.tabBar.list) || [];
  if (!tabs.some((t) => t.pagePath === spec.path)) return '';
  const color = (t) => (t.pagePath === spec.path ? APP.tabBar.selectedColor : APP.tabBar.color);
  return `<div class="wx-tabbar">${tabs.map((t) => `<div style="color:${color(t)}">${escapeHtml(t.text)}</div>`).join('')}</div>`;
}

function html(spec, page, fake) {
  const bar = tabBar(spec);
  const minHeight = VIEW_HEIGHT - 45 - (bar ? 51 : 0);
  const background = APP.window.backgroundColor || '#fff';
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=375">
<title>${escapeHtml(spec.label)} — ${escapeHtml(spec.path)}</title>
<style>${BASE_CSS}</style>
<style>${pageCss(page)}</style>
<style>.wx-page { font-family: "WenQuanYi Zen Hei", sans-serif; }</style>
</head><body>
<div class="wx-navbar">${escapeHtml(title(spec, fake))}<span class="wx-capsule"><i></i></span></div>
<div class="wx-page" style="min-height:${minHeight}px;background:${background}">${Array.from(page.dom.childNodes).map(flatten).join('')}</div>
${bar}
</body></html>
`;
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  const [outDir, ...only] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write('usage: node tests/screens/render.js OUT_DIR [page-name …]\n');
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });
  useRpxAt375();
  const unknown = only.filter((n) => !PAGES.some((p) => p.name === n));
  if (unknown.length) throw new Error(`unknown page(s): ${unknown.join(', ')}`);
  const pages = only.length ? PAGES.filter((p) => only.includes(p.name)) : PAGES;
  for (const spec of pages) {
    const missing = ['js', 'json', 'wxml'].filter((ext) => !fs.existsSync(path.join(ROOT, `${spec.path}.${ext}`)));
    if (missing.length) {
      process.stdout.write(`${JSON.stringify({ name: spec.name, path: spec.path, skipped: `${spec.path}.${missing.join('/.')} does not exist yet` })}\n`);
      continue;
    }
    if (spec.whenBuilt && !/\brequire\(/.test(fs.readFileSync(path.join(ROOT, `${spec.path}.js`), 'utf8'))) {
      process.stdout.write(`${JSON.stringify({ name: spec.name, path: spec.path, skipped: `${spec.path} is a placeholder yet (loads nothing)` })}\n`);
      continue;
    }
    // eslint-disable-next-line no-await-in-loop
    const { page, fake } = await loadPage(spec);
    const file = path.join(outDir, `${spec.name}.html`);
    fs.writeFileSync(file, html(spec, page, fake));
    process.stdout.write(`${JSON.stringify({ name: spec.name, path: spec.path, label: spec.label, file, title: title(spec, fake), expect: spec.expect })}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  },
);
