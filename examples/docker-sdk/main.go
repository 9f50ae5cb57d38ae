// Command docker-sdk creates a container with restart policy "always" and starts it through
// the Go Docker SDK, against whatever DOCKER_HOST names (skiff: unix://DATA_DIR/docker.sock).
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o docker-sdk .
//	DOCKER_HOST=unix:///var/lib/skiff/docker.sock ./docker-sdk -name hello -image busybox -- sh -c 'echo hi; sleep 2'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

func main() {
	name := flag.String("name", "sdk-hello", "container name")
	image := flag.String("image", "busybox", "image to run")
	flag.Parse()
	cmd := flag.Args()
	if len(cmd) == 0 {
		cmd = []string{"sh", "-c", "echo hello from the Go SDK; sleep 1"}
	}

	ctx := context.Background()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	defer cli.Close()

	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: *image, Cmd: cmd},
		&container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "always"}},
		nil, nil, *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		os.Exit(1)
	}
	if err := cli.ContainerStart(ctx, created.ID, types.ContainerStartOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	fmt.Println(created.ID)
}
