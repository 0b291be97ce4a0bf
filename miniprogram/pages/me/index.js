// 我的: the customer (name, type), this account's phone (bind it with the WeChat phone button, the
// code-based API), 联系业务员 (C3), links to addresses (C13), bound accounts (C10), inquiries
// (C11, C16), and logout.
const meService = require('../../services/me');
const auth = require('../../utils/auth');
const { ask } = require('../../utils/dialog');

const LINKS = [
  { id: 'addresses', label: '收货地址', url: '/packageMe/addresses/index' },
  { id: 'accounts', label: '绑定账号', url: '/packageMe/accounts/index' },
  { id: 'inquiry', label: '留言询价', url: '/packageMe/inquiry/index' },
  { id: 'inquiries', label: '我的询价', url: '/packageMe/inquiries/index' },
  // salespeople open their workbench here (it signs them in with their staff account)
  { id: 'workbench', label: '业务员工作台', url: '/packageSales/index/index' },
];

Page({
  data: { loading: true, error: '', signedOut: false, me: null, links: LINKS, contactShow: false, binding: false },

  onShow() {
    if (!auth.isSignedIn() && this.data.signedOut) return Promise.resolve();
    return this.load();
  },

  onPullDownRefresh() {
    return this.load().finally(() => wx.stopPullDownRefresh());
  },

  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const me = await meService.getMe({ toast: false });
      this.setData({ loading: false, signedOut: false, me });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load();
  },

  onLinkTap(e) {
    wx.navigateTo({ url: e.currentTarget.dataset.url });
  },

  onContactTap() {
    this.setData({ contactShow: true });
  },

  onContactClose() {
    this.setData({ contactShow: false });
  },

  // <button open-type="getPhoneNumber" bindgetphonenumber>: detail.code when the user allowed it
  async onGetPhoneNumber(e) {
    const code = e && e.detail && e.detail.code;
    if (!code) {
      wx.showToast({ title: '未授权获取手机号', icon: 'none' });
      return;
    }
    if (this.data.binding) return;
    this.setData({ binding: true });
    try {
      const bound = await auth.bindPhone(code);
      const title = bound.joined_registered_customer ? `已关联到 ${bound.customer.name}` : '手机号已绑定';
      wx.showToast({ title, icon: 'none' });
      this.setData({ binding: false });
      await this.load();
    } catch (err) {
      this.setData({ binding: false }); // shown by utils/request
    }
  },

  async onLogout() {
    if (await ask({ content: '确定退出登录吗？' })) await this.logout();
  },

  async logout() {
    try {
      await auth.logout();
    } catch (err) {
      // shown by utils/request; the tokens on the phone are gone all the same
    }
    this.setData({ signedOut: true, me: null, error: '' });
    wx.showToast({ title: '已退出登录', icon: 'none' });
  },

  async onLogin() {
    this.setData({ loading: true, error: '' });
    try {
      await auth.login();
    } catch (err) {
      this.setData({ loading: false, error: err.message });
      return;
    }
    await this.load();
  },
});
