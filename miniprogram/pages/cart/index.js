// 购物车: lines kept on the phone; quantities, remove, 去结算 → the order confirmation (C5).
const cart = require('../../utils/cart');
const format = require('../../utils/format');

function view(lines) {
  return lines.map((l) => ({ ...l, priceText: l.price ? format.money(l.price) : '价格请咨询业务员' }));
}

Page({
  data: { lines: [], estimate: '' },

  onShow() {
    this.refresh(cart.list());
  },

  refresh(lines) {
    const priced = lines.every((l) => l.price);
    const sum = lines.reduce((acc, l) => acc + Number(l.price || 0) * l.quantity, 0);
    this.setData({ lines: view(lines), estimate: priced && lines.length ? format.money(sum) : '' });
  },

  onQuantityInput(e) {
    const n = parseInt(e.detail.value, 10);
    if (Number.isFinite(n) && n > 0) this.refresh(cart.setQuantity(e.currentTarget.dataset.key, n));
  },

  onRemove(e) {
    this.refresh(cart.remove([e.currentTarget.dataset.key]));
  },

  onCheckout() {
    if (!this.data.lines.length) return;
    cart.setCheckout(cart.list(), true);
    wx.navigateTo({ url: '/packageOrder/confirm/index' });
  },

  onBrowse() {
    wx.switchTab({ url: '/pages/home/index' });
  },
});
