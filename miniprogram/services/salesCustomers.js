// /api/sales/v1/customers — my customers (A6), a new customer (A7), notes on a customer.
const { request } = require('./salesClient');

module.exports = {
  // GET /customers?q=&page= → CustomerPage {page, page_size, total, items}
  listCustomers: ({ q, page = 1 } = {}, options = {}) => request({ path: '/customers', params: { q, page }, ...options }),
  // GET /customers/{id} → CustomerDetail (accounts, addresses, open_orders, awaiting_payment_orders, notes)
  getCustomer: (id, options = {}) => request({ path: `/customers/${id}`, ...options }),
  // POST /customers {name, type: 1|2, phone?, contact_name?} → CustomerDetail
  createCustomer: ({ name, type, phone, contactName }, options = {}) => {
    const data = { name, type };
    if (phone) data.phone = phone;
    if (contactName) data.contact_name = contactName;
    return request({ method: 'POST', path: '/customers', data, ...options });
  },
  // POST /customers/{id}/notes {body} → NoteOut
  addCustomerNote: (id, body, options = {}) =>
    request({ method: 'POST', path: `/customers/${id}/notes`, data: { body }, ...options }),
};
