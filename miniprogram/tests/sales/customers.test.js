// packageSales/customers: my customers (A6) — search, 类型一 / 类型二, paging, empty and error states.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, page, customer, failure } = require('./helpers');

let simulate;
let fake;

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
});

async function open() {
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/customers/index');
  await flush();
  return p;
}

test('A6: lists my customers with their type label, contact and counts', async () => {
  fake.route('GET', `${SALES}/customers`, { data: page([customer(), customer({ id: 8, name: '恒力五金', type: 1, type_label: '类型一', phone: null })]) });
  const p = await open();
  const cards = p.querySelectorAll('.customer');
  expect(cards).toHaveLength(2);
  expect(cards[0].dom.textContent).toContain('宏达机械');
  expect(p.querySelectorAll('.tag').map((t) => t.dom.textContent)).toEqual(['类型二', '类型一']);
  expect(cards[1].dom.textContent).toContain('无电话');
  expect(p.querySelector('.end').dom.textContent).toBe('共 2 位客户');
  expect(fake.sent('GET', `${SALES}/customers`)[0].header.Authorization).toBe('Bearer staff-a1');
});

test('A6: search sends q and shows what was found; nothing found has its own text', async () => {
  fake.route('GET', `${SALES}/customers`, (req) => ({ data: page(req.query.q === '宏达' ? [customer()] : []) }));
  const p = await open();
  expect(p.querySelector('.empty').dom.textContent).toBe('暂无客户');
  p.querySelector('.search-input').dispatchEvent('input', { detail: { value: ' 宏达 ' } });
  p.querySelector('.search-btn').dispatchEvent('tap');
  await flush();
  expect(fake.sent('GET', `${SALES}/customers`)[1].query).toEqual({ q: '宏达', page: '1' });
  expect(p.querySelectorAll('.customer')).toHaveLength(1);
  p.querySelector('.search-input').dispatchEvent('input', { detail: { value: '无此人' } });
  p.querySelector('.search-btn').dispatchEvent('tap');
  await flush();
  expect(p.querySelector('.empty').dom.textContent).toBe('没有找到匹配的客户');
});

test('scrolling to the bottom loads the next page and appends it', async () => {
  fake.route('GET', `${SALES}/customers`, (req) =>
    ({ data: page([customer({ id: Number(req.query.page) })], { total: 2, page: Number(req.query.page) }) }));
  const p = await open();
  await p.instance.onReachBottom();
  await flush();
  expect(fake.sent('GET', `${SALES}/customers`)[1].query.page).toBe('2');
  expect(p.querySelectorAll('.customer')).toHaveLength(2);
  await p.instance.onReachBottom();
  expect(fake.sent('GET', `${SALES}/customers`)).toHaveLength(2);
});

test('tapping a customer opens its detail; 新建客户 opens the form', async () => {
  fake.route('GET', `${SALES}/customers`, { data: page([customer()]) });
  const p = await open();
  p.querySelector('.customer').dispatchEvent('tap');
  p.querySelector('.new-customer').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo.map((c) => c.url)).toEqual(['/packageSales/customer/index?id=7', '/packageSales/customer-new/index']);
});

test('an API error is shown on the page with 重试', async () => {
  fake.route('GET', `${SALES}/customers`, () => fake.networkError());
  const p = await open();
  expect(p.querySelector('.error-text').dom.textContent).toBe('网络异常，请检查网络后重试');
  fake.route('GET', `${SALES}/customers`, { data: page([customer()]) });
  p.querySelector('.retry').dispatchEvent('tap');
  await flush();
  expect(p.querySelectorAll('.customer')).toHaveLength(1);
});
