// Package cli holds the conventions every roomwire command follows: GNU-style
// flags (github.com/spf13/pflag), --help on standard output, usage errors that
// name the command whose help explains them, and actions of a command that has
// several (dlq list, dlq show, ...).
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	flag "github.com/spf13/pflag"
)

// Command is one subcommand of roomwire.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string) error
}

// ErrHelp means help was asked for and has been printed.
var ErrHelp = flag.ErrHelp

// UsageError is a wrong command line: it says what was wrong, and the
// binary adds where the help is.
type UsageError struct {
	Cmd string // the command whose --help explains it, e.g. "dlq list"
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }

// BadUsage reports a wrong command line of the command fs parses.
func BadUsage(fs *flag.FlagSet, format string, args ...any) error {
	return &UsageError{Cmd: fs.Name(), Msg: fmt.Sprintf(format, args...)}
}

// NewFlags returns the flag set of command name (e.g. "dlq list"): --help
// prints its usage line, its description and its flags on standard output.
func NewFlags(name, usageLine, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(os.Stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: roomwire %s %s\n\n%s\n", name, usageLine, strings.TrimSpace(description))
		if flags := fs.FlagUsages(); flags != "" {
			fmt.Fprintf(w, "\nFlags:\n%s", flags)
		}
	}
	return fs
}

// ParseFlags parses args; a bad flag becomes a UsageError that names it.
// pflag reads "-config" as the shorthands -c -o -n ...; say what was meant.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && fs.Lookup(name) != nil {
			return BadUsage(fs, "%s: flags take two dashes: --%s", a, strings.TrimPrefix(a, "-"))
		}
	}
	return BadUsage(fs, "%v", err)
}

// NoArgs refuses arguments a command does not take.
func NoArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return BadUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// Subcommand is one action of a command that has several (dlq list, ...).
type Subcommand struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string) error
}

// RunSubcommand runs the action args[0] of command parent, or prints the
// parent's help listing its actions.
func RunSubcommand(ctx context.Context, parent, description string, subs []Subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	if len(args) == 0 {
		return &UsageError{Cmd: parent, Msg: "name what to do: " + strings.Join(names, ", ")}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Printf("Usage: roomwire %s <%s> [arguments] [--flags]\n\n%s\n\nCommands:\n", parent, strings.Join(names, "|"), strings.TrimSpace(description))
		for _, s := range subs {
			fmt.Printf("  %-10s %s\n", s.Name, s.Summary)
		}
		fmt.Printf("\nRun 'roomwire %s <command> --help' for its arguments and flags.\n", parent)
		return ErrHelp
	}
	for _, s := range subs {
		if s.Name == args[0] {
			return s.Run(ctx, args[1:])
		}
	}
	return &UsageError{Cmd: parent, Msg: fmt.Sprintf("unknown command %q: use %s", args[0], strings.Join(names, ", "))}
}

// ConfigHelp ends the description of every command that reads the
// configuration.
const ConfigHelp = `
Configuration comes from the file named by --config (or ROOMWIRE_CONFIG), then
the environment: DATABASE_URL, ROOMWIRE_HTTP_ADDR, ROOMWIRE_ADMIN_KEY,
ROOMWIRE_STATE_DIR, ROOMWIRE_KAFKA_BROKERS, ROOMWIRE_LOG_LEVEL, ...
See config/roomwire.example.yaml for every key and its default.`

// ConfigFlag declares --config, defaulting to ROOMWIRE_CONFIG.
func ConfigFlag(fs interface {
	StringVar(*string, string, string, string)
}) *string {
	path := new(string)
	fs.StringVar(path, "config", os.Getenv("ROOMWIRE_CONFIG"), "YAML configuration `file` (env ROOMWIRE_CONFIG)")
	return path
}
