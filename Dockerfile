# sender: one image for every role.
#   web (default):  docker run -p 8000:8000 --env-file sender.env IMAGE
#   worker:         docker run --env-file sender.env IMAGE python worker.py   (runs RQ's scheduler too; any number)
#   sweeper:        docker run --env-file sender.env IMAGE sender campaigns sweep --every 60   (one)
#   migrations:     docker run --env-file sender.env IMAGE sender db upgrade   (a deploy step, before web)
# compose.yaml runs them all (with PostgreSQL, Redis and its Sentinels); README, "Scaling out".
# Run them with --restart unless-stopped: a process that loses Redis or the database for good exits and is restarted.
# Set DATABASE_URL, REDIS_URL, SECRET_KEYS and HASH_KEY explicitly: generated keys would differ per container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INSTANCE_PATH=/var/lib/sender \
    PROMETHEUS_MULTIPROC_DIR=/tmp/sender-metrics

RUN groupadd --system --gid 10001 sender \
    && useradd --system --uid 10001 --gid sender --home-dir /app --shell /usr/sbin/nologin sender \
    && install -d -o sender -g sender -m 0700 /var/lib/sender

# Build from a throw-away copy: the wheel carries templates/, translations/, static/ and migrations/ inside
# the package.
COPY pyproject.toml README.md constraints.txt /tmp/src/
COPY sender /tmp/src/sender
COPY templates /tmp/src/templates
COPY translations /tmp/src/translations
COPY static /tmp/src/static
COPY migrations /tmp/src/migrations
# constraints.txt pins every package to the versions CI tested.
RUN cd /tmp/src && pip install -c constraints.txt . && cd / && rm -rf /tmp/src

WORKDIR /app
COPY worker.py /app/worker.py

USER sender
EXPOSE 8000

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-", \
     "--logger-class", "sender.web.access_log.RedactingGunicornLogger", \
     "-c", "python:sender.web.gunicorn_conf", "sender:create_app()"]
