// 创建定制品 (A7, scenario 2): a custom product for one customer, granted to it at once, then
// "tell the customer it is ready": 通知客户 sends the WeChat subscribe message through the bridge
// (POST /products/{id}/ready; it reaches a customer who accepted that template), and the message
// can still be copied or the mini-program shared, for a customer who did not.
const salesProducts = require('../../services/salesProducts');
const { money } = require('../common');

// The form's fields, in order: [API field, label, placeholder, required]
const FIELDS = [
  ['sku', '产品编码', '如 DZ-400-40-127（必填）', true],
  ['name', '产品名称', '如 定制平形砂轮（必填）', true],
  ['price', '单价（元）', '如 680.00（必填）', true],
  ['unit', '单位', '片', false],
  ['shape', '形状', '如 P / PSA', false],
  ['outer_diameter_mm', '外径 D (mm)', '', false],
  ['thickness_mm', '厚度 T (mm)', '', false],
  ['bore_mm', '孔径 H (mm)', '', false],
  ['abrasive', '磨料', '如 WA', false],
  ['grit', '粒度', '如 60', false],
  ['hardness', '硬度', '如 K', false],
  ['bond', '结合剂', '如 V', false],
  ['max_speed_ms', '最高线速度 (m/s)', '如 35', false],
  ['marking', '标记', '', false],
  ['description', '说明', '', false],
].map(([key, label, placeholder, required]) => ({ key, label, placeholder, required }));

function readyMessage(customerName, product) {
  const spec = product.spec ? `（${product.spec}）` : '';
  return (
    `${customerName}您好，您定制的产品「${product.name}」${spec}已上架，单价 ${money(product.price)}/${product.unit}。` +
    '请打开「锦亨泰商城」小程序，在「定制」中查看并下单。'
  );
}

Page({
  data: {
    fields: FIELDS,
    values: { unit: '片' },
    customerId: null,
    customerName: '',
    saving: false,
    error: '',
    product: null,
    grant: null,
    message: '',
    telling: false,
    told: false,
    tellError: '',
  },

  onLoad(query) {
    this.setData({ customerId: Number(query.customer_id), customerName: decodeURIComponent(query.customer_name || '') });
  },

  onInput(e) {
    this.setData({ [`values.${e.currentTarget.dataset.field}`]: e.detail.value, error: '' });
  },

  async onSubmit() {
    const { values } = this.data;
    const missing = FIELDS.filter((f) => f.required && !String(values[f.key] || '').trim());
    if (missing.length) {
      this.setData({ error: `请填写${missing.map((f) => f.label).join('、')}` });
      return;
    }
    if (this.data.saving) return;
    this.setData({ saving: true, error: '' });
    try {
      // a product made before a failed grant is kept: the retry only grants
      const product = this.data.product || (await salesProducts.createProduct(values, { toast: false }));
      this.setData({ product: { ...product, priceText: money(product.price) } });
      const grant = await salesProducts.grantProduct(product.id, this.data.customerId, { toast: false });
      this.setData({ grant, message: readyMessage(this.data.customerName, product) });
    } catch (err) {
      this.setData({ error: err.message });
    } finally {
      this.setData({ saving: false });
    }
  },

  async onTell() {
    if (this.data.telling || this.data.told) return; // a double tap
    this.setData({ telling: true, tellError: '' });
    try {
      await salesProducts.tellReady(this.data.product.id, this.data.customerId, '', { toast: false });
      this.setData({ told: true });
    } catch (err) {
      this.setData({ tellError: err.message });
    } finally {
      this.setData({ telling: false });
    }
  },

  onCopy() {
    wx.setClipboardData({
      data: this.data.message,
      success: () => wx.showToast({ title: '已复制，请到微信发送给客户', icon: 'none' }),
    });
  },

  onShareAppMessage() {
    return { title: `您定制的「${this.data.product ? this.data.product.name : '产品'}」已上架`, path: '/pages/custom/index' };
  },

  onDone() {
    wx.redirectTo({ url: `/packageSales/customer/index?id=${this.data.customerId}` });
  },
});
