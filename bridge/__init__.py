"""jht-bridge: the bridge between the 锦亨泰商城 mini-program and the on-premises ERP."""

__version__ = "0.1.0"
