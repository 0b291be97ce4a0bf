// wx.showModal as a promise: resolves true when the user tapped the confirm button, false otherwise.
function ask(options) {
  return new Promise((resolve) => {
    wx.showModal({ title: '提示', ...options, success: (res) => resolve(!!(res && res.confirm)), fail: () => resolve(false) });
  });
}

module.exports = { ask };
