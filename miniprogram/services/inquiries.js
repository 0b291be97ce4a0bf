// /api/mp/v1/inquiries — a custom-product inquiry for the salesperson (C11) and the customer's own
// inquiries with the salesperson's answers (C16).
const { request } = require('../utils/request');

module.exports = {
  // POST /inquiries {body} → InquiryCreated {id, status, created_at}
  createInquiry: (body, options = {}) => request({ method: 'POST', path: '/inquiries', data: { body }, ...options }),
  // GET /inquiries?page= → MyInquiryPage {page, page_size, total, items: [MyInquiry]}, newest first
  listMyInquiries: ({ page = 1 } = {}, options = {}) => request({ path: '/inquiries', params: { page }, ...options }),
};
