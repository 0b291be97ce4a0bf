// 我的询价: the customer's own inquiries, newest first, with the salesperson's answer once there is
// one (C11, C16); paging at the bottom.
const inquiries = require('../../services/inquiries');
const format = require('../../utils/format');
const { PAGING_DATA, pagingMethods } = require('../../utils/paging');

Page({
  data: { ...PAGING_DATA },
  ...pagingMethods,

  onShow() {
    return this.reload();
  },

  fetchPage(page) {
    return inquiries.listMyInquiries({ page }, { toast: false });
  },

  viewItem(i) {
    return { ...i, date: format.dateTime(i.created_at), answeredDate: format.dateTime(i.answered_at) };
  },

  onRetry() {
    return this.data.page ? this.loadPage(this.data.page + 1) : this.reload();
  },

  onNew() {
    wx.navigateTo({ url: '/packageMe/inquiry/index' });
  },
});
