// 新增 / 编辑收货地址: recipient, phone, province / city / district (the region picker), detail,
// default (C13). The API checks the fields; its Chinese message is shown on the form.
const addresses = require('../../services/addresses');

const EMPTY = { recipient: '', phone: '', province: '', city: '', district: '', detail: '', is_default: false };

Page({
  data: { id: null, form: { ...EMPTY }, region: [], loading: false, error: '', formError: '', saving: false },

  onLoad(options = {}) {
    const id = options.id ? Number(options.id) : null;
    this.setData({ id });
    wx.setNavigationBarTitle({ title: id ? '编辑收货地址' : '新增收货地址' });
    return id ? this.load(id) : Promise.resolve();
  },

  // there is no GET /addresses/{id}: the list is the truth
  async load(id) {
    this.setData({ loading: true, error: '' });
    try {
      const found = (await addresses.listAddresses({ toast: false })).find((a) => a.id === id);
      if (!found) throw new Error('收货地址不存在');
      const form = { ...EMPTY, ...found };
      this.setData({ loading: false, form, region: [form.province, form.city, form.district] });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load(this.data.id);
  },

  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value, formError: '' });
  },

  onRegionChange(e) {
    const [province = '', city = '', district = ''] = e.detail.value || [];
    this.setData({ region: [province, city, district], 'form.province': province, 'form.city': city, 'form.district': district });
  },

  onDefaultChange(e) {
    this.setData({ 'form.is_default': !!e.detail.value });
  },

  async onSave() {
    if (this.data.saving) return; // a double tap
    const f = this.data.form;
    const address = { ...f, recipient: f.recipient.trim(), phone: f.phone.trim(), detail: f.detail.trim() };
    this.setData({ saving: true, formError: '' });
    try {
      if (this.data.id) await addresses.updateAddress(this.data.id, address, { toast: false });
      else await addresses.addAddress(address, { toast: false });
      this.setData({ saving: false });
      wx.showToast({ title: '已保存', icon: 'success' });
      wx.navigateBack();
    } catch (err) {
      this.setData({ saving: false, formError: err.message });
    }
  },
});
