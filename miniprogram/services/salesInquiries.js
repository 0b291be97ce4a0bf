// /api/sales/v1/inquiries — my customers' custom-product inquiries to follow up (A6, C11).
const { request } = require('./salesClient');

module.exports = {
  // GET /inquiries?status=open|handled&page= → InquiryPage
  listInquiries: ({ status, page = 1 } = {}, options = {}) =>
    request({ path: '/inquiries', params: { status, page }, ...options }),
  // POST /inquiries/{id}/handle → InquiryOut (again: unchanged)
  handleInquiry: (id, options = {}) => request({ method: 'POST', path: `/inquiries/${id}/handle`, ...options }),
  // POST /inquiries/{id}/answer {answer} → InquiryOut: the answer the customer reads in 我的询价;
  // it marks the inquiry handled too (answering again replaces the answer)
  answerInquiry: (id, answer, options = {}) =>
    request({ method: 'POST', path: `/inquiries/${id}/answer`, data: { answer }, ...options }),
};
