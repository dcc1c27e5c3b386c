// Command roomwire is Roomwire's one binary: the hub itself (serve), its
// schema (migrate), and the tools around it.
//
// Flags are GNU style (github.com/spf13/pflag): --flag value or --flag=value,
// anywhere on the line, before or after the arguments. pflag is a drop-in for
// the standard flag package with that one difference and no dependencies;
// cobra's command tree, generated docs and completion would not pay for
// themselves with a dozen commands that each parse their own flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata" // property time zones must resolve on machines without tzdata

	flag "github.com/spf13/pflag"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands lists every subcommand; files add theirs in init.
var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("roomwire: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errHelp means help was asked for and has been printed.
var errHelp = flag.ErrHelp

// usageError is a wrong command line: it says what was wrong, and main adds
// where the help is.
type usageError struct {
	cmd string // the command whose --help explains it, e.g. "dlq list"
	msg string
}

func (e *usageError) Error() string { return e.msg }

// badUsage reports a wrong command line of the command fs parses.
func badUsage(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{cmd: fs.Name(), msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				c.run(context.Background(), append(args[2:len(args):len(args)], "--help")) //nolint:errcheck // help only prints
				return 0
			}
		}
		usage(stdout)
		return 0
	case "-v", "--version":
		printVersion(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		what := "unknown command"
		if strings.HasPrefix(args[0], "-") {
			what = "unknown flag"
		}
		fmt.Fprintf(stderr, "roomwire: %s %q\nRun 'roomwire --help' for the commands.\n", what, args[0])
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, orphaned := stopWithGoRun(ctx)
	defer orphaned()
	err := c.run(ctx, args[1:])
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "roomwire %s: %s\nRun 'roomwire %s --help' for usage.\n", ue.cmd, ue.msg, ue.cmd)
		return 2
	default:
		fmt.Fprintf(stderr, "roomwire %s: %v\n", c.name, err)
		var ec exitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
}

// exitCoder is an error that chooses the process's exit code.
type exitCoder interface{ ExitCode() int }

func usage(w io.Writer) {
	fmt.Fprintf(w, "Roomwire %s: a channel-manager integration hub for hotels.\n\nUsage:\n  roomwire <command> [arguments] [--flags]\n\nCommands:\n", moduleVersion())
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'roomwire <command> --help' for a command's arguments and flags,\n'roomwire --version' for the version.\n")
}

// newFlags returns the flag set of command name (e.g. "dlq list"): --help
// prints its usage line, its description and its flags on standard output.
func newFlags(name, usageLine, description string) *flag.FlagSet {
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

// parseFlags parses args; a bad flag becomes a usageError that names it.
// pflag reads "-config" as the shorthands -c -o -n ...; say what was meant.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && fs.Lookup(name) != nil {
			return badUsage(fs, "%s: flags take two dashes: --%s", a, strings.TrimPrefix(a, "-"))
		}
	}
	return badUsage(fs, "%v", err)
}

// noArgs refuses arguments a command does not take.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return badUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// subcommand is one action of a command that has several (dlq list, ...).
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// runSubcommand runs the action args[0] of command parent, or prints the
// parent's help listing its actions.
func runSubcommand(ctx context.Context, parent, description string, subs []subcommand, args []string) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(args) == 0 {
		return &usageError{cmd: parent, msg: "name what to do: " + strings.Join(names, ", ")}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Printf("Usage: roomwire %s <%s> [arguments] [--flags]\n\n%s\n\nCommands:\n", parent, strings.Join(names, "|"), strings.TrimSpace(description))
		for _, s := range subs {
			fmt.Printf("  %-10s %s\n", s.name, s.summary)
		}
		fmt.Printf("\nRun 'roomwire %s <command> --help' for its arguments and flags.\n", parent)
		return errHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:])
		}
	}
	return &usageError{cmd: parent, msg: fmt.Sprintf("unknown command %q: use %s", args[0], strings.Join(names, ", "))}
}

// buildVersion may be set at link time (-ldflags "-X main.buildVersion=v1.2.3")
// where the build has no module version or VCS information, as in a
// container build without .git.
var buildVersion = ""

// moduleVersion is the version this binary was built as: the module version
// go records (a tag, or a pseudo-version from the VCS revision), else "dev".
func moduleVersion() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// printVersion prints the module version and the VCS revision the build info
// records; `go run` and builds outside a git checkout record none, and say so.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "roomwire %s\n", moduleVersion())
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(w, "no build information")
		return
	}
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	fmt.Fprintf(w, "module   %s\n", info.Main.Path)
	if rev := s["vcs.revision"]; rev != "" {
		state := "clean"
		if s["vcs.modified"] == "true" {
			state = "with uncommitted changes"
		}
		fmt.Fprintf(w, "revision %s (%s, %s)\n", rev, s["vcs.time"], state)
	} else {
		fmt.Fprintln(w, "revision unknown (built without VCS information; go build in a git checkout records it)")
	}
	fmt.Fprintf(w, "go       %s\n", info.GoVersion)
}

func init() {
	register(command{name: "version", summary: "print the version and the revision it was built from", run: func(ctx context.Context, args []string) error {
		fs := newFlags("version", "", "Prints Roomwire's module version, the VCS revision it was built from, and the Go version.")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs); err != nil {
			return err
		}
		printVersion(os.Stdout)
		return nil
	}})
}
