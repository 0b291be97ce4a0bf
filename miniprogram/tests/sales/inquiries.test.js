// packageSales/inquiries: my customers' inquiries to follow up (A6, C11) — list, mark handled.
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, page, failure } = require('./helpers');

let simulate;
let fake;

function inquiry(overrides = {}) {
  return {
    id: 3, customer: { id: 7, name: '宏达机械' }, body: '需要 Φ500 的树脂砂轮，月用量 200 片', status: 'open',
    status_label: '待跟进', created_at: '2026-12-01T08:30:00+08:00', handled_by_id: null, handled_by: null, handled_at: null,
    ...overrides,
  };
}
const HANDLED = { status: 'handled', status_label: '已跟进', handled_by_id: 2, handled_by: '李业务', handled_at: '2026-12-02T08:30:00+08:00' };

beforeEach(() => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
});

async function open() {
  const p = await require('../helpers/sim').openPage(simulate, 'packageSales/inquiries/index');
  await flush();
  return p;
}

test('A6: the open inquiries first, with customer and text', async () => {
  fake.route('GET', `${SALES}/inquiries`, { data: page([inquiry()]) });
  const p = await open();
  expect(fake.sent('GET', `${SALES}/inquiries`)[0].query).toEqual({ status: 'open', page: '1' });
  expect(p.querySelector('.customer-name').dom.textContent).toBe('宏达机械 ›');
  expect(p.querySelector('.body').dom.textContent).toBe('需要 Φ500 的树脂砂轮，月用量 200 片');
  expect(p.querySelector('.status').dom.textContent).toBe('待跟进');
});

test('A6: 标记已跟进 posts handle and the inquiry leaves the open list', async () => {
  fake.route('GET', `${SALES}/inquiries`, { data: page([inquiry(), inquiry({ id: 4, body: '另一条' })]) });
  fake.route('POST', `${SALES}/inquiries/3/handle`, { data: inquiry(HANDLED) });
  const p = await open();
  p.querySelectorAll('.handle')[0].dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${SALES}/inquiries/3/handle`)).toHaveLength(1);
  expect(p.querySelectorAll('.inquiry')).toHaveLength(1);
  expect(p.querySelector('.body').dom.textContent).toBe('另一条');
  expect(fake.calls.showToast[0].title).toBe('已标记为已跟进');
});

test('on 全部, a handled inquiry shows its new status and who followed it up; no button', async () => {
  fake.route('GET', `${SALES}/inquiries`, (req) => ({ data: page(req.query.status ? [] : [inquiry()]) }));
  fake.route('POST', `${SALES}/inquiries/3/handle`, { data: inquiry(HANDLED) });
  const p = await open();
  expect(p.querySelector('.empty').dom.textContent).toBe('没有待跟进的询价');
  p.querySelector('.tab-all').dispatchEvent('tap');
  await flush();
  expect(fake.sent('GET', `${SALES}/inquiries`)[1].query).toEqual({ page: '1' });
  p.querySelector('.handle').dispatchEvent('tap');
  await flush();
  expect(p.querySelector('.status').dom.textContent).toBe('已跟进');
  expect(p.querySelector('.inquiry').dom.textContent).toContain('李业务 已跟进');
  expect(p.querySelector('.handle')).toBeUndefined();
});

test('a failed handle keeps the inquiry and shows the message', async () => {
  fake.route('GET', `${SALES}/inquiries`, { data: page([inquiry()]) });
  fake.route('POST', `${SALES}/inquiries/3/handle`, failure(404, 'not_found', '询价不存在'));
  const p = await open();
  p.querySelector('.handle').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showToast[0].title).toBe('询价不存在');
  expect(p.querySelectorAll('.inquiry')).toHaveLength(1);
});

test('the customer of an inquiry opens; a load error is shown', async () => {
  fake.route('GET', `${SALES}/inquiries`, { data: page([inquiry()]) });
  const p = await open();
  p.querySelector('.customer-name').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageSales/customer/index?id=7');
  fake.route('GET', `${SALES}/inquiries`, () => fake.networkError());
  p.querySelector('.tab-handled').dispatchEvent('tap');
  await flush();
  expect(p.querySelector('.error-text').dom.textContent).toBe('网络异常，请检查网络后重试');
});

test('C11: 发送回复 posts the answer once, the inquiry leaves the open list; a blank answer is not sent', async () => {
  fake.route('GET', `${SALES}/inquiries`, { data: page([inquiry(), inquiry({ id: 4, body: '另一条' })]) });
  fake.route('POST', `${SALES}/inquiries/3/answer`, {
    data: inquiry({ ...HANDLED, answer: '可以做，单价 320 元，交期 15 天', answered_by: '李业务', answered_at: '2026-12-02T09:00:00+08:00' }),
  });
  const p = await open();
  p.querySelectorAll('.answer-btn')[0].dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${SALES}/inquiries/3/answer`)).toHaveLength(0);
  expect(fake.calls.showToast[0].title).toBe('请输入回复内容');
  p.instance.onDraft({ currentTarget: { dataset: { id: 3 } }, detail: { value: ' 可以做，单价 320 元，交期 15 天 ' } });
  p.querySelectorAll('.answer-btn')[0].dispatchEvent('tap');
  p.querySelectorAll('.answer-btn')[0].dispatchEvent('tap');
  await flush();
  const sent = fake.sent('POST', `${SALES}/inquiries/3/answer`);
  expect(sent).toHaveLength(1);
  expect(sent[0].data).toEqual({ answer: '可以做，单价 320 元，交期 15 天' });
  expect(p.querySelectorAll('.inquiry')).toHaveLength(1);
  expect(fake.calls.showToast.pop().title).toBe('已回复客户');
});

test('on 全部, an answered inquiry shows the answer and who gave it', async () => {
  fake.route('GET', `${SALES}/inquiries`, {
    data: page([inquiry({ ...HANDLED, answer: '已报价', answered_by: '李业务', answered_at: '2026-12-02T09:00:00+08:00' })]),
  });
  const p = await open();
  p.querySelector('.tab-all').dispatchEvent('tap');
  await flush();
  expect(p.querySelector('.answer').dom.textContent).toContain('回复：已报价');
  expect(p.querySelector('.answer').dom.textContent).toContain('李业务');
  expect(p.querySelector('.reply')).toBeUndefined();
});
