// One product in a list: name, kind, spec, code, the customer's price.
const format = require('../../utils/format');

Component({
  properties: {
    product: { type: Object, value: {} },
  },
  observers: {
    product(p) {
      this.setData({ price: p && p.price ? format.money(p.price) : '价格请咨询业务员' });
    },
  },
  data: { price: '' },
  methods: {
    onTap() {
      wx.navigateTo({ url: `/pages/product/index?id=${this.data.product.id}` });
    },
  },
});
