# Counter-example for tests/e2e/test_layers.py (the brief, section II): the anti-patterns that
# leak a secret into an image. Never copy this.
#   - token.txt is COPYed in one layer and deleted by a later RUN: the running container has no
#     /tmp/token.txt, but the COPY layer still holds it (`docker save` shows it);
#   - INDEX_TOKEN is a build argument used by a RUN: its value is kept in the image's history.
FROM python:3.13-slim-trixie
ARG INDEX_TOKEN
COPY token.txt /tmp/token.txt
RUN test -s /tmp/token.txt && test -n "$INDEX_TOKEN"
RUN rm /tmp/token.txt
CMD ["python3", "-c", "import os; print('present' if os.path.exists('/tmp/token.txt') else 'absent')"]
