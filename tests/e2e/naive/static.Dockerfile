# Naive single-stage twin of the generated static Dockerfile: FROM the runtime image, copy the
# site, run (as the image's defaults: root master process, the image's own configuration).
# For tests/e2e and benchmarks only.
FROM nginx:1.30-trixie
COPY site/ /usr/share/nginx/html/
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
