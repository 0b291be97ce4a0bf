// 我的客户 (A6): searched by name, contact, phone or code; 类型一 / 类型二 as the API labels them.
const salesCustomers = require('../../services/salesCustomers');
const { withStates, goLogin } = require('../common');

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
      const answer = await salesCustomers.listCustomers({ q: this.data.q.trim(), page }, { toast: false });
      const items = page === 1 ? answer.items : this.data.items.concat(answer.items);
      this.loaded = true;
      this.setData({ items, total: answer.total, page, more: items.length < answer.total });
    });
  },

  onInput(e) {
    this.setData({ q: e.detail.value });
  },

  onSearch() {
    return this.load(1);
  },

  onReachBottom() {
    if (this.data.more && !this.data.loading) return this.load(this.data.page + 1);
    return undefined;
  },

  onOpen(e) {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${e.currentTarget.dataset.id}` });
  },

  onNew() {
    wx.navigateTo({ url: '/packageSales/customer-new/index' });
  },

  onLogin: goLogin,
});
