// 我的订单: status tabs (全部 / 等待处理 / 生产中 / 等待发货 / 已发货 / 已完成 / 已取消) and paging (C6, C13).
const orders = require('../../services/orders');
const format = require('../../utils/format');
const { PAGING_DATA, pagingMethods } = require('../../utils/paging');

Page({
  data: { ...PAGING_DATA, tabs: orders.STATUS_TABS, status: '' },
  ...pagingMethods,

  onShow() {
    return this.reload();
  },

  fetchPage(page) {
    return orders.listOrders({ status: this.data.status, page }, { toast: false });
  },

  viewItem(o) {
    return { ...o, amount: format.money(o.total_amount), date: format.dateTime(o.created_at) };
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
