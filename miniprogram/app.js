// The app: remembers the invite code it was opened with (a salesperson's share) for the first login.
const auth = require('./utils/auth');

App({
  onLaunch(options) {
    auth.rememberLaunch(options);
  },
  onShow(options) {
    auth.rememberLaunch(options);
  },
});
