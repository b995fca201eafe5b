# Relance in one container: web (gunicorn), the RQ worker and the bundled Redis, started and
# supervised by `flask --app app serve` exactly as `make run` does.
#
#   docker build -t relance .
#   docker run -d --name relance -p 5000:5000 -v relance-data:/data \
#     -e RELANCE_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" relance
#
# Required at run time: RELANCE_SECRET_KEY. The image runs in production mode (RELANCE_ENV=production),
# where a missing key stops the start with an error instead of a default. Keep the key stable: it
# signs sessions and CSRF tokens.
#
# HTTPS: production mode marks the session cookie Secure, so the app expects HTTPS in front of it
# (a reverse proxy terminating TLS; set FORWARDED_ALLOW_IPS to the proxy's address so gunicorn
# trusts its X-Forwarded-Proto). Only to try it over plain http://, set RELANCE_INSECURE_COOKIES=1.
#
# Optional at run time:
#   RELANCE_DEMO=1         load the demo data into an empty database (as `make run` does)
#   RELANCE_DATABASE_URL   default: SQLite in /data (postgresql+psycopg://user:pass@host/db works too)
#   RELANCE_REDIS_URL      default: the bundled redis-server, on a unix socket in /data/redis
#   RELANCE_SMTP_URL       outgoing mail, e.g. smtp://user:password@smtp.example.com:587
#   RELANCE_PORT           default 5000
# Everything Relance keeps (database, Redis dump, exports, documents) is in the /data volume, owned
# by uid 1000 (chown a bind-mounted folder to it). A running export may need more than docker's
# default 10 s to stop: `docker stop -t 20`.
FROM python:3.11-slim-bookworm

# What scripts/system-deps.sh installs on Debian: make, npm (htmx from the npm registry), Pango and
# HarfBuzz subset (WeasyPrint); the image's Python already has venv. tini runs as PID 1: it passes
# docker stop's SIGTERM to the supervisor and reaps any orphan.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      make npm libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 tini \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RELANCE_ENV=production \
    RELANCE_INSTANCE_PATH=/data \
    RELANCE_PORT=5000

WORKDIR /app
COPY . .
# The install step of `make run`: .venv, the package, htmx into static/vendor. Run as root, so the
# code stays read-only for the user the app runs as; node_modules is not needed once htmx is copied.
RUN make install \
 && rm -rf node_modules /root/.npm

RUN useradd --create-home --uid 1000 --user-group relance \
 && mkdir -p /data \
 && chown relance:relance /data
USER relance
VOLUME /data
EXPOSE 5000

# At each start, the rest of `make run`: migrate, the demo data only when RELANCE_DEMO=1, then
# web + worker + Redis on all interfaces. `exec` leaves the supervisor as tini's only child.
ENTRYPOINT ["tini", "--"]
CMD ["sh", "-c", "if [ \"${RELANCE_DEMO:-0}\" = 1 ]; then make demo; else make migrate; fi && exec .venv/bin/flask --app app serve --host 0.0.0.0"]
