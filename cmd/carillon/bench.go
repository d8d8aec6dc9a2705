package main

import (
	"context"
	"fmt"
)

func cmdBench(ctx context.Context, e *env, args []string) error {
	return fmt.Errorf("bench: written next")
}
