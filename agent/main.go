// Command agent is a command-line MCP client that reaches the todo app's
// MCP server through the enterprise IdP: go run ./agent help
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"xaa.example/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}
