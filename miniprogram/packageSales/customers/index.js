// 我的客户 (A6): searched by name, contact, phone or code; 类型一 / 类型二 as the API labels them.
const salesCustomers = require('../../services/salesCustomers');
const { withStates, goLogin, loadPaged, loadMore } = require('../common');

Page({
  data: { loading: true, error: '', needLogin: false, q: '', items: [], total: 0, page: 1, more: false },

  onLoad() {
    return this.load(1);
  },

  onShow() {
    // back from a new customer: the list shows it
    if (this.loaded) return this.load(1);
    return undefined;
  },

  load(page = 1) {
    return withStates(this, async () => {
      await loadPaged(this, page, (n) => salesCustomers.listCustomers({ q: this.data.q.trim(), page: n }, { toast: false }));
      this.loaded = true;
    });
  },

  onInput(e) {
    this.setData({ q: e.detail.value });
  },

  onSearch() {
    return this.load(1);
  },

  onReachBottom() {
    return loadMore(this);
  },

  onOpen(e) {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${e.currentTarget.dataset.id}` });
  },

  onNew() {
    wx.navigateTo({ url: '/packageSales/customer-new/index' });
  },

  onLogin: goLogin,
});
