// 订单详情 (A6): lines, amounts, address, shipments, timeline and notes; 确认收款 (release) and
// 取消订单 when the API says I may (can_release, can_cancel), each after a confirm dialog; add a note.
const salesOrders = require('../../services/salesOrders');
const { withStates, goLogin, addNote, noteRow, timelineRow, confirm, money, dateTime, typeLabel } = require('../common');

function view(o) {
  const t = o.ship_to || {};
  return {
    ...o,
    totalText: money(o.total_amount),
    createdText: dateTime(o.created_at),
    customerText: `${o.customer.name}（${typeLabel(o.customer.type)}）`,
    address: [t.province, t.city, t.district, t.detail].filter(Boolean).join(' '),
    lines: o.lines.map((l) => ({ ...l, priceText: money(l.unit_price), amountText: money(l.amount) })),
    shipments: o.shipments.map((s) => ({ ...s, shippedText: dateTime(s.shipped_at) })),
    timeline: o.timeline.map(timelineRow),
  };
}

Page({
  data: { loading: true, error: '', needLogin: false, orderNo: '', order: null, notes: [], noteText: '', busy: false },

  onLoad(query) {
    this.setData({ orderNo: decodeURIComponent(query.order_no || '') });
    return this.load();
  },

  load() {
    return withStates(this, async () => {
      this.show(await salesOrders.getOrder(this.data.orderNo, { toast: false }));
    });
  },

  show(order) {
    this.setData({ order: view(order), notes: order.notes.map(noteRow) });
  },

  // A move the API allowed (can_release / can_cancel): after the confirm dialog, the order answered.
  async act(title, content, confirmText, call, done) {
    const ok = await confirm(title, content, confirmText);
    if (!ok || this.data.busy) return;
    this.setData({ busy: true });
    try {
      this.show(await call(this.data.order.order_no));
      wx.showToast({ title: done, icon: 'success' });
    } catch (err) {
      // shown by the request wrapper
    } finally {
      this.setData({ busy: false });
    }
  },

  onRelease() {
    const o = this.data.order;
    const content = `确认已收到 ${o.customer.name} 的货款 ${o.totalText}？确认后订单将放行生产/发货，并通知生产管理软件。`;
    return this.act('确认收款', content, '确认收款', (no) => salesOrders.releaseOrder(no), '已确认收款');
  },

  onCancel() {
    const content = `确定取消订单 ${this.data.order.order_no}？客户和生产管理软件都会收到取消。`;
    return this.act('取消订单', content, '取消订单', (no) => salesOrders.cancelOrder(no), '订单已取消');
  },

  onNoteInput(e) {
    this.setData({ noteText: e.detail.value });
  },

  onAddNote() {
    return addNote(this, (body) => salesOrders.addOrderNote(this.data.order.order_no, body));
  },

  onCustomer() {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${this.data.order.customer.id}` });
  },

  onCopyTracking(e) {
    wx.setClipboardData({ data: e.currentTarget.dataset.no });
  },

  onLogin: goLogin,
});
