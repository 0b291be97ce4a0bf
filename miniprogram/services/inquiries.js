// /api/mp/v1/inquiries — a custom-product inquiry for the salesperson (C11).
const { request } = require('../utils/request');

module.exports = {
  // POST /inquiries {body} → InquiryCreated {id, status, created_at}
  createInquiry: (body) => request({ method: 'POST', path: '/inquiries', data: { body } }),
};
