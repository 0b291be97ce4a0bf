// 我的订单: status tabs (全部 / 等待处理 / 生产中 / 等待发货 / 已发货 / 已完成 / 已取消) and paging (C6, C13).
const orders = require('../../services/orders');
const format = require('../../utils/format');

function view(o) {
  return { ...o, amount: format.money(o.total_amount), date: format.dateTime(o.created_at) };
}

Page({
  data: { tabs: orders.STATUS_TABS, status: '', items: [], page: 0, total: 0, loading: false, error: '', finished: false },

  onShow() {
    return this.reload();
  },

  onPullDownRefresh() {
    return this.reload().finally(() => wx.stopPullDownRefresh());
  },

  onReachBottom() {
    if (this.data.finished || this.data.loading) return Promise.resolve();
    return this.loadPage(this.data.page + 1);
  },

  reload() {
    this.setData({ items: [], page: 0, total: 0, finished: false });
    return this.loadPage(1);
  },

  async loadPage(page) {
    this.setData({ loading: true, error: '' });
    try {
      const answer = await orders.listOrders({ status: this.data.status, page }, { toast: false });
      const items = (page === 1 ? [] : this.data.items).concat(answer.items.map(view));
      this.setData({ items, page, total: answer.total, loading: false, finished: items.length >= answer.total || !answer.items.length });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onTabTap(e) {
    this.setData({ status: e.currentTarget.dataset.status });
    return this.reload();
  },

  onOrderTap(e) {
    wx.navigateTo({ url: `/packageOrder/detail/index?order_no=${encodeURIComponent(e.currentTarget.dataset.no)}` });
  },

  onRetry() {
    return this.reload();
  },
});
