// 绑定账号 (C10), 留言询价 (C11), 我的询价 with the answers (C16)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const accounts = [
  { id: 11, phone: '13800000000', wechat_bound: true, nickname: '张三' },
  { id: 12, phone: '13700000000', wechat_bound: false, nickname: null },
];
const me = (list = accounts) => ({
  customer: { id: 7, name: '苏州精工', type: 1, type_label: '类型一' },
  account: { id: 11, phone: '13800000000', nickname: '张三' },
  accounts: list,
  salesperson: null,
});
const inquiry = (id, over = {}) => ({
  id, body: `询价 ${id}：400×40×127 砂轮`, status: 'open', status_label: '待跟进', created_at: '2024-05-01T08:00:00+00:00',
  answer: null, answered_by: null, answered_at: null, ...over,
});

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('C10: the bound accounts, this one marked; unbinding another asks, DELETEs and reloads', async () => {
  let list = accounts;
  fake.route('GET', `${API}/me`, () => ({ data: me(list) }));
  fake.route('DELETE', `${API}/me/accounts/12`, () => {
    list = [accounts[0]];
    return { data: { unbound: 12 } };
  });
  const page = await openPage(simulate, 'packageMe/accounts/index');
  await flush();
  const html = page.dom.innerHTML;
  ['13800000000', '张三 · 微信已绑定', '当前账号', '13700000000', '未绑定微信'].forEach((t) => expect(html).toContain(t));
  fake.answers.showModal = { confirm: false };
  page.querySelectorAll('.unbind')[1].dispatchEvent('tap');
  await flush();
  expect(fake.sent('DELETE', `${API}/me/accounts/12`)).toHaveLength(0);
  fake.answers.showModal = { confirm: true };
  page.querySelectorAll('.unbind')[1].dispatchEvent('tap');
  await flush();
  expect(fake.calls.showModal[1].content).toBe('确定解绑 13700000000 吗？');
  expect(fake.sent('DELETE', `${API}/me/accounts/12`)).toHaveLength(1);
  expect(page.dom.innerHTML).not.toContain('13700000000');
  expect(fake.storage['jht.mp.tokens']).toBeTruthy();
});

test('C10: binding another phone or WeChat: how a colleague joins, and a share of the shop', async () => {
  fake.route('GET', `${API}/me`, { data: me() });
  const page = await openPage(simulate, 'packageMe/accounts/index');
  await flush();
  expect(page.querySelector('.more').dom.textContent).toContain('绑定已在业务员处登记的手机号，即可加入本客户');
  expect(page.querySelector('#share').dom.textContent).toBe('分享小程序给同事');
  // the simulator renders no attributes: the button's open-type is read from the page's WXML
  const wxml = require('fs').readFileSync(require('path').join(__dirname, '../../packageMe/accounts/index.wxml'), 'utf8');
  expect(wxml).toMatch(/id="share"[^>]*open-type="share"/);
  expect(page.instance.onShareAppMessage()).toEqual({ title: '锦亨泰商城：绑定手机号即可为本公司下单', path: '/pages/home/index' });
});

test('C10: the last account cannot be unbound: the API message is shown, the list stays', async () => {
  fake.route('GET', `${API}/me`, { data: me([accounts[0]]) });
  fake.route('DELETE', `${API}/me/accounts/11`, { statusCode: 409, data: { code: 'conflict', message: '至少需要保留一个绑定账号' } });
  const page = await openPage(simulate, 'packageMe/accounts/index');
  await flush();
  page.querySelector('.unbind').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showModal[0].content).toBe('解绑当前账号后将退出登录，确定解绑吗？');
  expect(fake.calls.showToast.pop().title).toBe('至少需要保留一个绑定账号');
  expect(fake.count('reLaunch')).toBe(0);
  expect(page.dom.innerHTML).toContain('13800000000');
});

test('C10: unbinding the account in use signs out and starts again from home', async () => {
  fake.route('GET', `${API}/me`, { data: me() });
  fake.route('DELETE', `${API}/me/accounts/11`, { data: { unbound: 11 } });
  const page = await openPage(simulate, 'packageMe/accounts/index');
  await flush();
  page.querySelectorAll('.unbind')[0].dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.mp.tokens']).toBeUndefined();
  expect(fake.calls.reLaunch[0].url).toBe('/pages/home/index');
});

test('accounts: the error state with a retry, then the empty state', async () => {
  fake.route('GET', `${API}/me`, { statusCode: 503, data: { code: 'down', message: '服务暂时不可用，请稍后再试' } });
  const page = await openPage(simulate, 'packageMe/accounts/index');
  expect(page.dom.innerHTML).toContain('服务暂时不可用，请稍后再试');
  fake.route('GET', `${API}/me`, { data: me([]) });
  page.querySelector('#retry').dispatchEvent('tap');
  await flush();
  expect(page.dom.innerHTML).toContain('暂无绑定账号');
});

test('C11: the inquiry form: empty is refused; the text goes to POST /inquiries, then my inquiries', async () => {
  fake.route('POST', `${API}/inquiries`, { data: { id: 3, status: 'open', created_at: '2024-05-01T08:00:00+00:00' } });
  const page = await openPage(simulate, 'packageMe/inquiry/index');
  page.instance.onInput({ detail: { value: '   ' } });
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/inquiries`)).toHaveLength(0);
  expect(page.dom.innerHTML).toContain('请填写询价内容');
  page.instance.onInput({ detail: { value: ' 需要 500×50×203 的平形砂轮 ' } });
  page.querySelector('#submit').dispatchEvent('tap');
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/inquiries`)).toHaveLength(1);
  expect(fake.sent('POST', `${API}/inquiries`)[0].data).toEqual({ body: '需要 500×50×203 的平形砂轮' });
  expect(fake.calls.showToast[0].title).toBe('已提交，业务员会尽快回复');
  expect(fake.calls.redirectTo[0].url).toBe('/packageMe/inquiries/index');
});

test('C11: a refused inquiry shows the API message and keeps the text', async () => {
  fake.route('POST', `${API}/inquiries`, { statusCode: 429, data: { code: 'rate_limited', message: '提交太频繁，请稍后再试' } });
  const page = await openPage(simulate, 'packageMe/inquiry/index');
  page.instance.onInput({ detail: { value: '砂轮' } });
  page.querySelector('#submit').dispatchEvent('tap');
  await flush();
  expect(page.dom.innerHTML).toContain('提交太频繁，请稍后再试');
  expect(page.instance.data.body).toBe('砂轮');
  expect(fake.count('redirectTo')).toBe(0);
  page.querySelector('#mine').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageMe/inquiries/index');
});

test('C16: my inquiries with the salesperson answer when there is one; paging', async () => {
  fake.route('GET', `${API}/inquiries`, (req) => ({
    data: {
      page: Number(req.query.page),
      page_size: 1,
      total: 2,
      items: [
        req.query.page === '1'
          ? inquiry(2, { status: 'handled', status_label: '已处理', answer: '可以做，报价 ¥120.00 一片', answered_by: '李业务', answered_at: '2024-05-02T08:00:00+00:00' })
          : inquiry(1),
      ],
    },
  }));
  const page = await openPage(simulate, 'packageMe/inquiries/index');
  await page.instance.onShow();
  await flush();
  expect(fake.requests[0].query).toEqual({ page: '1' });
  let html = page.dom.innerHTML;
  ['询价 2：400×40×127 砂轮', '已处理', '李业务 回复', '可以做，报价 ¥120.00 一片'].forEach((t) => expect(html).toContain(t));
  expect(html).not.toContain('等待业务员回复');
  await page.instance.onReachBottom();
  await flush();
  expect(fake.requests[1].query).toEqual({ page: '2' });
  html = page.dom.innerHTML;
  expect(html).toContain('询价 1');
  expect(html).toContain('等待业务员回复');
  expect(html).toContain('没有更多了');
  await page.instance.onReachBottom();
  expect(fake.sent('GET', `${API}/inquiries`)).toHaveLength(2);
});

test('C16: my inquiries: empty and error states; 我要询价 opens the form', async () => {
  fake.route('GET', `${API}/inquiries`, { data: { page: 1, page_size: 20, total: 0, items: [] } });
  const page = await openPage(simulate, 'packageMe/inquiries/index');
  await page.instance.onShow();
  expect(page.dom.innerHTML).toContain('还没有询价记录');
  fake.route('GET', `${API}/inquiries`, () => fake.networkError());
  await page.instance.onShow();
  expect(page.dom.innerHTML).toContain('网络异常，请检查网络后重试');
  page.querySelector('#new').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageMe/inquiry/index');
});


test('scenario 2: leaving an inquiry asks for the "custom product ready" notice when its template is set', async () => {
  const config = require('../../config');
  config.TEMPLATE_IDS.ready = 'tmpl-ready';
  fake.route('POST', `${API}/inquiries`, { data: { id: 4, status: 'open', created_at: '2024-05-01T08:00:00+00:00' } });
  const page = await openPage(simulate, 'packageMe/inquiry/index');
  page.instance.onInput({ detail: { value: '要 350×40×127 的' } });
  page.querySelector('#submit').dispatchEvent('tap');
  await flush(1);
  expect(fake.calls.requestSubscribeMessage).toEqual([expect.objectContaining({ tmplIds: ['tmpl-ready'] })]);
  config.TEMPLATE_IDS.ready = '';
  await flush();
});
