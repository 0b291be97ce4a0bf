// 商品详情: the grinding-wheel spec, the customer's price, quantity → cart or order now (C1, C2, C4).
// Opened with ?id= (from a list), ?qr= (the in-app scanner), or ?q= / ?scene= when WeChat's own
// scanner opens the app from a packaging QR (扫普通链接二维码打开小程序): then spec and marking
// come prefilled from POST /scan.
const catalog = require('../../services/catalog');
const cart = require('../../utils/cart');
const format = require('../../utils/format');

function specRows(p, marking) {
  const rows = [
    ['形状', p.shape],
    ['尺寸 D×T×H (mm)', format.dimensions(p)],
    ['磨料', p.abrasive],
    ['粒度', p.grit],
    ['硬度', p.hardness],
    ['结合剂', p.bond],
    ['最高线速度', p.max_speed_ms ? `${Number(p.max_speed_ms)} m/s` : ''],
    ['标记', marking || p.marking],
  ];
  return rows.filter((r) => r[1]).map(([label, value]) => ({ label, value }));
}

// The packaging code in the page options, if opened from a scan.
function scannedPayload(options) {
  if (options.qr) return decodeURIComponent(options.qr);
  if (options.q) return decodeURIComponent(options.q);
  if (options.scene) return decodeURIComponent(options.scene);
  return null;
}

Page({
  data: {
    loading: true,
    error: '',
    product: null,
    price: '',
    rows: [],
    marking: '',
    qrPayload: null,
    quantity: 1,
  },

  onLoad(options = {}) {
    this.options = options;
    return this.load();
  },

  async load() {
    const options = this.options || {};
    this.setData({ loading: true, error: '' });
    try {
      const payload = scannedPayload(options);
      let product;
      let marking = '';
      if (payload) {
        const found = await catalog.scan(payload, { toast: false });
        ({ product } = found);
        marking = found.marking || '';
        this.setData({ qrPayload: found.qr_payload });
      } else {
        product = await catalog.getProduct(options.id, { toast: false });
        marking = product.marking || '';
      }
      this.setData({
        loading: false,
        product,
        marking,
        price: product.price ? format.money(product.price) : '价格请咨询业务员',
        rows: specRows(product, marking),
      });
      wx.setNavigationBarTitle({ title: product.name });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load();
  },

  onQuantityInput(e) {
    const n = parseInt(e.detail.value, 10);
    this.setData({ quantity: Number.isFinite(n) && n > 0 ? n : 1 });
  },

  onMinus() {
    if (this.data.quantity > 1) this.setData({ quantity: this.data.quantity - 1 });
  },

  onPlus() {
    this.setData({ quantity: this.data.quantity + 1 });
  },

  onMarkingInput(e) {
    this.setData({ marking: e.detail.value });
  },

  line() {
    return cart.lineFrom(this.data.product, this.data.quantity, {
      marking: this.data.marking.trim(),
      qrPayload: this.data.qrPayload,
    });
  },

  onAddToCart() {
    cart.add(this.line());
    wx.showToast({ title: '已加入购物车', icon: 'success' });
  },

  onOrderNow() {
    cart.setCheckout([this.line()], false);
    wx.navigateTo({ url: '/packageOrder/confirm/index' });
  },

  onGoCart() {
    wx.navigateTo({ url: '/pages/cart/index' });
  },
});
