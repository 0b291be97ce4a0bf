// 首页 (C1, C3, C4)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const product = (id, over = {}) => ({
  id, sku: `GW-${id}`, name: `平形砂轮 ${id}`, kind: 'standard', kind_label: '标准品', unit: '片', price: '128.5',
  spec: '1 400×40×127 A 60 K V 35m/s', shape: '1', outer_diameter_mm: '400', thickness_mm: '40', bore_mm: '127',
  abrasive: 'A', grit: '60', hardness: 'K', bond: 'V', max_speed_ms: '35', marking: null, description: null, ...over,
});

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('C1: lists standard products with the customer price, then 定制品 on the tab', async () => {
  fake.route('GET', `${API}/products`, (req) => ({
    data: { page: 1, page_size: 20, total: 1, items: [req.query.kind === 'custom' ? product(2, { kind: 'custom', kind_label: '定制品', name: '专属砂轮' }) : product(1)] },
  }));
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  expect(fake.requests[0].query).toEqual({ kind: 'standard', page: '1' });
  const html = page.dom.innerHTML;
  expect(html).toContain('平形砂轮 1');
  expect(html).toContain('¥128.50');
  page.querySelectorAll('.kind-tab')[1].dispatchEvent('tap');
  await flush();
  expect(fake.requests[1].query).toEqual({ kind: 'custom', page: '1' });
  expect(page.dom.innerHTML).toContain('专属砂轮');
  expect(page.dom.innerHTML).not.toContain('平形砂轮 1');
});

test('C1: search sends q and shows the empty state when nothing matches', async () => {
  fake.route('GET', `${API}/products`, (req) => ({ data: { page: 1, page_size: 20, total: req.query.q ? 0 : 1, items: req.query.q ? [] : [product(1)] } }));
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  page.instance.onSearchInput({ detail: { value: ' 400×40 ' } });
  page.querySelector('#search-btn').dispatchEvent('tap');
  await flush();
  expect(fake.requests[1].query).toEqual({ kind: 'standard', q: '400×40', page: '1' });
  expect(page.dom.innerHTML).toContain('没有找到相关商品');
});

test('paging: the next page is appended at the bottom until the total is reached', async () => {
  fake.route('GET', `${API}/products`, (req) => ({ data: { page: Number(req.query.page), page_size: 1, total: 2, items: [product(Number(req.query.page))] } }));
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  await page.instance.onReachBottom();
  await flush();
  expect(page.instance.data.items.map((p) => p.id)).toEqual([1, 2]);
  expect(page.instance.data.finished).toBe(true);
  await page.instance.onReachBottom();
  expect(fake.sent('GET', `${API}/products`)).toHaveLength(2);
});

test('an error shows its message and a retry', async () => {
  fake.route('GET', `${API}/products`, () => fake.networkError());
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  expect(page.dom.innerHTML).toContain('网络异常，请检查网络后重试');
  fake.route('GET', `${API}/products`, { data: { page: 1, page_size: 20, total: 1, items: [product(1)] } });
  page.querySelector('#retry').dispatchEvent('tap');
  await flush();
  expect(page.dom.innerHTML).toContain('平形砂轮 1');
});

test('C3: 联系业务员 opens the contact sheet; tap to call and copy the WeChat id', async () => {
  fake.route('GET', `${API}/products`, { data: { page: 1, page_size: 20, total: 0, items: [] } });
  fake.route('GET', `${API}/salesperson`, { data: { name: '王业务', phone: '13900001111', wechat: 'wang-sales' } });
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  page.querySelector('#contact').dispatchEvent('tap');
  await flush();
  const sheet = page.querySelector('#contact-sheet');
  expect(sheet.dom.innerHTML).toContain('王业务');
  sheet.querySelector('.call').dispatchEvent('tap');
  sheet.querySelector('.copy').dispatchEvent('tap');
  await flush();
  expect(fake.calls.makePhoneCall).toEqual([expect.objectContaining({ phoneNumber: '13900001111' })]);
  expect(fake.calls.setClipboardData[0].data).toBe('wang-sales');
  sheet.querySelector('.close').dispatchEvent('tap');
  await flush();
  expect(page.instance.data.contactShow).toBe(false);
});

test('C4: 扫一扫 scans and opens the product page with the code', async () => {
  fake.route('GET', `${API}/products`, { data: { page: 1, page_size: 20, total: 0, items: [] } });
  fake.answers.scanCode = { result: 'https://qr.example.com/p?c=AB 1', errMsg: 'scanCode:ok' };
  const page = await openPage(simulate, 'pages/home/index');
  page.querySelector('#scan').dispatchEvent('tap');
  await flush();
  expect(fake.count('scanCode')).toBe(1);
  expect(fake.calls.navigateTo[0].url).toBe(`/pages/product/index?qr=${encodeURIComponent('https://qr.example.com/p?c=AB 1')}`);
});

test('tapping a product opens its detail page', async () => {
  fake.route('GET', `${API}/products`, { data: { page: 1, page_size: 20, total: 1, items: [product(5)] } });
  const page = await openPage(simulate, 'pages/home/index');
  await flush();
  page.querySelector('.product').querySelector('.card-item').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/pages/product/index?id=5');
});
