# syntax=docker/dockerfile:1
# Build stage: the official Bun image (the same Bun as package.json's pinned `bun`) compiles kubeport
# into one self-contained executable. test/packaging/dockerfile.test.ts runs these steps on CI.
# --bytecode (ESM, as the source is: main.ts awaits at top level) ships JavaScriptCore's bytecode in
# the binary, so a start does not parse and compile 2.5 MB of JavaScript first; --splitting puts what
# is imported on first use (discovery's AWS SDK, the demo's simulators, …) in chunks of their own,
# loaded only then; --compile-jit-policy=4 keeps run-once start-up code in the interpreter (the
# process sets the normal policy 10 s after it is running) (README: cold start).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
# package-lock.json is the one lockfile: bun install reads it (bunfig.toml: no bun.lock is written).
COPY package.json package-lock.json bunfig.toml ./
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN bun build src/main.ts --compile --minify --sourcemap --bytecode --format=esm --splitting --compile-jit-policy=4 --outfile /out/kubeport \
 && /out/kubeport version \
 && mkdir -p /out/data && chmod 0700 /out/data

# Runtime stage: glibc + libgcc only (the Bun runtime needs nothing else), non-root by default.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/kubeport /usr/local/bin/kubeport
# The data dir (SQLite registry with the signing keys, generated CA key) belongs to the nonroot
# user (uid 65532) alone: 0700 (kubeport would fix it at start, but the image starts right).
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /var/lib/kubeport
USER nonroot:nonroot
ENV KUBEPORT_DATA_DIR=/var/lib/kubeport
VOLUME ["/var/lib/kubeport"]
EXPOSE 3080
ENTRYPOINT ["/usr/local/bin/kubeport"]
CMD ["start", "-c", "/etc/kubeport.yaml"]
