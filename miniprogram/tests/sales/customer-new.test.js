// packageSales/customer-new: a salesperson creates a customer (A7, scenario 2).
const { flush } = require('../helpers/fake-wx');
const { SALES, setupSales, customerDetail, failure } = require('./helpers');

let simulate;
let fake;
let p;

beforeEach(async () => {
  jest.resetModules();
  ({ simulate, fake } = setupSales());
  p = await require('../helpers/sim').openPage(simulate, 'packageSales/customer-new/index');
});

function type(selector, value) {
  p.querySelector(selector).dispatchEvent('input', { detail: { value } });
}

async function tap(selector) {
  p.querySelector(selector).dispatchEvent('tap');
  await flush();
}

test('A7: creates the customer with name, type, phone and contact, then offers its custom product', async () => {
  fake.route('POST', `${SALES}/customers`, (req) => ({ data: customerDetail({ id: 21, name: req.data.name, type: req.data.type, type_label: '类型一', phone: req.data.phone }) }));
  type('.name', ' 新锐磨具 ');
  await tap('.type-1');
  type('.phone', '13900000001');
  type('.contact', '赵经理');
  await tap('.submit');
  expect(fake.sent('POST', `${SALES}/customers`)[0].data).toEqual({ name: '新锐磨具', type: 1, phone: '13900000001', contact_name: '赵经理' });
  expect(p.querySelector('.created-name').dom.textContent).toBe('新锐磨具（类型一）');
  expect(p.querySelector('.done').dom.textContent).toContain('13900000001');
  await tap('.next-product');
  expect(fake.calls.redirectTo[0].url).toBe(`/packageSales/product-new/index?customer_id=21&customer_name=${encodeURIComponent('新锐磨具')}`);
});

test('the type defaults to 类型二 and empty optional fields are left out', async () => {
  fake.route('POST', `${SALES}/customers`, { data: customerDetail({ id: 22, phone: null }) });
  type('.name', '个人客户');
  await tap('.submit');
  expect(fake.sent('POST', `${SALES}/customers`)[0].data).toEqual({ name: '个人客户', type: 2 });
  expect(p.querySelector('.done').dom.textContent).toContain('未填写手机号');
});

test('a name is needed before anything is sent', async () => {
  await tap('.submit');
  expect(p.querySelector('.form-error').dom.textContent).toBe('请输入客户名称');
  expect(fake.sent('POST', `${SALES}/customers`)).toHaveLength(0);
});

test('a refusal (phone already registered) is shown on the form, which stays', async () => {
  fake.route('POST', `${SALES}/customers`, failure(409, 'conflict', '该手机号已登记在其他客户名下'));
  type('.name', '新锐磨具');
  type('.phone', '13900000001');
  await tap('.submit');
  expect(p.querySelector('.form-error').dom.textContent).toBe('该手机号已登记在其他客户名下');
  expect(p.querySelector('.submit')).toBeTruthy();
});
