// Shared by the workbench pages: the loading / error / sign-in states of a page and the rows
// shown (money as ¥ with two decimals, dates in local time). No rule the server decides is made here.
const { money, date, dateTime } = require('../utils/format');
const { needsLogin } = require('../services/salesClient');

const LOGIN_PAGE = '/packageSales/login/index';

// Run `load` with the page's loading / error / needLogin flags; resolves what `load` resolved,
// or undefined when it failed (the page then shows the error or "去登录").
async function withStates(page, load) {
  page.setData({ loading: true, error: '', needLogin: false });
  try {
    const result = await load();
    page.setData({ loading: false });
    return result;
  } catch (err) {
    page.setData({ loading: false, needLogin: needsLogin(err), error: needsLogin(err) ? '' : err.message });
    return undefined;
  }
}

function goLogin() {
  wx.navigateTo({ url: LOGIN_PAGE });
}

function typeLabel(type) {
  return type === 1 ? '类型一' : '类型二';
}

// The timeline's words come from the server (action_label, by_label: bridge.labels).

function timelineRow(e) {
  const what = e.action_label || e.action;
  return { ...e, atText: dateTime(e.at), text: e.status_label ? `${what} → ${e.status_label}` : what, byText: e.by_label || e.by };
}

function orderRow(o) {
  return {
    ...o,
    totalText: money(o.total_amount),
    createdText: dateTime(o.created_at),
    customerText: o.customer ? `${o.customer.name}（${typeLabel(o.customer.type)}）` : '',
  };
}

function noteRow(n) {
  return { ...n, createdText: dateTime(n.created_at), authorText: n.author || '—' };
}

// A paged list: page 1 replaces the rows, a later page appends; `more` while rows are missing.
async function loadPaged(page, pageNo, fetch, row = (x) => x) {
  const answer = await fetch(pageNo);
  const rows = answer.items.map(row);
  const items = pageNo === 1 ? rows : page.data.items.concat(rows);
  page.setData({ items, total: answer.total, page: pageNo, more: items.length < answer.total });
}

// The next page of a paged list, when there is one and none is loading.
function loadMore(page) {
  if (page.data.more && !page.data.loading) return page.load(page.data.page + 1);
  return undefined;
}

// "添加备注" on a customer or an order: `post(body)` → NoteOut, put first; the text stays on failure
// (the request wrapper shows why).
async function addNote(page, post) {
  const body = page.data.noteText.trim();
  if (!body) {
    wx.showToast({ title: '请输入备注内容', icon: 'none' });
    return;
  }
  if (page.data.busy) return;
  page.setData({ busy: true });
  try {
    const note = await post(body);
    page.setData({ notes: [noteRow(note), ...page.data.notes], noteText: '' });
    wx.showToast({ title: '备注已保存', icon: 'success' });
  } catch (err) {
    // shown by the request wrapper
  } finally {
    page.setData({ busy: false });
  }
}

// Confirm dialog → true when the user tapped the confirm button.
function confirm(title, content, confirmText = '确定') {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText,
      cancelText: '取消',
      success: (res) => resolve(!!(res && res.confirm)),
      fail: () => resolve(false),
    });
  });
}

module.exports = {
  LOGIN_PAGE, withStates, goLogin, loadPaged, loadMore, addNote, typeLabel, orderRow, timelineRow, noteRow, confirm, money, date, dateTime,
};
