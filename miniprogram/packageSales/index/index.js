// 业务员工作台 (A6, A7): who is signed in, what waits for me, and the way to each tool.
const sales = require('../../services/salesClient');
const salesOrders = require('../../services/salesOrders');
const salesInquiries = require('../../services/salesInquiries');
const { withStates, goLogin } = require('../common');

const ENTRIES = [
  { key: 'awaiting', label: '待确认收款', url: '/packageSales/orders/index?awaiting=1' },
  { key: 'orders', label: '我的订单', url: '/packageSales/orders/index' },
  { key: 'customers', label: '我的客户', url: '/packageSales/customers/index' },
  { key: 'inquiries', label: '待跟进询价', url: '/packageSales/inquiries/index' },
  { key: 'newCustomer', label: '新建客户（定制品）', url: '/packageSales/customer-new/index' },
];

Page({
  data: { loading: true, error: '', needLogin: false, user: null, awaiting: 0, openInquiries: 0, entries: ENTRIES },

  onShow() {
    return this.load();
  },

  load() {
    return withStates(this, async () => {
      const user = await sales.me({ toast: false });
      const [orders, inquiries] = await Promise.all([
        salesOrders.listOrders({ awaitingPayment: true }, { toast: false }),
        salesInquiries.listInquiries({ status: 'open' }, { toast: false }),
      ]);
      this.setData({ user, awaiting: orders.total, openInquiries: inquiries.total });
    });
  },

  onOpen(e) {
    wx.navigateTo({ url: e.currentTarget.dataset.url });
  },

  onLogin: goLogin,

  async onLogout() {
    await sales.logout().catch(() => {});
    this.setData({ user: null, needLogin: true });
  },
});
