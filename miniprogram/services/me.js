// /api/mp/v1/me, /me/accounts, /salesperson — the customer, bound accounts (C10), contact (C3).
const { request } = require('../utils/request');

module.exports = {
  // GET /me → Me {customer, account, accounts, salesperson}
  getMe: (options = {}) => request({ path: '/me', ...options }),
  // GET /me/accounts → [AccountView]
  listAccounts: (options = {}) => request({ path: '/me/accounts', ...options }),
  // DELETE /me/accounts/{id} → Unbound
  unbindAccount: (id) => request({ method: 'DELETE', path: `/me/accounts/${id}` }),
  // GET /salesperson → Contact {name, phone, wechat}
  getSalesperson: (options = {}) => request({ path: '/salesperson', ...options }),
};
