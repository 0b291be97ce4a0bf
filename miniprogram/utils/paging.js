// The paged list that list pages share: the first page again on reload and pull-down, the next one
// at the bottom until the API's total is reached. A page using it has `fetchPage(page)` (→ the API's
// page {total, items}, asked with toast: false) and may have `viewItem(item)` shaping each item.
const PAGING_DATA = { items: [], page: 0, total: 0, loading: false, error: '', finished: false };

const pagingMethods = {
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
      const answer = await this.fetchPage(page);
      const shaped = this.viewItem ? answer.items.map((i) => this.viewItem(i)) : answer.items;
      const items = (page === 1 ? [] : this.data.items).concat(shaped);
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
};

module.exports = { PAGING_DATA, pagingMethods };
