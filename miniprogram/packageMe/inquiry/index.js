// 留言询价: a custom-product inquiry for the salesperson (C11): what is needed, in the customer's
// words; then the customer's own inquiries.
const config = require('../../config');
const inquiries = require('../../services/inquiries');

Page({
  data: { body: '', sending: false, formError: '' },

  onInput(e) {
    this.setData({ body: e.detail.value, formError: '' });
  },

  async onSubmit() {
    if (this.data.sending) return; // a double tap
    const body = this.data.body.trim();
    if (!body) {
      this.setData({ formError: '请填写询价内容' });
      return;
    }
    // in the tap itself: "your custom product is ready" (scenario 2), if that template is set
    if (config.TEMPLATE_IDS.ready) {
      wx.requestSubscribeMessage({ tmplIds: [config.TEMPLATE_IDS.ready] });
    }
    this.setData({ sending: true, formError: '' });
    try {
      await inquiries.createInquiry(body, { toast: false });
      this.setData({ sending: false, body: '' });
      wx.showToast({ title: '已提交，业务员会尽快回复', icon: 'none' });
      wx.redirectTo({ url: '/packageMe/inquiries/index' });
    } catch (err) {
      this.setData({ sending: false, formError: err.message });
    }
  },

  onMine() {
    wx.navigateTo({ url: '/packageMe/inquiries/index' });
  },
});
