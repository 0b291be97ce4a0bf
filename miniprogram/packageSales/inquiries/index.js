// 待跟进询价 (A6, C11): my customers' custom-product inquiries. 回复 sends an answer the customer
// reads in 我的询价 (and marks the inquiry followed up); 标记已跟进 when it was answered by phone.
const salesInquiries = require('../../services/salesInquiries');
const { withStates, goLogin, loadPaged, loadMore, dateTime } = require('../common');

const TABS = [
  { status: 'open', label: '待跟进' },
  { status: 'handled', label: '已跟进' },
  { status: '', label: '全部' },
];

const row = (i) => ({
  ...i,
  createdText: dateTime(i.created_at),
  handledText: dateTime(i.handled_at),
  answeredText: dateTime(i.answered_at),
});

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    tabs: TABS,
    status: 'open',
    items: [],
    total: 0,
    page: 1,
    more: false,
    drafts: {},
  },

  onLoad() {
    return this.load(1);
  },

  load(page = 1) {
    return withStates(this, async () => {
      await loadPaged(this, page, (n) => salesInquiries.listInquiries({ status: this.data.status, page: n }, { toast: false }), row);
    });
  },

  onTab(e) {
    this.setData({ status: e.currentTarget.dataset.status });
    return this.load(1);
  },

  onRetry() {
    return this.load(1);
  },

  onReachBottom() {
    return loadMore(this);
  },

  async onHandle(e) {
    const id = Number(e.currentTarget.dataset.id);
    try {
      const done = await salesInquiries.handleInquiry(id);
      // on the 待跟进 tab a handled one leaves the list; elsewhere it shows its new status
      const items =
        this.data.status === 'open'
          ? this.data.items.filter((i) => i.id !== id)
          : this.data.items.map((i) => (i.id === id ? row(done) : i));
      this.setData({ items, total: this.data.status === 'open' ? this.data.total - 1 : this.data.total });
      wx.showToast({ title: '已标记为已跟进', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper
    }
  },

  onDraft(e) {
    this.setData({ [`drafts.${e.currentTarget.dataset.id}`]: e.detail.value });
  },

  async onAnswer(e) {
    const id = Number(e.currentTarget.dataset.id);
    const text = String((this.data.drafts || {})[id] || '').trim();
    if (!text) {
      wx.showToast({ title: '请输入回复内容', icon: 'none' });
      return;
    }
    if (this.answering) return; // a double tap sends one answer
    this.answering = true;
    try {
      const done = await salesInquiries.answerInquiry(id, text);
      const items =
        this.data.status === 'open'
          ? this.data.items.filter((i) => i.id !== id)
          : this.data.items.map((i) => (i.id === id ? row(done) : i));
      this.setData({
        items,
        total: this.data.status === 'open' ? this.data.total - 1 : this.data.total,
        [`drafts.${id}`]: '',
      });
      wx.showToast({ title: '已回复客户', icon: 'success' });
    } catch (err) {
      // shown by the request wrapper; the draft is kept
    } finally {
      this.answering = false;
    }
  },

  onCustomer(e) {
    wx.navigateTo({ url: `/packageSales/customer/index?id=${e.currentTarget.dataset.id}` });
  },

  onLogin: goLogin,
});
