package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/reten/reconcile/internal/validate"
)

func runConfigs(ctx context.Context, env *environ, args []string) error {
	if len(args) == 0 || args[0] != "pull" {
		return usageError("usage: reconcile configs pull [--out FILE]")
	}
	fs := flag.NewFlagSet("configs pull", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	out := fs.String("out", validate.DefaultCataloguePath(), "where to write the configuration cache")
	if err := fs.Parse(args[1:]); err != nil {
		return withCode(exitUsage, errSilent)
	}
	if fs.NArg() > 0 {
		return usageError("configs pull takes no arguments, got %q", fs.Args())
	}
	client, err := clientFromEnv(env)
	if err != nil {
		return err
	}
	configs, err := client.ListResultTypeConfigs(ctx)
	if err != nil {
		return apiFailure("downloading result types", err)
	}
	if len(configs) == 0 {
		return withCode(exitError, fmt.Errorf("the API at %s lists no result types for this key's tenant: nothing could be validated against it", client.BaseURL))
	}
	cat := &validate.Catalogue{FetchedAt: time.Now().UTC(), BaseURL: client.BaseURL, Configs: configs}
	if err := validate.SaveCatalogue(*out, cat); err != nil {
		return withCode(exitError, fmt.Errorf("writing %s: %w", *out, err))
	}
	fmt.Fprintf(env.stdout, "saved %d result types from %s to %s\n", len(configs), client.BaseURL, *out)
	for _, c := range configs {
		extra := ""
		if c.RequiresFutureScheduledAt {
			extra = " (requires future_scheduled_at)"
		}
		fmt.Fprintf(env.stdout, "  %-20s %s%s\n", c.Code, c.Label, extra)
	}
	return nil
}
