# jeco-server as a container image: a static-looking image with nothing but the binary, the
# libraries it links, CA certificates and an unprivileged user. The data directory is a volume.
#
#   docker build -t jeco-server .
#   docker run -d --name jeco -p 7878:7878 -v jeco-data:/data \
#     -e JECO_ADMIN_USERNAME=admin -e JECO_ADMIN_PASSWORD='change me to something long' jeco-server
#
# With Docker Compose (the server behind nginx): see compose.yaml. CI builds the runtime stage
# below with buildah from a locally built binary and runs it with podman (scripts/test-container.sh);
# the build stage needs the rust image from a registry, which CI cannot reach.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p jeco-server --bin jeco-server \
 && strip target/release/jeco-server \
 && bash scripts/container-rootfs.sh target/release/jeco-server /rootfs

FROM scratch AS runtime
COPY --from=build /rootfs/ /
USER 10001:10001
VOLUME /data
ENV JECO_DATA_DIR=/data \
    JECO_BIND=0.0.0.0:7878
EXPOSE 7878
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/bin/jeco-server", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/jeco-server"]
CMD ["serve"]
