FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/run.lock ./requirements/run.lock
# Exact versions from the lock file first, then the project without resolving again.
RUN pip install --no-cache-dir -r requirements/run.lock
COPY waitless ./waitless
COPY feeds ./feeds
COPY routing ./routing
COPY load_tests ./load_tests
RUN pip install --no-cache-dir --no-deps .
# A user of its own (not the shared `nobody`) owning only the spool; the code in /app stays
# root-owned and read-only to it. The spool path is absolute: a relative one would resolve
# inside /app, which this user cannot write.
RUN useradd --system --home-dir /var/lib/waitless --shell /usr/sbin/nologin waitless \
    && mkdir -p /var/lib/waitless/spool \
    && chown -R waitless:waitless /var/lib/waitless
ENV WAITLESS_SPOOL_DIR=/var/lib/waitless/spool \
    WAITLESS_GRAPH_CACHE=/app/graph_cache
VOLUME ["/var/lib/waitless/spool"]
USER waitless
EXPOSE 8080
CMD ["waitless", "serve", "--host", "0.0.0.0", "--port", "8080"]
