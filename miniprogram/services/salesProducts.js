// /api/sales/v1/products — a custom product for one customer, granted to it (A3, A7, scenario 2).
const { request } = require('./salesClient');

// The product fields the form may send (ProductBody); empty ones are left out.
const PRODUCT_FIELDS = [
  'sku', 'name', 'price', 'unit', 'shape', 'outer_diameter_mm', 'thickness_mm', 'bore_mm',
  'abrasive', 'grit', 'hardness', 'bond', 'max_speed_ms', 'marking', 'description',
];

function productBody(values) {
  const data = { kind: 'custom' };
  PRODUCT_FIELDS.forEach((key) => {
    const value = values[key] === undefined || values[key] === null ? '' : String(values[key]).trim();
    if (value) data[key] = value;
  });
  return data;
}

module.exports = {
  PRODUCT_FIELDS,
  productBody,
  // GET /products?kind=&q=&page= → StaffProductPage
  listProducts: ({ kind, q, page = 1 } = {}, options = {}) =>
    request({ path: '/products', params: { kind, q, page }, ...options }),
  // POST /products {sku, name, price, kind: 'custom', …} → StaffProductView
  createProduct: (values, options = {}) =>
    request({ method: 'POST', path: '/products', data: productBody(values), ...options }),
  // POST /products/{id}/grants {customer_id} → GrantView {created, visible_to_customer}
  grantProduct: (productId, customerId, options = {}) =>
    request({ method: 'POST', path: `/products/${productId}/grants`, data: { customer_id: customerId }, ...options }),
  // POST /products/{id}/ready {customer_id, note} → 202 NoticeQueued {notice_id, kind}: the customer
  // gets a WeChat subscribe message "your custom product is ready" where they accepted it
  tellReady: (productId, customerId, note = '', options = {}) =>
    request({ method: 'POST', path: `/products/${productId}/ready`, data: { customer_id: customerId, note }, ...options }),
};
