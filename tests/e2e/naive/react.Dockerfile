# Naive single-stage twin of the generated react Dockerfile (the brief's first example in
# section III): FROM the build image, install, copy, build, run (Vite's preview server).
# For tests/e2e and benchmarks only.
FROM node:24-trixie-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
EXPOSE 8080
CMD ["npx", "vite", "preview", "--host", "0.0.0.0", "--port", "8080"]
