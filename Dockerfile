# triage_exporter in a container image: built on Debian bookworm with the
# packages of scripts/install-deps.sh, run on bookworm-slim with only the
# runtime libraries, as user 65534 (what deploy/kubernetes expects).
#   docker build -t triage-exporter:0.1.0 .
# Not built by the tests: the machines that run them have no container engine.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config git ca-certificates \
      prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libyaml-cpp-dev \
      nlohmann-json3-dev libcmark-gfm-dev libcmark-gfm-extensions-dev \
      libssl-dev zlib1g-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_TESTS=OFF \
      -DTRIAGE_INTEGRATION_TESTS=OFF -DTRIAGE_BENCH=OFF -DTRIAGE_INSTALL_SYSTEMD=OFF \
 && cmake --build /build -j"$(nproc)" --target triage_exporter triage_rulegen \
 && DESTDIR=/stage cmake --install /build --prefix /usr --strip

FROM debian:bookworm-slim
# The shared libraries the exporter links, from the same packages.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libyaml-cpp0.7 libcivetweb1 libprometheus-cpp-core1.0 \
      libcmark-gfm0.29.0.gfm.6 libcmark-gfm-extensions0.29.0.gfm.6 libssl3 zlib1g libcrypt1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /stage/usr/ /usr/
# A configuration to start with (the demo's: it probes loopback, so mount your
# own over /etc/triage_exporter/config/, as deploy/kubernetes does).
COPY examples/demo.yaml /etc/triage_exporter/config/config.yaml
COPY examples/demo.token /etc/triage_exporter/config/demo.token
USER 65534:65534
EXPOSE 9479
ENTRYPOINT ["/usr/bin/triage_exporter"]
CMD ["--config.file=/etc/triage_exporter/config/config.yaml"]
