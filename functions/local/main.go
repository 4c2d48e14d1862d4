// Command local runs Parley on this machine (make dev): DynamoDB Local and
// the API in one process. `local token admin|agent` prints a dev token;
// `local token machine <scope>...` one for the demo machine client.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/inbox"
)

func main() {
	cfg := config.LocalFromEnv()
	if len(os.Args) >= 3 && os.Args[1] == "token" && os.Args[2] == "machine" {
		token, err := localstack.MachineToken(cfg, os.Args[3:])
		exitOn(err)
		fmt.Println(token)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "token" {
		token, err := localstack.Token(cfg, inbox.Role(os.Args[2]))
		exitOn(err)
		fmt.Println(token)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exitOn(localstack.Run(ctx, cfg, os.Stdout))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}
