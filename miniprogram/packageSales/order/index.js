// 订单详情 (A6): lines, amounts, address, shipments, timeline and notes; 确认收款 (release) and
// 取消订单 when the API says I may (can_release, can_cancel), each after a confirm dialog; add a note.
const salesOrders = require('../../services/salesOrders');
const { withStates, goLogin, noteRow, timelineRow, confirm, money, dateTime, typeLabel } = require('../common');

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

  async onRelease() {
    const o = this.data.order;
    const ok = await confirm('确认收款', `确认已收到 ${o.customer.name} 的货款 ${o.totalText}？确认后订单将放行生产/发货，并通知生产管理软件。`, '确认收款');
    if (!ok || this.data.busy) return;
    this.setData({ busy: true });
    try {
      this.show(await salesOrders.releaseOrder(o.order_no));
      wx.showToast({ title: '已确认收款', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper
    } finally {
      this.setData({ busy: false });
    }
  },

  async onCancel() {
    const o = this.data.order;
    const ok = await confirm('取消订单', `确定取消订单 ${o.order_no}？客户和生产管理软件都会收到取消。`, '取消订单');
    if (!ok || this.data.busy) return;
    this.setData({ busy: true });
    try {
      this.show(await salesOrders.cancelOrder(o.order_no));
      wx.showToast({ title: '订单已取消', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper
    } finally {
      this.setData({ busy: false });
    }
  },

  onNoteInput(e) {
    this.setData({ noteText: e.detail.value });
  },

  async onAddNote() {
    const body = this.data.noteText.trim();
    if (!body) {
      wx.showToast({ title: '请输入备注内容', icon: 'none' });
      return;
    }
    if (this.data.busy) return;
    this.setData({ busy: true });
    try {
      const note = await salesOrders.addOrderNote(this.data.order.order_no, body);
      this.setData({ notes: [noteRow(note), ...this.data.notes], noteText: '' });
      wx.showToast({ title: '备注已保存', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper; the text stays for another try
    } finally {
      this.setData({ busy: false });
    }
  },

  onCustomer() {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${this.data.order.customer.id}` });
  },

  onCopyTracking(e) {
    wx.setClipboardData({ data: e.currentTarget.dataset.no });
  },

  onLogin: goLogin,
});
