# PointsOps image: one image for web (gunicorn), worker and beat (docker-compose.yml).

# Front-end files come from npm (package.json); only node_modules is carried over.
FROM node:22-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
# (The project installs no packages of its own: it runs from /app through manage.py.)
COPY pyproject.toml ./
RUN pip install .

COPY --from=frontend /build/node_modules ./node_modules
COPY . .

# Static files are collected at build time and served by WhiteNoise; the key is a placeholder
# that exists only for this step (the web server refuses to serve without one when DEBUG is off).
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 pointsops \
    && mkdir -p /app/media \
    && chown pointsops /app/media

USER pointsops
EXPOSE 8000
# Request-line and header limits: config/gunicorn.conf.py (docs/operations.md).
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--config", "config/gunicorn.conf.py"]
