#!/usr/local/bin/python3
"""The image's HEALTHCHECK: exit 0 when the bridge's API answers /healthz with 200 on this
container's port (JHT_API__PORT, default 8600), else 1 with the reason. Standard library only."""

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('JHT_API__PORT') or 8600}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
