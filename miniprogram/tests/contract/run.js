// The mini-program's own services/ run in Node against a real bridge (issue #13's contract test,
// driven by tests/test_miniprogram_contract.py): a `wx` whose request is real HTTP, whose storage
// is a JSON file (so the steps of one scenario share their sign-ins), and whose login returns the
// code the step names (the bridge's WeChat dev mode takes a login code as the user).
//
//   node tests/contract/run.js STEP '{"base": "http://127.0.0.1:8600", ...}'
//
// Every request the services make is appended to $JHT_CONTRACT_LOG (one JSON line: method, url,
// body, status), which the Python side checks against /schema/openapi.json. The step's result is
// printed as the last line of stdout (JSON); a failure exits 1 with the API's message.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const [, , step, rawArgs] = process.argv;
const args = JSON.parse(rawArgs || '{}');
const LOG = process.env.JHT_CONTRACT_LOG;
const STORAGE = process.env.JHT_CONTRACT_STORAGE;

function loadStorage() {
  try {
    return JSON.parse(fs.readFileSync(STORAGE, 'utf8'));
  } catch (err) {
    return {};
  }
}

function saveStorage(store) {
  if (STORAGE) fs.writeFileSync(STORAGE, JSON.stringify(store));
}

const store = loadStorage();
let loginCode = args.code || 'contract-user';

global.wx = {
  request({ url, method = 'GET', data, header = {}, success, fail }) {
    const init = { method, headers: header };
    if (data !== undefined && method !== 'GET') init.body = JSON.stringify(data);
    fetch(url, init)
      .then(async (res) => {
        const text = await res.text();
        let body = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch (err) {
          // not JSON: handed over as text, as wx.request does
        }
        if (LOG) {
          fs.appendFileSync(LOG, `${JSON.stringify({ method, url, body: data === undefined ? null : data, status: res.status })}\n`);
        }
        success({ statusCode: res.status, data: body, header: Object.fromEntries(res.headers) });
      })
      .catch((err) => fail({ errMsg: `request:fail ${err.message}` }));
  },
  login({ success }) {
    setImmediate(() => success({ code: loginCode, errMsg: 'login:ok' }));
  },
  getStorageSync: (key) => (key in store ? store[key] : ''),
  setStorageSync(key, value) {
    store[key] = value;
    saveStorage(store);
  },
  removeStorageSync(key) {
    delete store[key];
    saveStorage(store);
  },
  showToast: ({ title }) => process.stderr.write(`toast: ${title}\n`),
  showLoading() {},
  hideLoading() {},
  showModal: ({ success }) => success && success({ confirm: true, cancel: false }),
};

const load = (name) => require(path.join(ROOT, name));
const config = load('config');
config.setBaseUrl(args.base);
const auth = load('utils/auth');
const { newIdempotencyKey } = load('utils/request');
const catalog = load('services/catalog');
const addresses = load('services/addresses');
const orders = load('services/orders');
const me = load('services/me');
const sales = load('services/salesClient');
const salesOrders = load('services/salesOrders');
const salesInquiries = load('services/salesInquiries');
const inquiries = load('services/inquiries');

function fail(message) {
  throw new Error(message);
}

const STEPS = {
  // A customer signs in (a first login, then the phone a salesperson registered: it joins that
  // customer), browses, finds the wheel (by scanning its packaging code, or in the custom list),
  // and orders it twice with one Idempotency-Key: one order.
  async 'customer-order'() {
    await auth.login();
    const bound = await auth.bindPhone(args.phone);
    const mine = await me.getMe();
    await me.getSalesperson();
    const listed = await catalog.listProducts({ kind: args.kind });
    let product;
    let marking = null;
    if (args.scan) {
      const scanned = await catalog.scan(args.scan);
      product = scanned.product;
      marking = scanned.marking;
    } else {
      product = listed.items.find((p) => p.sku === args.sku) || fail(`${args.sku} is not in the ${args.kind} list`);
    }
    await catalog.getProduct(product.id);
    const book = await addresses.listAddresses();
    const address = book.find((a) => a.is_default) || book[0] || fail('the customer has no address');
    const key = newIdempotencyKey();
    const order = { lines: [{ product_id: product.id, quantity: args.quantity, marking }], addressId: address.id, remark: '小程序契约测试' };
    const placed = await orders.placeOrder(order, key);
    const again = await orders.placeOrder(order, key); // a retry of the same confirmation
    if (again.order_no !== placed.order_no || again.created) fail('the retry placed a second order');
    const list = await orders.listOrders({ status: placed.status });
    if (!list.items.some((o) => o.order_no === placed.order_no)) fail('the new order is not in its status tab');
    return {
      order_no: placed.order_no,
      status: placed.status,
      status_label: placed.status_label,
      status_hint: placed.status_hint,
      customer: mine.customer.name,
      joined: bound.joined_registered_customer,
      sku: product.sku,
      listed: listed.total,
    };
  },

  // The customer looks at the order (signed in still, or again with the same WeChat code).
  async 'customer-order-status'() {
    const order = await orders.getOrder(args.order_no);
    return {
      status: order.status,
      status_label: order.status_label,
      status_hint: order.status_hint,
      can_cancel: order.can_cancel,
      can_confirm_receipt: order.can_confirm_receipt,
      shipments: order.shipments.map((s) => ({ courier: s.courier, tracking_no: s.tracking_no, lines: s.lines.length })),
      shipped: order.lines.map((l) => [l.quantity, l.shipped_quantity]),
    };
  },

  async 'customer-confirm'() {
    const order = await orders.confirmReceipt(args.order_no);
    return { status: order.status, status_label: order.status_label };
  },

  // The salesperson, from the workbench: signs in, finds the order among those waiting for the
  // payment confirmation, and releases it.
  async 'sales-release'() {
    await sales.passwordLogin(args.username, args.password);
    const waiting = await salesOrders.listOrders({ awaitingPayment: true });
    if (!waiting.items.some((o) => o.order_no === args.order_no)) fail(`${args.order_no} is not waiting for payment`);
    const before = await salesOrders.getOrder(args.order_no);
    if (!before.can_release) fail('the workbench offers no release');
    const after = await salesOrders.releaseOrder(args.order_no);
    return { released: after.released, can_release: after.can_release, status: after.status };
  },

  // C11, C16: the customer leaves an inquiry; the salesperson answers it from the workbench; the
  // customer reads the answer among their own inquiries.
  async 'customer-inquiry'() {
    const made = await inquiries.createInquiry(args.body);
    return { id: made.id, status: made.status };
  },

  async 'sales-answer'() {
    await sales.passwordLogin(args.username, args.password);
    const open = await salesInquiries.listInquiries({ status: 'open' });
    const found = open.items.find((i) => i.id === args.id) || fail(`inquiry ${args.id} is not open for the salesperson`);
    const answered = await salesInquiries.answerInquiry(found.id, args.answer);
    return { status: answered.status, answer: answered.answer };
  },

  async 'customer-inquiries'() {
    const mine = await inquiries.listMyInquiries();
    return { items: mine.items.map((i) => ({ id: i.id, status: i.status, answer: i.answer, answered_by: i.answered_by })) };
  },

  // Every function of every services/ module, called once with placeholder arguments: what it
  // sends (path, method, query, body fields) is checked against the document whatever the server
  // answers — so a request no scenario makes is held to the contract too.
  async 'every-call'() {
    const called = [];
    const dir = path.join(ROOT, 'services');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
      const mod = require(path.join(dir, file));
      for (const [name, fn] of Object.entries(mod)) {
        if (typeof fn !== 'function' || name === 'request' || name === 'needsLogin') continue;
        try {
          await fn(1, 1, 1);
        } catch (err) {
          // a refusal of the placeholder values is expected: only what was sent matters here
        }
        called.push(`${file}:${name}`);
      }
    }
    return { called };
  },
};

(async () => {
  const run = STEPS[step] || fail(`unknown step ${step} (one of ${Object.keys(STEPS).join(', ')})`);
  const result = await run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
})().catch((err) => {
  process.stderr.write(`contract step ${step} failed: ${err.message}${err.code ? ` (${err.code})` : ''}\n`);
  process.exit(1);
});
