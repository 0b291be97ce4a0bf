// The catalog list the home tab (标准品 / 定制品) and the 定制 tab share: search, paging, empty and
// error states, scan, and the salesperson contact sheet.
const catalog = require('../../services/catalog');
const me = require('../../services/me');

function catalogPage({ kind, kinds }) {
  return {
    data: {
      kinds: kinds || [],
      kind,
      q: '',
      items: [],
      page: 0,
      total: 0,
      loading: false,
      error: '',
      finished: false,
      contactShow: false,
      contactLoading: false,
      contact: null,
    },

    onLoad() {
      return this.reload();
    },

    onPullDownRefresh() {
      return this.reload().finally(() => wx.stopPullDownRefresh());
    },

    onReachBottom() {
      if (this.data.finished || this.data.loading) return Promise.resolve();
      return this.loadPage(this.data.page + 1);
    },

    reload() {
      this.setData({ items: [], page: 0, total: 0, finished: false });
      return this.loadPage(1);
    },

    async loadPage(page) {
      this.setData({ loading: true, error: '' });
      try {
        const answer = await catalog.listProducts(
          { kind: this.data.kind, q: this.data.q.trim(), page },
          { toast: false },
        );
        const items = page === 1 ? answer.items : this.data.items.concat(answer.items);
        this.setData({
          items,
          page,
          total: answer.total,
          finished: items.length >= answer.total || answer.items.length === 0,
          loading: false,
        });
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
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
