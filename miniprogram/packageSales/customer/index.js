// 客户详情 (A6): the customer, its accounts and open orders, the notes; add a note; its orders;
// a custom product for it (A7).
const salesCustomers = require('../../services/salesCustomers');
const { withStates, goLogin, addNote, noteRow, dateTime } = require('../common');

Page({
  data: { loading: true, error: '', needLogin: false, id: null, customer: null, notes: [], noteText: '', busy: false },

  onLoad(query) {
    this.setData({ id: Number(query.id) });
    return this.load();
  },

  load() {
    return withStates(this, async () => {
      const customer = await salesCustomers.getCustomer(this.data.id, { toast: false });
      this.setData({ customer: { ...customer, createdText: dateTime(customer.created_at) }, notes: customer.notes.map(noteRow) });
      wx.setNavigationBarTitle({ title: customer.name });
    });
  },

  onNoteInput(e) {
    this.setData({ noteText: e.detail.value });
  },

  onAddNote() {
    return addNote(this, (body) => salesCustomers.addCustomerNote(this.data.id, body));
  },

  onOrders() {
    const c = this.data.customer;
    wx.navigateTo({ url: `/packageSales/orders/index?customer_id=${c.id}&customer_name=${encodeURIComponent(c.name)}` });
  },

  onNewProduct() {
    const c = this.data.customer;
    wx.navigateTo({ url: `/packageSales/product-new/index?customer_id=${c.id}&customer_name=${encodeURIComponent(c.name)}` });
  },

  onCall() {
    wx.makePhoneCall({ phoneNumber: this.data.customer.phone });
  },

  onLogin: goLogin,
});
