// 订单详情: status and its hint, lines, shipments with courier and tracking number (copy), the
// timeline; cancel and confirm receipt only when the API says so (can_cancel, can_confirm_receipt)
// (C6, C8, C9, C13, C15); 再来一单 (C14): the lines the server still offers, at today's prices, into
// the cart and on to the confirmation, after telling what was dropped and which prices changed.
const orders = require('../../services/orders');
const cart = require('../../utils/cart');
const format = require('../../utils/format');
const { ask } = require('../../utils/dialog');


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
      .map((e) => ({ ...e, date: format.dateTime(e.at), who: e.by_label || e.by, what: e.status_label || e.action_label || e.action })),
  };
}

// What the customer should know before reordering: dropped lines (why) and changed prices; '' if none.
function reorderNotes(r) {
  const parts = [];
  if (r.dropped.length) {
    parts.push('以下商品无法再次购买：');
    r.dropped.forEach((d) => parts.push(`${d.name}（${d.sku}）× ${d.quantity}：${d.reason_label}`));
  }
  const changed = r.lines.filter((l) => Number(l.previous_unit_price) !== Number(l.unit_price));
  if (changed.length) {
    parts.push('以下商品价格有变动：');
    changed.forEach((l) => parts.push(`${l.product.name}：${format.money(l.previous_unit_price)} → ${format.money(l.unit_price)}`));
  }
  if (parts.length && r.lines.length) parts.push(`按今日价格合计 ${format.money(r.total_amount)}`);
  return parts.join('\n');
}

Page({
  data: { loading: true, error: '', order: null, busy: false, reordering: false },

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

  async confirmThen(content, action) {
    if (await ask({ content })) await this.act(action);
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

  async onReorder() {
    if (this.data.reordering) return; // a double tap
    this.setData({ reordering: true });
    let answer;
    try {
      answer = await orders.reorder(this.orderNo);
    } catch (err) {
      this.setData({ reordering: false }); // shown by utils/request
      return;
    }
    this.setData({ reordering: false });
    const notes = reorderNotes(answer);
    if (!answer.lines.length) {
      await ask({ title: '无法再来一单', content: notes || '该订单没有可再次购买的商品', showCancel: false });
      return;
    }
    if (notes && !(await ask({ title: '再来一单', content: notes, confirmText: '继续下单' }))) return;
    const added = answer.lines.map((l) =>
      cart.lineFrom({ ...l.product, price: l.unit_price }, l.quantity, { marking: l.marking }),
    );
    added.forEach((line) => cart.add(line));
    const keys = new Set(added.map(cart.keyOf));
    cart.setCheckout(
      cart.list().filter((l) => keys.has(l.key)),
      true,
    );
    wx.navigateTo({ url: '/packageOrder/confirm/index' });
  },
});
