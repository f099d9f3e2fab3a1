# One image with the five services; docker-compose.yml runs each in its own
# container. Build: docker build -t xaa-demo .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
# -tags nomsgpack: gin without its MessagePack codec, which nothing here uses
# and which is a quarter of each binary (docs/PERFORMANCE.md). CGO_ENABLED=0:
# static binaries, as scripts/dev-all.sh builds them.
ENV CGO_ENABLED=0
RUN mkdir -p /out && \
    go build -tags nomsgpack -o /out/idp ./idp && \
    go build -tags nomsgpack -o /out/wiki-as ./authservers/wiki && \
    go build -tags nomsgpack -o /out/todo-as ./authservers/todo && \
    go build -tags nomsgpack -o /out/todo ./apps/todo && \
    go build -tags nomsgpack -o /out/wiki ./apps/wiki

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
# The debug console's key (serve.DebugTrace), one file that the five
# containers share through the debug-key volume of docker-compose.yml.
RUN mkdir -p /var/lib/xaa-debug && chown nobody /var/lib/xaa-debug
ENV DEBUG_TRACE_KEY_FILE=/var/lib/xaa-debug/trace.key
USER nobody
WORKDIR /tmp
