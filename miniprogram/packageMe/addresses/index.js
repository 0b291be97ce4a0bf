// 收货地址: list, add, edit, set default, delete (C13). Opened with ?select=1 from the order
// confirmation: tapping an address puts it under storage key jht.selectedAddress and goes back
// (packageOrder/confirm reads that key on show).
const addresses = require('../../services/addresses');
const { ask } = require('../../utils/dialog');

const SELECTED_ADDRESS_KEY = 'jht.selectedAddress';

function view(a) {
  return { ...a, region: `${a.province}${a.city}${a.district}` };
}

Page({
  data: { select: false, loading: true, error: '', items: [], busy: false },

  onLoad(options = {}) {
    this.setData({ select: options.select === '1' });
    if (options.select === '1') wx.setNavigationBarTitle({ title: '选择收货地址' });
  },

  onShow() {
    return this.load();
  },

  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const list = await addresses.listAddresses({ toast: false });
      this.list = list;
      this.setData({ loading: false, items: list.map(view) });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load();
  },

  find(e) {
    const id = Number(e.currentTarget.dataset.id);
    return (this.list || []).find((a) => a.id === id);
  },

  onAddressTap(e) {
    const address = this.find(e);
    if (!address) return;
    if (this.data.select) {
      wx.setStorageSync(SELECTED_ADDRESS_KEY, address);
      wx.navigateBack();
    } else {
      wx.navigateTo({ url: `/packageMe/address-edit/index?id=${address.id}` });
    }
  },

  onEdit(e) {
    wx.navigateTo({ url: `/packageMe/address-edit/index?id=${e.currentTarget.dataset.id}` });
  },

  onAdd() {
    wx.navigateTo({ url: '/packageMe/address-edit/index' });
  },

  async run(action) {
    if (this.data.busy) return;
    this.setData({ busy: true });
    try {
      await action();
      this.setData({ busy: false });
      await this.load();
    } catch (err) {
      this.setData({ busy: false }); // shown by utils/request
    }
  },

  onSetDefault(e) {
    const address = this.find(e);
    if (!address || address.is_default) return Promise.resolve();
    return this.run(() => addresses.updateAddress(address.id, { ...address, is_default: true }));
  },

  async onDelete(e) {
    const address = this.find(e);
    if (!address) return;
    if (await ask({ content: `确定删除 ${address.recipient} 的这个地址吗？` })) {
      await this.run(() => addresses.deleteAddress(address.id));
    }
  },
});
