// 商品详情 and scan (C1, C4)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const wheel = {
  id: 9, sku: 'GW-400', name: '平形砂轮', kind: 'standard', kind_label: '标准品', unit: '片', price: '88',
  spec: '1 400×40×127 WA 60 K V 35m/s', shape: '1', outer_diameter_mm: '400.00', thickness_mm: '40.00', bore_mm: '127.00',
  abrasive: 'WA', grit: '60', hardness: 'K', bond: 'V', max_speed_ms: '35.00', marking: 'STD-MARK', description: '通用磨削',
};

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('C1: the grinding-wheel spec fields and the customer price', async () => {
  fake.route('GET', `${API}/products/9`, { data: wheel });
  const page = await openPage(simulate, 'pages/product/index', { id: '9' });
  await flush();
  const html = page.dom.innerHTML;
  ['形状', '400×40×127', 'WA', '粒度', '60', '硬度', '结合剂', '35 m/s', 'STD-MARK', '¥88.00', '通用磨削'].forEach((t) =>
    expect(html).toContain(t));
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('平形砂轮');
});

test('C4: opened by WeChat\'s scanner (q): POST /scan with the code, marking prefilled, then order now', async () => {
  const url = 'https://qr.example.com/w?c=LOT-7';
  fake.route('POST', `${API}/scan`, (req) => {
    expect(req.data).toEqual({ payload: url });
    return { data: { product: wheel, qr_payload: 'LOT-7', marking: 'LOT-7 MARK', spec: wheel.spec } };
  });
  const page = await openPage(simulate, 'pages/product/index', { q: encodeURIComponent(url) });
  await flush();
  expect(page.instance.data.marking).toBe('LOT-7 MARK');
  expect(page.dom.innerHTML).toContain('已扫码识别');
  page.instance.onQuantityInput({ detail: { value: '12' } });
  page.querySelector('#order-now').dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.checkout'].lines).toEqual([
    expect.objectContaining({ product_id: 9, quantity: 12, marking: 'LOT-7 MARK', qr_payload: 'LOT-7' }),
  ]);
  expect(fake.calls.navigateTo[0].url).toBe('/packageOrder/confirm/index');
});

test('C4: an unknown code shows the API message', async () => {
  fake.route('POST', `${API}/scan`, { statusCode: 404, data: { code: 'unknown_qr', message: '未识别的二维码，请联系业务员' } });
  const page = await openPage(simulate, 'pages/product/index', { qr: encodeURIComponent('garbage') });
  await flush();
  expect(page.dom.innerHTML).toContain('未识别的二维码，请联系业务员');
  expect(page.querySelector('#order-now')).toBeUndefined();
});

test('add to cart twice adds up the quantity of the same line', async () => {
  fake.route('GET', `${API}/products/9`, { data: wheel });
  const page = await openPage(simulate, 'pages/product/index', { id: '9' });
  await flush();
  page.querySelector('#plus').dispatchEvent('tap');
  page.querySelector('#add-cart').dispatchEvent('tap');
  page.querySelector('#add-cart').dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.cart']).toHaveLength(1);
  expect(fake.storage['jht.cart'][0].quantity).toBe(4);
  expect(fake.calls.showToast[0].title).toBe('已加入购物车');
});
