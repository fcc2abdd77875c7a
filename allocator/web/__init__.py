"""The brokerage and commissioning web app: a thin layer over the book and the design tools.

* :mod:`allocator.web.settings` - what a server is given (book URL, secret, limits);
* :mod:`allocator.web.app` - :func:`create_app`, the application factory;
* :mod:`allocator.web.security` - CSRF tokens, security headers, the upload size limit;
* :mod:`allocator.web.auth` - login, logout, throttling, the current user and role checks;
* :mod:`allocator.web.jobs` - nightly runs, design comparisons and mini-competitions outside
  the request;
* :mod:`allocator.web.charts` - the charts of the pages (a job's progress, a comparison's,
  a mini-competition's);
* :mod:`allocator.web.routes` - the pages, one router per area.

Routes parse the request, call the same library function the CLI calls, and render what it
returns; the pages are server-rendered Jinja2 templates, progressively enhanced with htmx
(vendored in ``static/``: the app needs no internet access).
"""
