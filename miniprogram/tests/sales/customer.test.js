// packageSales/customer: one customer (A6) with notes (add a note), its orders, a custom product (A7).
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, customerDetail, failure } = require('./helpers');

let simulate;
let fake;

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
});

async function open() {
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/customer/index', { id: '7' });
  await flush();
  return p;
}

test('A6: shows the customer, its type, open and awaiting orders and its notes', async () => {
  fake.route('GET', `${SALES}/customers/7`, { data: customerDetail() });
  const p = await open();
  expect(p.querySelector('.name').dom.textContent).toBe('宏达机械');
  expect(p.querySelector('.type-label').dom.textContent).toBe('类型二');
  expect(p.querySelector('.open-orders').dom.textContent).toBe('2');
  expect(p.querySelector('.awaiting-orders').dom.textContent).toBe('1');
  expect(p.querySelector('.note-body').dom.textContent).toBe('要求月结');
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('宏达机械');
});

test('A6: adding a note posts it and puts it on top; an empty note is not sent', async () => {
  fake.route('GET', `${SALES}/customers/7`, { data: customerDetail() });
  fake.route('POST', `${SALES}/customers/7/notes`, (req) =>
    ({ data: { id: 6, body: req.data.body, author_id: 2, author: '李业务', created_at: '2026-12-02T10:00:00+08:00' } }));
  const p = await open();
  p.querySelector('.add-note').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${SALES}/customers/7/notes`)).toHaveLength(0);
  expect(fake.calls.showToast[0].title).toBe('请输入备注内容');
  p.querySelector('.note-input').dispatchEvent('input', { detail: { value: '下周回访' } });
  p.querySelector('.add-note').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${SALES}/customers/7/notes`)[0].data).toEqual({ body: '下周回访' });
  const notes = p.querySelectorAll('.note-body').map((n) => n.dom.textContent);
  expect(notes).toEqual(['下周回访', '要求月结']);
  expect(p.instance.data.noteText).toBe('');
});

test('a refused note keeps the text and shows the API message', async () => {
  fake.route('GET', `${SALES}/customers/7`, { data: customerDetail() });
  fake.route('POST', `${SALES}/customers/7/notes`, failure(400, 'invalid_input', '请求数据有误：body'));
  const p = await open();
  p.querySelector('.note-input').dispatchEvent('input', { detail: { value: '下周回访' } });
  p.querySelector('.add-note').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showToast[0].title).toBe('请求数据有误：body');
  expect(p.instance.data.noteText).toBe('下周回访');
  expect(p.querySelectorAll('.note-body')).toHaveLength(1);
});

test('no notes and no accounts: said so', async () => {
  fake.route('GET', `${SALES}/customers/7`, { data: customerDetail({ notes: [], accounts: [] }) });
  const p = await open();
  expect(p.querySelector('.no-notes').dom.textContent).toBe('暂无备注');
  expect(p.querySelector('.accounts').dom.textContent).toContain('尚未用微信登录');
});

test('A7: its orders and a custom product for it open with the customer named; tap-to-call', async () => {
  fake.route('GET', `${SALES}/customers/7`, { data: customerDetail() });
  const p = await open();
  p.querySelector('.orders-btn').dispatchEvent('tap');
  p.querySelector('.new-product').dispatchEvent('tap');
  p.querySelector('.call').dispatchEvent('tap');
  await flush();
  const name = encodeURIComponent('宏达机械');
  expect(fake.calls.navigateTo.map((c) => c.url)).toEqual([
    `/packageSales/orders/index?customer_id=7&customer_name=${name}`,
    `/packageSales/product-new/index?customer_id=7&customer_name=${name}`,
  ]);
  expect(fake.calls.makePhoneCall[0].phoneNumber).toBe('13800000000');
});

test('a customer not mine (404) is shown as the API says', async () => {
  fake.route('GET', `${SALES}/customers/7`, failure(404, 'not_found', '客户不存在'));
  const p = await open();
  expect(p.querySelector('.error-text').dom.textContent).toBe('客户不存在');
});
