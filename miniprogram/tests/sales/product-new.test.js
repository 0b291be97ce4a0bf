// packageSales/product-new: scenario 2 from the phone (A7) — a custom product for the customer,
// granted to it, then the customer told: a WeChat notice through the bridge, or a message copied / shared.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, failure } = require('./helpers');

let simulate;
let fake;
let p;

const PRODUCT = {
  id: 41, sku: 'DZ-400', name: '定制平形砂轮', kind: 'custom', kind_label: '定制品', unit: '片', price: '680',
  spec: 'P 400×40×127 WA 60 K V', shape: 'P', outer_diameter_mm: '400', thickness_mm: '40', bore_mm: '127',
  abrasive: 'WA', grit: '60', hardness: 'K', bond: 'V', max_speed_ms: '35', marking: null, description: null,
  active: true, erp_item_code: null,
};
const GRANT = { product_id: 41, sku: 'DZ-400', customer_id: 21, created: true, visible_to_customer: true };

beforeEach(async () => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
  p = await require('../helpers/sim').openPage(simulate, 'packageSales/product-new/index', {
    customer_id: '21', customer_name: encodeURIComponent('新锐磨具'),
  });
});

function fill(values) {
  Object.keys(values).forEach((key) => p.querySelector(`.input-${key}`).dispatchEvent('input', { detail: { value: values[key] } }));
}

async function tap(selector) {
  p.querySelector(selector).dispatchEvent('tap');
  await flush();
}

test('A7: creates a custom product, grants it to the customer and shows the ready message', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, { data: GRANT });
  expect(p.querySelector('.customer-name').dom.textContent).toBe('新锐磨具');
  fill({ sku: ' DZ-400 ', name: '定制平形砂轮', price: '680', outer_diameter_mm: '400', thickness_mm: '40', bore_mm: '127', grit: '60' });
  await tap('.submit');
  expect(fake.sent('POST', `${SALES}/products`)[0].data).toEqual({
    kind: 'custom', sku: 'DZ-400', name: '定制平形砂轮', price: '680', unit: '片',
    outer_diameter_mm: '400', thickness_mm: '40', bore_mm: '127', grit: '60',
  });
  expect(fake.sent('POST', `${SALES}/products/41/grants`)[0].data).toEqual({ customer_id: 21 });
  expect(p.querySelector('.price').dom.textContent).toBe('¥680.00');
  expect(p.querySelector('.notice').dom.textContent).toContain('复制下面的消息');
  expect(p.querySelector('.message').dom.textContent).toBe(
    '新锐磨具您好，您定制的产品「定制平形砂轮」（P 400×40×127 WA 60 K V）已上架，单价 ¥680.00/片。请打开「锦亨泰商城」小程序，在「定制」中查看并下单。'
  );
  expect(p.querySelector('.not-visible')).toBeUndefined();
});

test('A7: 复制消息 copies the message; sharing opens the customer-side custom page', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, { data: GRANT });
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  await tap('.copy');
  expect(fake.calls.setClipboardData[0].data).toContain('「定制平形砂轮」');
  expect(fake.calls.showToast[0].title).toBe('已复制，请到微信发送给客户');
  expect(p.instance.onShareAppMessage()).toEqual({ title: '您定制的「定制平形砂轮」已上架', path: '/pages/custom/index' });
  await tap('.done');
  expect(fake.calls.redirectTo[0].url).toBe('/packageSales/customer/index?id=21');
});

test('A7: a grant the customer still cannot see (hidden / inactive) is said so', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, { data: { ...GRANT, visible_to_customer: false } });
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  expect(p.querySelector('.not-visible').dom.textContent).toContain('仍不可见');
});

test('required fields are asked for before anything is sent', async () => {
  fill({ name: '定制平形砂轮' });
  await tap('.submit');
  expect(p.querySelector('.form-error').dom.textContent).toBe('请填写产品编码、单价（元）');
  expect(fake.requests).toHaveLength(0);
});

test('a code already used (409) is shown and nothing is granted', async () => {
  fake.route('POST', `${SALES}/products`, failure(409, 'conflict', '产品编码 DZ-400 已存在'));
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  expect(p.querySelector('.form-error').dom.textContent).toBe('产品编码 DZ-400 已存在');
  expect(fake.sent('POST', /\/grants$/)).toHaveLength(0);
});

test('a failed grant keeps the product made: the retry only grants', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, () => fake.networkError());
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  expect(p.querySelector('.form-error').dom.textContent).toBe('网络异常，请检查网络后重试');
  expect(p.querySelector('.submit').dom.textContent).toBe('重试授权');
  fake.route('POST', `${SALES}/products/41/grants`, { data: GRANT });
  await tap('.submit');
  expect(fake.sent('POST', `${SALES}/products`)).toHaveLength(1);
  expect(fake.sent('POST', `${SALES}/products/41/grants`)).toHaveLength(2);
  expect(p.querySelector('.message')).toBeTruthy();
});


test('scenario 2: 通过微信通知客户 asks the bridge to send the ready notice, once', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, { data: GRANT });
  fake.route('POST', `${SALES}/products/41/ready`, { statusCode: 202, data: { notice_id: 7, kind: 'notify.ready' } });
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  await tap('.tell');
  await tap('.tell');
  expect(fake.sent('POST', `${SALES}/products/41/ready`)).toHaveLength(1);
  expect(fake.sent('POST', `${SALES}/products/41/ready`)[0].data).toEqual({ customer_id: 21, note: '' });
  expect(p.querySelector('.tell').dom.textContent).toBe('已通知客户');
  expect(p.querySelector('.told').dom.textContent).toContain('已发出微信通知');
});

test('scenario 2: a refused ready notice shows the bridge\'s message', async () => {
  fake.route('POST', `${SALES}/products`, { data: PRODUCT });
  fake.route('POST', `${SALES}/products/41/grants`, { data: GRANT });
  fake.route('POST', `${SALES}/products/41/ready`, failure(422, 'invalid_input', '该客户还看不到这个商品，请先把它授权给该客户'));
  fill({ sku: 'DZ-400', name: '定制平形砂轮', price: '680' });
  await tap('.submit');
  await tap('.tell');
  expect(p.querySelector('.tell-error').dom.textContent).toBe('该客户还看不到这个商品，请先把它授权给该客户');
});
