FROM python:3.11-slim
# Sources are built from /src and removed: the service runs the installed package (with its
# compiled ranking loop), never a source copy without it on the import path.
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY requirements/run.lock ./requirements/run.lock
# Exact versions from the lock file first, then the project without resolving again.
RUN pip install --no-cache-dir -r requirements/run.lock
COPY waitless ./waitless
COPY feeds ./feeds
COPY routing ./routing
COPY load_tests ./load_tests
# A C compiler only while installing: it builds the compiled ranking loop and travel estimate
# (setup.py), then goes.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir --no-deps . \
    && cd / && python -c "from waitless.ranking import core; import routing._estimate; assert core.AVAILABLE" \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/* /src
WORKDIR /app
# A user of its own (not the shared `nobody`) owning only the spool; the installed code stays
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
