"""The department's console: a separate Litestar app, in its own process, on its own port.

It is never mounted in the public site, and the public site never imports it. Sign-in and
roles, drafts with a budget preview, two-person approval, corrections, the ledger and the
audit log (see the README's "The console").
"""
