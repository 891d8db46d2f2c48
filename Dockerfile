# reconcile in a container: built from this repository, run as a user
# without privileges on a base with nothing but the binary. See
# docs/deployment.md for the volumes and a scheduled run.

FROM golang:1.26-alpine AS build
WORKDIR /src
# The modules first, so that a change of code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# No cgo: the binary runs on a base without a C library. .git is not in the
# build context (.dockerignore), so the build stamps no commit.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/reconcile ./cmd/reconcile \
 && mkdir -p /out/state /out/inbox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/reconcile /usr/local/bin/reconcile
# Folders the unprivileged user owns, for the ledger and the inbox; mount
# volumes over them to keep them across containers.
COPY --from=build --chown=65532:65532 /out/state /state
COPY --from=build --chown=65532:65532 /out/inbox /inbox
ENV XDG_STATE_HOME=/state
USER 65532:65532
WORKDIR /inbox
ENTRYPOINT ["/usr/local/bin/reconcile"]
CMD ["run", "--inbox", "/inbox"]
