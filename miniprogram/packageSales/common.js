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

// The timeline's `action` and `by` are English codes (the API sends no label for them yet).
const ACTION_LABELS = { placed: '下单', status: '状态更新', release: '确认收款，放行', cancel: '取消', complete: '完成', shipment: '发货' };
const BY_LABELS = { customer: '客户', sales: '业务员', admin: '管理员', erp: '生产管理软件', system: '系统' };

function timelineRow(e) {
  const what = ACTION_LABELS[e.action] || e.action;
  return { ...e, atText: dateTime(e.at), text: e.status_label ? `${what} → ${e.status_label}` : what, byText: BY_LABELS[e.by] || e.by };
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

module.exports = { LOGIN_PAGE, withStates, goLogin, typeLabel, orderRow, timelineRow, noteRow, confirm, money, date, dateTime };
