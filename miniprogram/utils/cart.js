// The cart, kept in storage on the phone; and the lines of the confirmation in progress.
const CART_KEY = 'jht.cart';
const CHECKOUT_KEY = 'jht.checkout';

function keyOf(line) {
  return `${line.product_id}|${line.marking || ''}|${line.qr_payload || ''}`;
}

function list() {
  return wx.getStorageSync(CART_KEY) || [];
}

function save(lines) {
  wx.setStorageSync(CART_KEY, lines);
  return lines;
}

// A cart line from a product as the API answers it.
function lineFrom(product, quantity, { marking = null, qrPayload = null } = {}) {
  return {
    product_id: product.id,
    name: product.name,
    sku: product.sku,
    spec: product.spec,
    unit: product.unit,
    price: product.price,
    quantity,
    marking: marking || null,
    qr_payload: qrPayload || null,
  };
}

function add(line) {
  const lines = list();
  const found = lines.find((l) => keyOf(l) === keyOf(line));
  if (found) found.quantity += line.quantity;
  else lines.push({ ...line, key: keyOf(line) });
  return save(lines);
}

function setQuantity(key, quantity) {
  return save(list().map((l) => (l.key === key ? { ...l, quantity } : l)));
}

function remove(keys) {
  const drop = new Set(keys);
  return save(list().filter((l) => !drop.has(l.key)));
}

function setCheckout(lines, fromCart) {
  wx.setStorageSync(CHECKOUT_KEY, { lines, fromCart: !!fromCart });
}

function checkout() {
  return wx.getStorageSync(CHECKOUT_KEY) || { lines: [], fromCart: false };
}

function clearCheckout() {
  wx.removeStorageSync(CHECKOUT_KEY);
}

// The body lines of POST /orders.
function orderLines(lines) {
  return lines.map((l) => {
    const line = { product_id: l.product_id, quantity: l.quantity };
    if (l.qr_payload) line.qr_payload = l.qr_payload;
    if (l.marking) line.marking = l.marking;
    return line;
  });
}

module.exports = { list, add, setQuantity, remove, lineFrom, setCheckout, checkout, clearCheckout, orderLines, keyOf };
