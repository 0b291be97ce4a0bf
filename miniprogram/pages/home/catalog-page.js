// The catalog list the home tab (标准品 / 定制品) and the 定制 tab share: search, paging, empty and
// error states, scan, and the salesperson contact sheet.
const catalog = require('../../services/catalog');
const me = require('../../services/me');
const { PAGING_DATA, pagingMethods } = require('../../utils/paging');

function catalogPage({ kind, kinds }) {
  return {
    data: {
      kinds: kinds || [],
      kind,
      q: '',
      ...PAGING_DATA,
      contactShow: false,
      contactLoading: false,
      contact: null,
    },

    onLoad() {
      return this.reload();
    },

    ...pagingMethods,

    fetchPage(page) {
      return catalog.listProducts({ kind: this.data.kind, q: this.data.q.trim(), page }, { toast: false });
    },

    onKindTap(e) {
      const next = e.currentTarget.dataset.kind;
      if (next === this.data.kind) return Promise.resolve();
      this.setData({ kind: next });
      return this.reload();
    },

    onSearchInput(e) {
      this.setData({ q: e.detail.value });
    },

    onSearch() {
      return this.reload();
    },

    onRetry() {
      return this.reload();
    },

    // In-app scanner (C4): the packaging QR → the product page with spec and marking prefilled.
    onScanTap() {
      wx.scanCode({
        onlyFromCamera: false,
        scanType: ['qrCode', 'barCode'],
        success: (res) => {
          wx.navigateTo({ url: `/pages/product/index?qr=${encodeURIComponent(res.result)}` });
        },
      });
    },

    async onContactTap() {
      this.setData({ contactShow: true, contactLoading: true });
      try {
        const contact = await me.getSalesperson();
        this.setData({ contact, contactLoading: false });
      } catch (err) {
        this.setData({ contact: null, contactLoading: false });
      }
    },

    onContactClose() {
      this.setData({ contactShow: false });
    },
  };
}

module.exports = { catalogPage };
