// 定制 tab (C1, C2, C11)
const { API, flush } = require('../helpers/fake-wx');

let fake;
let simulate;
let openPage;

beforeEach(() => {
  jest.resetModules();
  const sim = require('../helpers/sim');
  ({ fake, simulate } = sim.setup());
  ({ openPage } = sim);
  require('../../config').setBaseUrl('http://api.test');
});

test('C2: asks for the custom products only; none granted → the way to ask the salesperson', async () => {
  fake.route('GET', `${API}/products`, { data: { page: 1, page_size: 20, total: 0, items: [] } });
  fake.route('GET', `${API}/salesperson`, { data: { name: '李业务', phone: null, wechat: null } });
  const page = await openPage(simulate, 'pages/custom/index');
  await flush();
  expect(fake.requests[0].query).toEqual({ kind: 'custom', page: '1' });
  expect(page.dom.innerHTML).toContain('暂无定制品，可联系业务员定制');
  expect(page.querySelectorAll('.kind-tab')).toHaveLength(0);
  page.querySelector('#contact').dispatchEvent('tap');
  await flush();
  const sheet = page.querySelector('#contact-sheet');
  expect(sheet.dom.innerHTML).toContain('李业务');
  expect(sheet.querySelector('.call')).toBeUndefined();
  sheet.querySelector('.inquiry').dispatchEvent('tap');
  await flush();
  expect(fake.calls.navigateTo[0].url).toBe('/packageMe/inquiry/index');
});
