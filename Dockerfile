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
USER nobody
EXPOSE 8080
CMD ["waitless", "serve", "--host", "0.0.0.0", "--port", "8080"]
