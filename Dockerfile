# syntax=docker/dockerfile:1
#
# keeper-azmon: Fluent Bit 5.1.1 with the keeper_azmon output plugin.
#
#   docker build -t keeper-azmon:dev .
#   docker run --rm --stop-timeout 40 \
#     -e KEEPER_AZMON_TENANT_ID -e KEEPER_AZMON_CLIENT_ID -e KEEPER_AZMON_CLIENT_SECRET \
#     -e KEEPER_AZMON_ENDPOINT_URL \
#     -v /var/log/keeper:/var/log/keeper:ro \
#     -v keeper-azmon-state:/var/lib/fluent-bit \
#     keeper-azmon:dev
#
# --stop-timeout leaves room for the configuration's Grace (30 s) to flush.
# The YAML example is installed too: add `-c /fluent-bit/etc/fluent-bit.yaml`.
#
# Why bookworm for the build: fluent/fluent-bit:5.1.1 is distroless Debian 13
# "trixie" (gcr.io/distroless/cc-debian13, glibc 2.41; upstream moved from
# Debian 12 to 13 in fluent/fluent-bit#11006). The plugin is a cgo shared
# object linked against the build stage's glibc, and it loads on that glibc or
# a newer one, never an older one. Debian 12 "bookworm" has glibc 2.36, older
# than the runtime's, so the .so loads in 5.1.1 and also in earlier
# bookworm-based Fluent Bit images. Do not build on a newer Debian than the
# runtime image.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so source edits do not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# make builds out_keeper_azmon.so (go build -buildmode=c-shared, CGO_ENABLED=1).
# The example configurations load the plugin with -e; the image's copies switch
# on their "#@image " lines so that they load it by path. The empty state
# directory is copied into the distroless stage, which has no shell.
RUN make && mkdir -p /out/etc /out/var/lib/fluent-bit \
    && sed 's/^#@image //' fluent-bit.conf.example > /out/etc/fluent-bit.conf \
    && sed 's/^#@image //' fluent-bit.yaml.example > /out/etc/fluent-bit.yaml

FROM fluent/fluent-bit:5.1.1
COPY --from=build /src/out_keeper_azmon.so /fluent-bit/bin/out_keeper_azmon.so
# plugins.conf names /fluent-bit/bin/out_keeper_azmon.so. parsers.conf replaces
# the image's own (the examples only need its json parser).
COPY plugins.conf parsers.conf /fluent-bit/etc/
COPY --from=build /out/etc/fluent-bit.conf /out/etc/fluent-bit.yaml /fluent-bit/etc/
COPY examples/keeper_events.jsonl /fluent-bit/etc/examples/keeper_events.jsonl
# Filesystem buffer and tail offsets (storage.path, DB): mount a volume here so
# they outlive the container.
COPY --from=build /out/var/lib/fluent-bit /var/lib/fluent-bit
ENTRYPOINT ["/fluent-bit/bin/fluent-bit"]
CMD ["-c", "/fluent-bit/etc/fluent-bit.conf"]
