# Naive single-stage twin of the generated express Dockerfile (the brief's first example in
# section III): FROM the build image, install, copy, run. For tests/e2e and benchmarks only.
FROM node:24-trixie-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
EXPOSE 3000
CMD ["node", "server.js"]
