// /api/mp/v1/addresses — delivery addresses (C13).
const { request } = require('../utils/request');

// AddressBody fields as the API names them.
function body(a) {
  return {
    recipient: a.recipient,
    phone: a.phone,
    province: a.province || '',
    city: a.city || '',
    district: a.district || '',
    detail: a.detail,
    is_default: !!a.is_default,
  };
}

module.exports = {
  // GET /addresses → [AddressView], the default first
  listAddresses: (options = {}) => request({ path: '/addresses', ...options }),
  // POST /addresses → AddressView
  addAddress: (a, options = {}) => request({ method: 'POST', path: '/addresses', data: body(a), ...options }),
  // PUT /addresses/{id} → AddressView
  updateAddress: (id, a, options = {}) => request({ method: 'PUT', path: `/addresses/${id}`, data: body(a), ...options }),
  // DELETE /addresses/{id} → Deleted
  deleteAddress: (id) => request({ method: 'DELETE', path: `/addresses/${id}` }),
};
