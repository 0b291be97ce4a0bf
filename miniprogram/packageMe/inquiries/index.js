// 我的询价: the customer's own inquiries, newest first, with the salesperson's answer once there is
// one (C11, C16); paging at the bottom.
const inquiries = require('../../services/inquiries');
const format = require('../../utils/format');

function view(i) {
  return { ...i, date: format.dateTime(i.created_at), answeredDate: format.dateTime(i.answered_at) };
}

Page({
  data: { items: [], page: 0, total: 0, loading: false, error: '', finished: false },

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
      const answer = await inquiries.listMyInquiries({ page }, { toast: false });
      const items = (page === 1 ? [] : this.data.items).concat(answer.items.map(view));
      this.setData({ items, page, total: answer.total, loading: false, finished: items.length >= answer.total || !answer.items.length });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.data.page ? this.loadPage(this.data.page + 1) : this.reload();
  },

  onNew() {
    wx.navigateTo({ url: '/packageMe/inquiry/index' });
  },
});
