// 我的订单 (A6): my customers' orders by status, or (awaiting=1) the ones waiting for my payment
// confirmation, or one customer's (customer_id). A row opens the order, where it is confirmed.
const salesOrders = require('../../services/salesOrders');
const { STATUS_TABS } = require('../../services/orders');
const { withStates, goLogin, loadPaged, loadMore, orderRow } = require('../common');

Page({
  data: {
    loading: true, error: '', needLogin: false, tabs: STATUS_TABS, status: '', awaiting: false,
    customerId: null, customerName: '', items: [], total: 0, page: 1, more: false,
  },

  onLoad(query = {}) {
    const awaiting = query.awaiting === '1';
    this.setData({
      awaiting,
      customerId: query.customer_id ? Number(query.customer_id) : null,
      customerName: decodeURIComponent(query.customer_name || ''),
    });
    wx.setNavigationBarTitle({ title: awaiting ? '待确认收款' : '我的订单' });
    return this.load(1);
  },

  onShow() {
    // back from an order confirmed or cancelled: the list is fresh
    if (this.loaded) return this.load(1);
    return undefined;
  },

  load(page = 1) {
    return withStates(this, async () => {
      const { status, awaiting, customerId } = this.data;
      const fetch = (n) =>
        salesOrders.listOrders(
          { status: awaiting ? undefined : status, awaitingPayment: awaiting, customerId, page: n },
          { toast: false }
        );
      await loadPaged(this, page, fetch, orderRow);
      this.loaded = true;
    });
  },

  onTab(e) {
    this.setData({ status: e.currentTarget.dataset.status });
    return this.load(1);
  },

  onRetry() {
    return this.load(1);
  },

  onReachBottom() {
    return loadMore(this);
  },

  onPullDownRefresh() {
    return this.load(1).then(() => wx.stopPullDownRefresh());
  },

  onOpen(e) {
    wx.navigateTo({ url: `/packageSales/order/index?order_no=${encodeURIComponent(e.currentTarget.dataset.no)}` });
  },

  onLogin: goLogin,
});
