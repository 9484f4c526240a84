# Naive single-stage twin of the generated go Dockerfile (the brief's first example in
# section III): FROM the build image, copy, build, run. For tests/e2e and benchmarks only.
FROM golang:1.25-trixie
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /usr/local/bin/server .
EXPOSE 8080
CMD ["server"]
