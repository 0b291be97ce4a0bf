// 再来一单 on the order detail (C14): GET /reorder → the cart and the confirmation; dropped lines
// and price changes told in a modal
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const product = (id, over = {}) => ({
  id, sku: `GW-${id}`, name: `平形砂轮 ${id}`, kind: 'standard', kind_label: '标准品', unit: '片', price: '90',
  spec: `${id}00×40×127`, shape: '1', outer_diameter_mm: null, thickness_mm: null, bore_mm: null, abrasive: null,
  grit: null, hardness: null, bond: null, max_speed_ms: null, marking: null, description: null, ...over,
});
const order = {
  order_no: 'JHT1', status: 'completed', status_label: '已完成', released: true, status_hint: null, total_amount: '352',
  created_at: '2024-05-01T08:00:00+00:00', ship_to: { recipient: '张三', phone: '138', province: '', city: '', district: '', detail: '1 号' },
  remark: '', erp_ref: 'E1', can_cancel: false, can_confirm_receipt: false, lines: [], shipments: [], timeline: [],
};
const reorder = (over = {}) => ({
  order_no: 'JHT1',
  lines: [
    { line_no: 1, product: product(9), quantity: 2, marking: 'M1', previous_unit_price: '88', unit_price: '90', amount: '180' },
    { line_no: 2, product: product(10), quantity: 1, marking: null, previous_unit_price: '50', unit_price: '50.00', amount: '50' },
  ],
  dropped: [{ line_no: 3, sku: 'GW-11', name: '碗形砂轮', quantity: 4, reason: 'inactive', reason_label: '商品已下架' }],
  total_amount: '230',
  ...over,
});

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
  fake.route('GET', `${API}/orders/JHT1`, { data: order });
});

async function openDetail() {
  const page = await openPage(simulate, 'packageOrder/detail/index', { order_no: 'JHT1' });
  await flush();
  return page;
}

test('C14: 再来一单 tells the dropped lines and price changes, then fills the cart and opens the confirmation', async () => {
  fake.route('GET', `${API}/orders/JHT1/reorder`, { data: reorder() });
  fake.storage['jht.cart'] = [{ key: '10||', product_id: 10, name: '平形砂轮 10', sku: 'GW-10', spec: '', unit: '片', price: '50', quantity: 3, marking: null, qr_payload: null }];
  const page = await openDetail();
  page.querySelector('#reorder').dispatchEvent('tap');
  await flush();
  expect(fake.sent('GET', `${API}/orders/JHT1/reorder`)).toHaveLength(1);
  const [modal] = fake.calls.showModal;
  expect(modal.content).toBe(
    [
      '以下商品无法再次购买：',
      '碗形砂轮（GW-11）× 4：商品已下架',
      '以下商品价格有变动：',
      '平形砂轮 9：¥88.00 → ¥90.00',
      '按今日价格合计 ¥230.00',
    ].join('\n'),
  );
  const cartLines = fake.storage['jht.cart'];
  expect(cartLines.map((l) => [l.key, l.quantity, l.price, l.marking])).toEqual([
    ['10||', 4, '50', null],
    ['9|M1|', 2, '90', 'M1'],
  ]);
  expect(fake.storage['jht.checkout']).toEqual({ lines: cartLines, fromCart: true });
  expect(fake.calls.navigateTo[0].url).toBe('/packageOrder/confirm/index');
});

test('C14: declining the modal leaves the cart alone; nothing changed → straight to the confirmation', async () => {
  fake.route('GET', `${API}/orders/JHT1/reorder`, { data: reorder() });
  const page = await openDetail();
  fake.answers.showModal = { confirm: false };
  page.querySelector('#reorder').dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.cart']).toBeUndefined();
  expect(fake.count('navigateTo')).toBe(0);
  const same = reorder({ dropped: [], lines: [reorder().lines[1]] });
  fake.route('GET', `${API}/orders/JHT1/reorder`, { data: same });
  page.querySelector('#reorder').dispatchEvent('tap');
  await flush();
  expect(fake.count('showModal')).toBe(1);
  expect(fake.storage['jht.checkout'].lines.map((l) => l.product_id)).toEqual([10]);
  expect(fake.calls.navigateTo[0].url).toBe('/packageOrder/confirm/index');
});

test('C14: every line dropped → a modal with the reasons, no cart, no navigation', async () => {
  fake.route('GET', `${API}/orders/JHT1/reorder`, {
    data: reorder({ lines: [], total_amount: '0', dropped: [{ line_no: 1, sku: 'GW-9', name: '专属砂轮', quantity: 2, reason: 'not_visible', reason_label: '该商品已不再向您供应' }] }),
  });
  const page = await openDetail();
  page.querySelector('#reorder').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showModal[0]).toEqual(expect.objectContaining({ title: '无法再来一单', showCancel: false }));
  expect(fake.calls.showModal[0].content).toBe('以下商品无法再次购买：\n专属砂轮（GW-9）× 2：该商品已不再向您供应');
  expect(fake.storage['jht.cart']).toBeUndefined();
  expect(fake.count('navigateTo')).toBe(0);
});

test('C14: a refused reorder shows the API message; a double tap asks once', async () => {
  fake.route('GET', `${API}/orders/JHT1/reorder`, { statusCode: 404, data: { code: 'not_found', message: '订单不存在' } });
  const page = await openDetail();
  page.querySelector('#reorder').dispatchEvent('tap');
  page.querySelector('#reorder').dispatchEvent('tap');
  await flush();
  expect(fake.sent('GET', `${API}/orders/JHT1/reorder`)).toHaveLength(1);
  expect(fake.calls.showToast.pop().title).toBe('订单不存在');
  expect(fake.count('navigateTo')).toBe(0);
  expect(page.instance.data.reordering).toBe(false);
});
