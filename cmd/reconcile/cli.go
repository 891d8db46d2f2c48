package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/importer"
)

// command is one subcommand: a type holding its flags' values, with its
// usage text, the flags it registers and what it does with the arguments
// left once they are parsed.
type command interface {
	usage() usage
	flags(fs *pflag.FlagSet)
	Run(ctx context.Context, args []string) error
}

// parent is a command with subcommands of its own (configs).
type parent interface {
	subcommands() []command
}

// usage is what a command says of itself.
type usage struct {
	use   string // its name and arguments: "run [flags] FILE..."
	short string // its line in the command list
	long  string // what -h says above the flags
}

const rootLong = `reconcile validates spreadsheets of task-activity results against the
tenant's result types, sends the valid rows to the Reten integration API and
writes a report that classifies every row.

The API is reached with RETEN_BASE_URL and RETEN_API_KEY (or
RETEN_API_KEY_FILE) from the environment; the key is never taken from a flag.`

// cli is the command tree. cobra parses it: flags anywhere among the
// arguments, -h and --help on every command, suggestions for a misspelt
// command, shell completion; each cobra.Command only wraps a command.
type cli struct {
	env  *environ
	root *cobra.Command
}

func newCLI(env *environ) *cli {
	root := &cobra.Command{
		Use:     "reconcile",
		Short:   "validate spreadsheets of task results and send them to the Reten API",
		Long:    rootLong,
		Version: version(),
		// Main prints errors, once, with the command they came from; a
		// mistake in the command line gets one line of usage, not forty.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)

	for _, c := range []command{
		&demoCommand{env: env},
		&runCommand{env: env},
		&retryCommand{env: env},
		&validateCommand{env: env},
		&configsCommand{env: env},
		&ledgerCommand{env: env},
		&reportCommand{env: env},
		&sandboxCommand{env: env},
		&serveCommand{env: env},
	} {
		root.AddCommand(wrap(c))
	}

	// Added now rather than when the command line runs, so the command list
	// shows them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return &cli{env: env, root: root}
}

// wrap makes c, and its subcommands, cobra commands whose RunE is Run.
func wrap(c command) *cobra.Command {
	u := c.usage()
	cmd := &cobra.Command{
		Use:   u.use,
		Short: u.short,
		Long:  u.long,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := c.Run(cmd.Context(), args)
			var ce *codeError
			if err != nil && !errors.As(err, &ce) {
				// Unmarked, it would pass for a mistake in the command line
				// (execute).
				err = withCode(exitError, err)
			}
			return err
		},
	}
	c.flags(cmd.Flags())
	if p, ok := c.(parent); ok {
		for _, sub := range p.subcommands() {
			cmd.AddCommand(wrap(sub))
		}
	}
	return cmd
}

// execute runs the command line args. name is the command it ran, for the
// error message.
func (c *cli) execute(ctx context.Context, args []string) (name string, err error) {
	c.root.SetArgs(goStyleFlags(c.root, args))
	cmd, err := c.root.ExecuteContextC(ctx)
	name = c.root.Name()
	if cmd != nil {
		name = cmd.CommandPath()
	}
	var ce *codeError
	if err != nil && !errors.As(err, &ce) {
		// Only cobra's own errors are unmarked (wrap marks the others):
		// an unknown command or bad arguments.
		err = withCode(exitUsage, fmt.Errorf("%s\n%s", strings.TrimSpace(err.Error()), oneLineUsage(cmd)))
	}
	return name, err
}

// commandList prints the help of reconcile itself: what it is, and its commands.
func (c *cli) commandList(w io.Writer) {
	c.root.SetOut(w)
	defer c.root.SetOut(c.env.stdout)
	c.root.Help()
}

// oneLineUsage is what a mistake in the command line gets besides the error.
func oneLineUsage(cmd *cobra.Command) string {
	if cmd == nil {
		return "usage: reconcile COMMAND [flags] [args] (see reconcile help)"
	}
	return fmt.Sprintf("usage: %s (see %s -h)", cmd.UseLine(), cmd.CommandPath())
}

// flagError answers a flag cobra could not parse: the mistake, the flag
// meant when the name is a near miss, and one line of usage.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		name, dashes := ne.GetSpecifiedName(), "--"
		if s := ne.GetSpecifiedShortnames(); s != "" {
			name, dashes = s, "-"
		}
		msg = "unknown flag " + dashes + name
		if s := suggestFlag(cmd.Flags(), name); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	}
	return withCode(exitUsage, fmt.Errorf("%s\n%s", msg, oneLineUsage(cmd)))
}

// suggestFlag is the visible flag of fs whose name is nearest to name, if
// it is near enough to be a slip of the keyboard or a name cut short.
func suggestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDist := "", 3 // at most two edits, as cobra suggests commands
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		d := importer.EditDistance(strings.ToLower(name), n)
		if len(name) >= 3 && strings.HasPrefix(n, strings.ToLower(name)) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// goStyleFlags rewrites -name as --name wherever name is the long name of
// a flag: Go's own flag package, which reconcile used before cobra, takes
// both, and scripts written then keep working.
func goStyleFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true, "version": true}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && long[name] {
			out[i] = "-" + a
		}
	}
	return out
}
