"""The admin pages (管理后台) under ``/admin``: server-rendered Jinja2 pages for staff users.

``session`` signs staff in and out (a server-side ``bridge.sessions`` session named by an
HttpOnly cookie) and guards every page; ``pages`` holds the pages; ``routes`` gathers them into
one router with CSRF protection on every unsafe request. Rules stay in ``bridge``.
"""
