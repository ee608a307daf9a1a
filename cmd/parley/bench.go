package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parleyim/parley/internal/bench"
)

// benchCmd runs `parley bench`, the load tester (internal/bench).
func benchCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bench.Main(ctx, args, os.Stdin, stdout, stderr)
}
