# Naive single-stage twin of the generated fastapi Dockerfile (the brief's first example in
# section III): FROM the build image, install, copy, run. For tests/e2e and benchmarks only.
FROM python:3.13-slim-trixie
WORKDIR /app
COPY requirements.txt requirements.txt
RUN pip install --no-cache-dir -r requirements.txt
COPY app app
EXPOSE 8000
CMD ["python", "-m", "app"]
