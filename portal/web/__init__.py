"""The public site: dashboards, the release archive, open data and the JSON API.

It reads the public store only, opened read-only, and never imports ``privacy`` or
``opendp`` (a test checks ``sys.modules`` after importing :mod:`portal.web.app`).
"""
