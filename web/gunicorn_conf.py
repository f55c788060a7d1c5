"""Production settings for gunicorn: `gunicorn -c python:web.gunicorn_conf 'web.app:create_app()'`.

The access log records the path without its query string: `GET /api/v1/progress?number=&code=`
carries the applicant's query code (a credential), and list filters may carry names.
"""
from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("YJS_BIND", "0.0.0.0:8000")
# One process per core, each with a few threads (gthread): a worker's threads overlap their database
# waits, and a case's actions meet the same worker's workflow cache more often than with more processes.
# `make bench` measured -w 2 --threads 4 fastest on two cores (bench/README.md).
workers = int(os.environ.get("YJS_WORKERS", str(multiprocessing.cpu_count())))
threads = int(os.environ.get("YJS_THREADS", "4"))
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
# Let a worker finish its request (one transaction) before it is replaced.
graceful_timeout = 30
