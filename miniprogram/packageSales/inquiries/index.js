// 待跟进询价 (A6, C11): my customers' custom-product inquiries; 标记已跟进 once I followed one up.
// (The API has no answer to send back yet: the salesperson answers the customer by phone or WeChat.)
const salesInquiries = require('../../services/salesInquiries');
const { withStates, goLogin, loadPaged, loadMore, dateTime } = require('../common');

const TABS = [
  { status: 'open', label: '待跟进' },
  { status: 'handled', label: '已跟进' },
  { status: '', label: '全部' },
];

const row = (i) => ({ ...i, createdText: dateTime(i.created_at), handledText: dateTime(i.handled_at) });

Page({
  data: { loading: true, error: '', needLogin: false, tabs: TABS, status: 'open', items: [], total: 0, page: 1, more: false },

  onLoad() {
    return this.load(1);
  },

  load(page = 1) {
    return withStates(this, async () => {
      await loadPaged(this, page, (n) => salesInquiries.listInquiries({ status: this.data.status, page: n }, { toast: false }), row);
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

  async onHandle(e) {
    const id = Number(e.currentTarget.dataset.id);
    try {
      const done = await salesInquiries.handleInquiry(id);
      // on the 待跟进 tab a handled one leaves the list; elsewhere it shows its new status
      const items =
        this.data.status === 'open'
          ? this.data.items.filter((i) => i.id !== id)
          : this.data.items.map((i) => (i.id === id ? row(done) : i));
      this.setData({ items, total: this.data.status === 'open' ? this.data.total - 1 : this.data.total });
      wx.showToast({ title: '已标记为已跟进', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper
    }
  },

  onCustomer(e) {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${e.currentTarget.dataset.id}` });
  },

  onLogin: goLogin,
});
