# One image with the five services; docker-compose.yml runs each in its own
# container. Build: docker build -t xaa-demo .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
# The five binaries as make dev-all builds them (scripts/build.sh says why
# its build tag and CGO_ENABLED=0): idp, wiki-as, todo-as, todo and wiki.
RUN ./scripts/build.sh /out

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# The debug console's key (serve.DebugTrace), one file that the five
# containers share through the debug-key volume of docker-compose.yml.
RUN mkdir -p /var/lib/xaa-debug && chown nobody /var/lib/xaa-debug
ENV DEBUG_TRACE_KEY_FILE=/var/lib/xaa-debug/trace.key
USER nobody
WORKDIR /tmp
