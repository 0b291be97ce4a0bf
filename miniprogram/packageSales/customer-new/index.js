// 新建客户 (A7, scenario 2): name, 类型一 / 类型二, phone and contact; the customer is mine. A
// WeChat user who later binds that phone joins this customer. Next: a custom product for it.
const salesCustomers = require('../../services/salesCustomers');

const TYPES = [
  { value: 1, label: '类型一', hint: '下单后自动生成生产单' },
  { value: 2, label: '类型二', hint: '下单后需业务员确认收款再生产' },
];

Page({
  data: { types: TYPES, name: '', type: 2, phone: '', contactName: '', saving: false, error: '', created: null },

  onInput(e) {
    this.setData({ [e.currentTarget.dataset.field]: e.detail.value, error: '' });
  },

  onType(e) {
    this.setData({ type: Number(e.currentTarget.dataset.value) });
  },

  async onSubmit() {
    const name = this.data.name.trim();
    if (!name) {
      this.setData({ error: '请输入客户名称' });
      return;
    }
    if (this.data.saving) return;
    this.setData({ saving: true, error: '' });
    try {
      const created = await salesCustomers.createCustomer(
        { name, type: this.data.type, phone: this.data.phone.trim(), contactName: this.data.contactName.trim() },
        { toast: false }
      );
      this.setData({ created });
    } catch (err) {
      this.setData({ error: err.message });
    } finally {
      this.setData({ saving: false });
    }
  },

  onNewProduct() {
    const c = this.data.created;
    wx.redirectTo({ url: `/packageSales/product-new/index?customer_id=${c.id}&customer_name=${encodeURIComponent(c.name)}` });
  },

  onOpenCustomer() {
    wx.redirectTo({ url: `/packageSales/customer/index?id=${this.data.created.id}` });
  },
});
