// 购物车 and 确认订单 (C5, C12)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const address = { id: 3, recipient: '张三', phone: '13800000000', province: '江苏省', city: '苏州市', district: '吴中区', detail: '工业园 1 号', is_default: true };
const line = { key: '9||', product_id: 9, name: '平形砂轮', sku: 'GW-400', spec: '400×40×127', unit: '片', price: '88', quantity: 2, marking: null, qr_payload: null };
const placed = { order_no: 'JHT2024000001', status: 'awaiting_shipment' };

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('cart: lines with the estimate, remove, 去结算 passes the lines on', async () => {
  fake.storage['jht.cart'] = [line, { ...line, key: '10||', product_id: 10, name: '碗形砂轮', quantity: 1 }];
  const page = await openPage(simulate, 'pages/cart/index');
  page.instance.onShow();
  await flush();
  expect(page.dom.innerHTML).toContain('¥264.00');
  page.querySelectorAll('.remove')[1].dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.cart']).toHaveLength(1);
  page.querySelector('#checkout').dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.checkout']).toEqual({ lines: [line], fromCart: true });
  expect(fake.calls.navigateTo[0].url).toBe('/packageOrder/confirm/index');
});

test('cart: empty state', async () => {
  const page = await openPage(simulate, 'pages/cart/index');
  page.instance.onShow();
  await flush();
  expect(page.dom.innerHTML).toContain('购物车是空的');
});

async function openConfirm() {
  fake.storage['jht.cart'] = [line];
  fake.storage['jht.checkout'] = { lines: [line], fromCart: true };
  fake.route('GET', `${API}/addresses`, { data: [{ ...address, id: 2, is_default: false }, address] });
  const page = await openPage(simulate, 'packageOrder/confirm/index');
  await flush();
  return page;
}

test('C5: the default address, remark, submit: POST /orders and on to the order', async () => {
  require('../../config').SHIPMENT_TEMPLATE_ID = 'tmpl-ship';
  fake.route('POST', `${API}/orders`, { data: placed });
  const page = await openConfirm();
  expect(page.dom.innerHTML).toContain('张三 13800000000');
  page.instance.onRemarkInput({ detail: { value: ' 尽快发货 ' } });
  page.querySelector('#submit').dispatchEvent('tap');
  await flush(1);
  expect(fake.calls.requestSubscribeMessage).toEqual([expect.objectContaining({ tmplIds: ['tmpl-ship'] })]);
  require('../../config').SHIPMENT_TEMPLATE_ID = '';
  await flush();
  const [req] = fake.sent('POST', `${API}/orders`);
  expect(req.data).toEqual({ lines: [{ product_id: 9, quantity: 2 }], address_id: 3, remark: '尽快发货' });
  expect(req.header['Idempotency-Key']).toMatch(/^.{8,128}$/);
  expect(fake.calls.redirectTo[0].url).toBe('/packageOrder/detail/index?order_no=JHT2024000001&placed=1');
  expect(fake.storage['jht.cart']).toEqual([]);
});

test('C5: a double tap sends one request; a retry after a network error keeps the same key', async () => {
  let n = 0;
  fake.route('POST', `${API}/orders`, () => {
    n += 1;
    return n === 1 ? fake.networkError() : { data: placed };
  });
  const page = await openConfirm();
  page.querySelector('#submit').dispatchEvent('tap');
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/orders`)).toHaveLength(1);
  expect(fake.calls.showToast[0].title).toBe('网络异常，请检查网络后重试');
  expect(fake.count('redirectTo')).toBe(0);
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  const [first, second] = fake.sent('POST', `${API}/orders`);
  expect(second.header['Idempotency-Key']).toBe(first.header['Idempotency-Key']);
  expect(fake.count('redirectTo')).toBe(1);
});

test('C5: no address → asks for one, sends nothing; the picked address wins on return', async () => {
  fake.storage['jht.checkout'] = { lines: [line], fromCart: false };
  fake.route('GET', `${API}/addresses`, { data: [] });
  const page = await openPage(simulate, 'packageOrder/confirm/index');
  await flush();
  expect(page.dom.innerHTML).toContain('请添加收货地址');
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showToast[0].title).toBe('请选择收货地址');
  expect(fake.sent('POST', `${API}/orders`)).toHaveLength(0);
  page.querySelector('#address').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageMe/addresses/index?select=1');
  fake.storage['jht.selectedAddress'] = address;
  page.instance.onShow();
  expect(page.instance.data.address.id).toBe(3);
});


test('C12: the order notices with a template are asked for together on the tap (shipment, status, cancelled)', async () => {
  const config = require('../../config');
  Object.assign(config.TEMPLATE_IDS, { shipment: 'tmpl-ship', status: 'tmpl-status', cancelled: '' });
  fake.route('POST', `${API}/orders`, { data: placed });
  const page = await openConfirm();
  page.querySelector('#submit').dispatchEvent('tap');
  await flush(1);
  expect(fake.calls.requestSubscribeMessage).toEqual([expect.objectContaining({ tmplIds: ['tmpl-ship', 'tmpl-status'] })]);
  Object.assign(config.TEMPLATE_IDS, { shipment: '', status: '' });
  await flush();
});
