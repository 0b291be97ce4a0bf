// 收货地址 and its form (C13): list, select for the order confirmation, add, edit, default, delete
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

const address = (id, over = {}) => ({ id, recipient: `收货人${id}`, phone: '13800000000', province: '江苏省', city: '苏州市', district: '吴中区', detail: `工业园 ${id} 号`, is_default: false, ...over });

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

async function openList(query = {}) {
  const page = await openPage(simulate, 'packageMe/addresses/index', query);
  await page.instance.onShow();
  await flush();
  return page;
}

test('C13: the list with the default marked; tapping one opens its form', async () => {
  fake.route('GET', `${API}/addresses`, { data: [address(1, { is_default: true }), address(2)] });
  const page = await openList();
  const html = page.dom.innerHTML;
  ['收货人1 13800000000', '江苏省苏州市吴中区工业园 1 号', '默认', '设为默认'].forEach((t) => expect(html).toContain(t));
  page.querySelectorAll('.body')[1].dispatchEvent('tap');
  page.querySelector('#add').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo.map((c) => c.url)).toEqual(['/packageMe/address-edit/index?id=2', '/packageMe/address-edit/index']);
  expect(fake.storage['jht.selectedAddress']).toBeUndefined();
});

test('C13: ?select=1 → tapping an address writes jht.selectedAddress and goes back', async () => {
  fake.route('GET', `${API}/addresses`, { data: [address(1, { is_default: true }), address(2)] });
  const page = await openList({ select: '1' });
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('选择收货地址');
  expect(page.querySelector('.delete')).toBeUndefined();
  page.querySelectorAll('.body')[1].dispatchEvent('tap');
  await flush();
  expect(fake.storage['jht.selectedAddress']).toEqual(address(2));
  expect(fake.count('navigateBack')).toBe(1);
  expect(fake.count('navigateTo')).toBe(0);
});

test('C13: 设为默认 sends the whole address with is_default, then the list again', async () => {
  let list = [address(1, { is_default: true }), address(2)];
  fake.route('GET', `${API}/addresses`, () => ({ data: list }));
  fake.route('PUT', `${API}/addresses/2`, (req) => {
    list = [address(2, { is_default: true }), address(1)];
    return { data: { id: 2, ...req.data } };
  });
  const page = await openList();
  page.querySelectorAll('.set-default')[1].dispatchEvent('tap');
  await flush();
  const [put] = fake.sent('PUT', `${API}/addresses/2`);
  expect(put.data).toEqual({ recipient: '收货人2', phone: '13800000000', province: '江苏省', city: '苏州市', district: '吴中区', detail: '工业园 2 号', is_default: true });
  expect(fake.sent('GET', `${API}/addresses`)).toHaveLength(2);
  expect(page.instance.data.items[0].id).toBe(2);
});

test('C13: delete asks first; declined sends nothing, confirmed → DELETE and the empty state', async () => {
  let list = [address(1)];
  fake.route('GET', `${API}/addresses`, () => ({ data: list }));
  fake.route('DELETE', `${API}/addresses/1`, () => {
    list = [];
    return { data: { deleted: 1 } };
  });
  const page = await openList();
  fake.answers.showModal = { confirm: false };
  page.querySelector('.delete').dispatchEvent('tap');
  await flush();
  expect(fake.calls.showModal[0].content).toContain('收货人1');
  expect(fake.sent('DELETE', `${API}/addresses/1`)).toHaveLength(0);
  fake.answers.showModal = { confirm: true };
  page.querySelector('.delete').dispatchEvent('tap');
  await flush();
  expect(fake.sent('DELETE', `${API}/addresses/1`)).toHaveLength(1);
  expect(page.dom.innerHTML).toContain('还没有收货地址');
});

test('addresses: loading, then an error with retry', async () => {
  fake.route('GET', `${API}/addresses`, () => fake.networkError());
  const page = await openPage(simulate, 'packageMe/addresses/index');
  const shown = page.instance.onShow();
  expect(page.dom.innerHTML).toContain('加载中');
  await shown;
  expect(page.dom.innerHTML).toContain('网络异常，请检查网络后重试');
  fake.route('GET', `${API}/addresses`, { data: [address(1)] });
  page.querySelector('#retry').dispatchEvent('tap');
  await flush();
  expect(page.dom.innerHTML).toContain('收货人1');
});

test('C13: a new address: the form fields and region picker → POST /addresses, then back', async () => {
  fake.route('POST', `${API}/addresses`, (req) => ({ data: { id: 5, ...req.data } }));
  const page = await openPage(simulate, 'packageMe/address-edit/index');
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('新增收货地址');
  page.instance.onInput({ currentTarget: { dataset: { field: 'recipient' } }, detail: { value: ' 王五 ' } });
  page.instance.onInput({ currentTarget: { dataset: { field: 'phone' } }, detail: { value: '13700000000' } });
  page.instance.onInput({ currentTarget: { dataset: { field: 'detail' } }, detail: { value: '人民路 8 号' } });
  page.instance.onRegionChange({ detail: { value: ['浙江省', '杭州市', '西湖区'] } });
  page.instance.onDefaultChange({ detail: { value: true } });
  expect(page.dom.innerHTML).toContain('浙江省 杭州市 西湖区');
  page.querySelector('#save').dispatchEvent('tap');
  await flush();
  expect(fake.sent('POST', `${API}/addresses`)[0].data).toEqual({ recipient: '王五', phone: '13700000000', province: '浙江省', city: '杭州市', district: '西湖区', detail: '人民路 8 号', is_default: true });
  expect(fake.calls.showToast[0].title).toBe('已保存');
  expect(fake.count('navigateBack')).toBe(1);
});

test('C13: editing loads the address; the API refusal is shown on the form in Chinese', async () => {
  fake.route('GET', `${API}/addresses`, { data: [address(1), address(2)] });
  fake.route('PUT', `${API}/addresses/2`, { statusCode: 422, data: { code: 'invalid_input', message: '收货人和详细地址不能为空' } });
  const page = await openPage(simulate, 'packageMe/address-edit/index', { id: '2' });
  await flush();
  expect(fake.calls.setNavigationBarTitle[0].title).toBe('编辑收货地址');
  expect(page.instance.data.form.recipient).toBe('收货人2');
  expect(page.instance.data.region).toEqual(['江苏省', '苏州市', '吴中区']);
  page.instance.onInput({ currentTarget: { dataset: { field: 'recipient' } }, detail: { value: '  ' } });
  page.querySelector('#save').dispatchEvent('tap');
  await flush();
  expect(fake.sent('PUT', `${API}/addresses/2`)[0].data.recipient).toBe('');
  expect(page.querySelector('.form-error').dom.textContent).toBe('收货人和详细地址不能为空');
  expect(fake.count('navigateBack')).toBe(0);
});

test('address form: an address that is gone shows the error state', async () => {
  fake.route('GET', `${API}/addresses`, { data: [address(1)] });
  const page = await openPage(simulate, 'packageMe/address-edit/index', { id: '9' });
  await flush();
  expect(page.dom.innerHTML).toContain('收货地址不存在');
});
