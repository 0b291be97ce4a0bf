// The salesperson's contact (C3): name, tap-to-call, WeChat / WeCom id to copy, and an inquiry (C11).
Component({
  properties: {
    show: { type: Boolean, value: false },
    loading: { type: Boolean, value: false },
    contact: { type: Object, value: null },
  },
  methods: {
    onCall() {
      wx.makePhoneCall({ phoneNumber: this.data.contact.phone });
    },
    onCopyWechat() {
      wx.setClipboardData({ data: this.data.contact.wechat });
    },
    onInquiry() {
      this.triggerEvent('close');
      wx.navigateTo({ url: '/packageMe/inquiry/index' });
    },
    onClose() {
      this.triggerEvent('close');
    },
  },
});
