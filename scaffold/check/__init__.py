"""`dockergen check`: audit any repository's Dockerfiles, compose files and .dockerignore files
against the brief's rules and a template set's policy (issue 15)."""
