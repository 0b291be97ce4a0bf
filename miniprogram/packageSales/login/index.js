// 员工登录: WeChat first (the account bound earlier); when not bound, username + password, then
// this WeChat account is bound so the next login needs no password.
const sales = require('../../services/salesClient');

const HOME = '/packageSales/index/index';

Page({
  data: { busy: false, showPassword: false, notice: '', error: '', username: '', password: '' },

  onInput(e) {
    this.setData({ [e.currentTarget.dataset.field]: e.detail.value, error: '' });
  },

  async onWechatLogin() {
    if (this.data.busy) return;
    this.setData({ busy: true, error: '' });
    try {
      await sales.wechatLogin();
      wx.redirectTo({ url: HOME });
    } catch (err) {
      if (err.code === sales.NOT_BOUND) this.setData({ showPassword: true, notice: err.message });
      else this.setData({ error: err.message });
    } finally {
      this.setData({ busy: false });
    }
  },

  async onPasswordLogin() {
    const username = this.data.username.trim();
    const { password } = this.data;
    if (!username || !password) {
      this.setData({ error: '请输入用户名和密码' });
      return;
    }
    if (this.data.busy) return;
    this.setData({ busy: true, error: '' });
    try {
      await sales.passwordLogin(username, password);
    } catch (err) {
      this.setData({ busy: false, error: err.message });
      return;
    }
    try {
      await sales.bindWechat();
      wx.showToast({ title: '已绑定本微信，下次可微信登录', icon: 'none' });
    } catch (err) {
      wx.showToast({ title: `已登录，微信绑定失败：${err.message}`, icon: 'none', duration: 3000 });
    }
    this.setData({ busy: false, password: '' });
    wx.redirectTo({ url: HOME });
  },
});
