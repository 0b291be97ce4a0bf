// /api/mp/v1/auth/* — signing in and out, the WeChat phone binding (C10).
const { request } = require('../utils/request');

module.exports = {
  // POST /auth/login {code, invite?} → CustomerLogin
  login: (code, invite) =>
    request({ method: 'POST', path: '/auth/login', data: invite ? { code, invite } : { code }, auth: false, toast: false }),
  // POST /auth/refresh {refresh_token} → TokenPair (utils/request does this itself on a 401)
  refresh: (refreshToken) =>
    request({ method: 'POST', path: '/auth/refresh', data: { refresh_token: refreshToken }, auth: false }),
  // POST /auth/logout → LoggedOut
  logout: () => request({ method: 'POST', path: '/auth/logout' }),
  // POST /auth/phone {code} → PhoneBound (the code of open-type="getPhoneNumber")
  bindPhone: (code) => request({ method: 'POST', path: '/auth/phone', data: { code } }),
};
