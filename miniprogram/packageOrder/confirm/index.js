// 确认订单: lines, delivery address, remark → 提交订单, no payment (C5). One Idempotency-Key per
// confirmation, kept across retries and double taps, so the server makes one order at most;
// the order's notices (shipment, status, cancelled) are asked for (wx.requestSubscribeMessage) on
// the submit tap itself (C12).
const addresses = require('../../services/addresses');
const orders = require('../../services/orders');
const cart = require('../../utils/cart');
const config = require('../../config');
const format = require('../../utils/format');
const { newIdempotencyKey } = require('../../utils/request');

const SELECTED_ADDRESS_KEY = 'jht.selectedAddress';

Page({
  data: {
    lines: [],
    address: null,
    remark: '',
    loading: true,
    error: '',
    submitting: false,
  },

  onLoad() {
    const { lines, fromCart } = cart.checkout();
    this.fromCart = fromCart;
    this.idempotencyKey = newIdempotencyKey();
    this.setData({
      lines: lines.map((l) => ({ ...l, priceText: l.price ? format.money(l.price) : '价格请咨询业务员' })),
    });
    return this.loadAddress();
  },

  onShow() {
    // back from the address list with one picked
    const picked = wx.getStorageSync(SELECTED_ADDRESS_KEY);
    if (picked) {
      wx.removeStorageSync(SELECTED_ADDRESS_KEY);
      this.setData({ address: picked });
    }
  },

  async loadAddress() {
    this.setData({ loading: true, error: '' });
    try {
      const list = await addresses.listAddresses({ toast: false });
      const address = list.find((a) => a.is_default) || list[0] || null;
      this.setData({ loading: false, address: this.data.address || address });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onPickAddress() {
    wx.navigateTo({ url: '/packageMe/addresses/index?select=1' });
  },

  onRemarkInput(e) {
    this.setData({ remark: e.detail.value });
  },

  onSubmit() {
    if (this.data.submitting) return Promise.resolve(); // a double tap
    if (!this.data.address) {
      wx.showToast({ title: '请选择收货地址', icon: 'none' });
      return Promise.resolve();
    }
    // must run in the tap itself, before anything asynchronous
    const tmplIds = config.orderTemplateIds();
    if (tmplIds.length) {
      wx.requestSubscribeMessage({ tmplIds });
    }
    return this.submit();
  },

  async submit() {
    this.setData({ submitting: true });
    try {
      const placed = await orders.placeOrder(
        { lines: cart.orderLines(this.data.lines), addressId: this.data.address.id, remark: this.data.remark.trim() },
        this.idempotencyKey,
      );
      if (this.fromCart) cart.remove(this.data.lines.map((l) => l.key));
      cart.clearCheckout();
      wx.redirectTo({ url: `/packageOrder/detail/index?order_no=${encodeURIComponent(placed.order_no)}&placed=1` });
    } catch (err) {
      // the error was shown by utils/request; the same key goes with the next tap
      this.setData({ submitting: false });
    }
  },
});
