package main

import (
	"context"
	"errors"
)

func runSandbox(ctx context.Context, env *environ, args []string) error {
	return withCode(exitError, errors.New("not built yet"))
}
