package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
)

// configsCommand is `reconcile configs`, whose one subcommand is pull.
type configsCommand struct{ env *environ }

func (c *configsCommand) usage() usage {
	return usage{
		use:   "configs COMMAND",
		short: "download the tenant's result types into a local cache (configs pull)",
		long:  "Manages the local cache of the tenant's result types, for validating offline.",
	}
}

func (c *configsCommand) flags(*pflag.FlagSet) {}

func (c *configsCommand) subcommands() []command { return []command{&pullCommand{env: c.env}} }

// Run is reached with no subcommand, or an unknown one.
func (c *configsCommand) Run(context.Context, []string) error {
	return usageError("usage: reconcile configs pull [--out FILE]")
}

// pullCommand is `reconcile configs pull`: download the result types into a
// cache file that validate and run --configs read.
type pullCommand struct {
	env *environ
	out string
}

func (c *pullCommand) usage() usage {
	return usage{
		use:   "pull [flags]",
		short: "download the tenant's result types into a local cache",
		long: `Downloads the tenant's result types into a cache file, recording when and from
where, so that validate and run --configs need no network.`,
	}
}

func (c *pullCommand) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.out, "out", validate.DefaultCataloguePath(), "`FILE` to write the configuration cache to")
}

func (c *pullCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usageError("configs pull takes no arguments, got %q", args)
	}
	client, err := clientFromEnv(c.env)
	if err != nil {
		return err
	}
	cat, err := engine.DownloadCatalogue(ctx, &submit.Submitter{Client: client})
	if err != nil {
		return failure(err)
	}
	if err := validate.SaveCatalogue(c.out, cat); err != nil {
		return withCode(exitError, fmt.Errorf("writing %s: %w", c.out, err))
	}
	fmt.Fprintf(c.env.stdout, "saved %d result types from %s to %s\n", len(cat.Configs), client.BaseURL, c.out)
	for _, rt := range cat.Configs {
		extra := ""
		if rt.RequiresFutureScheduledAt {
			extra = " (requires future_scheduled_at)"
		}
		fmt.Fprintf(c.env.stdout, "  %-20s %s%s\n", rt.Code, rt.Label, extra)
	}
	return nil
}
