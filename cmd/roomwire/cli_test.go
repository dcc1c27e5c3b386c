package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
)

// roomwire runs the built binary and returns its exit code and output.
func roomwire(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, errOut := roomwire(t, arg)
		if code != 0 || !strings.HasPrefix(out, "roomwire ") || !strings.Contains(out, "module   github.com/roomwire/roomwire") ||
			!strings.Contains(out, "\nrevision ") {
			t.Errorf("%s: exit %d\n%s%s", arg, code, out, errOut)
		}
	}
}

// singleDashFlag finds a flag shown as -flag instead of --flag.
var singleDashFlag = regexp.MustCompile(`(?m)^\s+-[a-z][a-z-]+\b`)

// Every command and every action of a command with several answers --help
// with its own usage line and its flags, all written --flag.
func TestEveryCommandHasHelp(t *testing.T) {
	_, top, _ := roomwire(t, "--help")
	_, list, _ := strings.Cut(top, "\nCommands:\n")
	cmds := regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(list, -1)
	if len(cmds) < 10 {
		t.Fatalf("--help lists %d commands:\n%s", len(cmds), top)
	}
	var check func(name []string)
	check = func(name []string) {
		code, out, errOut := roomwire(t, append(name, "--help")...)
		what := strings.Join(name, " ")
		if code != 0 || !strings.HasPrefix(out, "Usage: roomwire "+what+" ") || errOut != "" {
			t.Errorf("%s --help: exit %d\n%s%s", what, code, out, errOut)
			return
		}
		if m := singleDashFlag.FindString(out); m != "" {
			t.Errorf("%s --help shows a flag with one dash: %q", what, m)
		}
		if len(name) > 1 {
			return
		}
		// A command with actions lists them; each has its own help.
		if _, list, ok := strings.Cut(out, "\nCommands:\n"); ok {
			for _, sub := range regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(list, -1) {
				check([]string{name[0], sub[1]})
			}
		}
	}
	for _, c := range cmds {
		check([]string{c[1]})
	}
	// The help of an action is its own, not its command's.
	_, out, _ := roomwire(t, "dlq", "list", "--help")
	if !strings.Contains(out, "--status") || strings.Contains(out, "--yes") {
		t.Errorf("dlq list --help:\n%s", out)
	}
}

// A wrong command line is told in a line or two that say what was wrong and
// where the help is, never the whole help.
func TestShortUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--bogus"}, []string{"unknown flag: --bogus", "roomwire serve --help"}},
		{[]string{"serve", "-config", "x.yaml"}, []string{"--config", "two dashes"}},
		{[]string{"nonsense"}, []string{`unknown command "nonsense"`, "roomwire --help"}},
		{[]string{"--nonsense"}, []string{`unknown flag "--nonsense"`}},
		{[]string{"dlq"}, []string{"list, show, replay, purge", "roomwire dlq --help"}},
		{[]string{"dlq", "purge", "3"}, []string{"--yes", "roomwire dlq purge --help"}},
		{[]string{"translate", "x.xml"}, []string{"--connector is required", "roomwire translate --help"}},
		{[]string{"migrate", "status", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"demo", "--once", "extra"}, []string{`unexpected argument "extra"`}},
	} {
		code, out, errOut := roomwire(t, tc.args...)
		lines := strings.Count(errOut, "\n")
		if code != 2 || out != "" || lines > 2 {
			t.Errorf("%v: exit %d, %d lines:\n%s%s", tc.args, code, lines, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: %q does not say %q", tc.args, errOut, w)
			}
		}
	}
}

// Flags may follow the arguments.
func TestFlagsAfterArguments(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "ota", "resnotif-new.xml")
	code, out, errOut := roomwire(t, "translate", file, "--connector", "ota")
	if code != 0 || !strings.Contains(out, `"reservation"`) {
		t.Fatalf("translate FILE --connector ota: exit %d\n%s%s", code, out, errOut)
	}
}

// roomwire connectors --fields prints every connector's spec: each key with
// its type, documentation, default and environment variable.
func TestConnectorFieldsComeFromTheSpec(t *testing.T) {
	code, out, errOut := roomwire(t, "connectors", "--fields")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	specs := connectors.Specs()
	if len(specs) < 6 {
		t.Fatalf("%d connectors registered", len(specs))
	}
	for _, s := range specs {
		if len(s.Fields) == 0 {
			t.Errorf("%s has no configuration spec", s.Name)
		}
		for _, f := range s.Fields {
			want := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f.Name) + ` +` + regexp.QuoteMeta(f.Type) + ` +` + regexp.QuoteMeta(f.Doc()))
			if !want.MatchString(out) {
				t.Errorf("%s.%s: no line %q in\n%s", s.Name, f.Name, want, out)
			}
			if f.Env != "" && !strings.Contains(out, "env "+f.Env) {
				t.Errorf("%s.%s: environment variable %s not shown", s.Name, f.Name, f.Env)
			}
		}
	}
}
