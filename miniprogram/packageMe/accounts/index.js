// 绑定账号: the phones and WeChat accounts bound to this customer, unbind one (C10). Whether one may
// be unbound is the server's rule (not the last one): its message is shown. Unbinding the account
// in use ends its sign-in, so the app starts again from home.
const meService = require('../../services/me');
const { tokens } = require('../../utils/request');
const { ask } = require('../../utils/dialog');

function view(a, currentId) {
  return {
    ...a,
    title: a.phone || '未绑定手机号',
    sub: [a.nickname, a.wechat_bound ? '微信已绑定' : '未绑定微信'].filter(Boolean).join(' · '),
    current: a.id === currentId,
  };
}

Page({
  data: { loading: true, error: '', items: [], busy: false },

  // "分享小程序给同事": a colleague opens the shop, signs in and binds the phone a salesperson
  // registered on this customer, and joins it (the server's rule, scenario 2 of the phone join).
  onShareAppMessage() {
    return { title: '锦亨泰商城：绑定手机号即可为本公司下单', path: '/pages/home/index' };
  },

  onLoad() {
    return this.load();
  },

  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const me = await meService.getMe({ toast: false });
      this.currentId = me.account.id;
      this.setData({ loading: false, items: me.accounts.map((a) => view(a, me.account.id)) });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load();
  },

  async onUnbind(e) {
    const id = Number(e.currentTarget.dataset.id);
    const account = this.data.items.find((a) => a.id === id);
    if (!account || this.data.busy) return;
    const content = account.current ? '解绑当前账号后将退出登录，确定解绑吗？' : `确定解绑 ${account.title} 吗？`;
    if (await ask({ title: '解绑账号', content })) await this.unbind(account);
  },

  async unbind(account) {
    this.setData({ busy: true });
    try {
      await meService.unbindAccount(account.id); // a refusal (the last account) is shown by utils/request
    } catch (err) {
      this.setData({ busy: false });
      return;
    }
    this.setData({ busy: false });
    wx.showToast({ title: '已解绑', icon: 'success' });
    if (account.current) {
      tokens.clear();
      wx.reLaunch({ url: '/pages/home/index' });
      return;
    }
    await this.load();
  },
});
