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

	"github.com/roomwire/roomwire/cmd/roomwire/internal/bench"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/chaos"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/demo"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/ops"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/sim"
)

// commands are roomwire's subcommands by name.
var commands = map[string]cli.Command{}

func init() {
	for _, c := range []cli.Command{
		serveCommand, migrateCommand, healthcheckCommand, translateCommand, connectorsCommand, ariCommand,
		ops.DLQCommand, ops.TimelineCommand, sim.Command, demo.Command, bench.Command, chaos.Command, versionCommand,
	} {
		if _, dup := commands[c.Name]; dup {
			panic("roomwire: command registered twice: " + c.Name)
		}
		commands[c.Name] = c
	}
}

func main() {
	collectGarbageLessOften()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent is the heap growth that triggers a collection when GOGC
// is not set. The hub's live heap is small (tens of MB) and nearly all it
// allocates is garbage of one message or request, so Go's default of 100
// spends a tenth of the CPU collecting; four times the live heap is a few
// hundred MB more memory for most of that CPU back.
const defaultGCPercent = 400

// collectGarbageLessOften applies defaultGCPercent unless GOGC says
// otherwise.
func collectGarbageLessOften() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
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
				c.Run(context.Background(), append(args[2:len(args):len(args)], "--help")) //nolint:errcheck // help only prints
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
	err := c.Run(ctx, args[1:])
	var ue *cli.UsageError
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "roomwire %s: %s\nRun 'roomwire %s --help' for usage.\n", ue.Cmd, ue.Msg, ue.Cmd)
		return 2
	default:
		fmt.Fprintf(stderr, "roomwire %s: %v\n", c.Name, err)
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
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun 'roomwire <command> --help' for a command's arguments and flags,\n'roomwire --version' for the version.\n")
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

var versionCommand = cli.Command{Name: "version", Summary: "print the version and the revision it was built from", Run: func(ctx context.Context, args []string) error {
	fs := cli.NewFlags("version", "", "Prints Roomwire's module version, the VCS revision it was built from, and the Go version.")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	printVersion(os.Stdout)
	return nil
}}
