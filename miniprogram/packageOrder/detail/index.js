// 订单详情: status and its hint, lines, shipments with courier and tracking number (copy), the
// timeline; cancel and confirm receipt only when the API says so (can_cancel, can_confirm_receipt)
// (C6, C8, C9, C13, C15).
const orders = require('../../services/orders');
const format = require('../../utils/format');

const BY = { customer: '客户', sales: '业务员', admin: '管理员', erp: '生产系统', system: '系统' };

function view(o) {
  return {
    ...o,
    amount: format.money(o.total_amount),
    date: format.dateTime(o.created_at),
    lines: o.lines.map((l) => ({ ...l, price: format.money(l.unit_price), total: format.money(l.amount) })),
    shipments: o.shipments.map((s) => ({ ...s, date: format.dateTime(s.shipped_at) })),
    timeline: o.timeline
      .slice()
      .reverse()
      .map((e) => ({ ...e, date: format.dateTime(e.at), who: BY[e.by] || e.by })),
  };
}

Page({
  data: { loading: true, error: '', order: null, busy: false },

  onLoad(options = {}) {
    this.orderNo = decodeURIComponent(options.order_no || '');
    if (options.placed) wx.showToast({ title: '订单已提交', icon: 'success' });
    return this.load();
  },

  async load() {
    this.setData({ loading: true, error: '' });
    try {
      const order = await orders.getOrder(this.orderNo, { toast: false });
      this.setData({ loading: false, order: view(order) });
    } catch (err) {
      this.setData({ loading: false, error: err.message });
    }
  },

  onRetry() {
    return this.load();
  },

  onCopyTracking(e) {
    wx.setClipboardData({ data: e.currentTarget.dataset.no });
  },

  confirmThen(content, action) {
    return new Promise((resolve) => {
      wx.showModal({
        title: '提示',
        content,
        success: (res) => resolve(res.confirm ? this.act(action) : null),
        fail: () => resolve(null),
      });
    });
  },

  async act(action) {
    if (this.data.busy) return;
    this.setData({ busy: true });
    try {
      const order = await action(this.orderNo);
      this.setData({ order: view(order), busy: false });
    } catch (err) {
      this.setData({ busy: false }); // shown by utils/request
    }
  },

  onCancel() {
    return this.confirmThen('确定取消该订单吗？', orders.cancelOrder);
  },

  onConfirmReceipt() {
    return this.confirmThen('确认已收到全部货物？', orders.confirmReceipt);
  },
});
