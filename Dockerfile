# A minimal image of ghostsim for sweeps on Kubernetes or Slurm
# (docs/SCALE-OUT.md). Build from the repository's root:
#   docker build --build-arg VERSION=$(git rev-parse --short HEAD) -t ghostsim:latest .
# VERSION names the build in every sweep result, so that `ghostsim merge`
# refuses shards of different builds; give every shard the same image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/ghostsim/ghostsim/cli.version=${VERSION}" -o /ghostsim ./cmd/ghostsim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ghostsim /ghostsim
ENTRYPOINT ["/ghostsim"]
