package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseFlagsSaysWhatWasWrong(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-config", "x.yaml"}, "-config: flags take two dashes: --config"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
	} {
		fs := NewFlags("thing list", "[--config FILE]", "Lists things.")
		ConfigFlag(fs)
		err := ParseFlags(fs, tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Cmd != "thing list" || !strings.Contains(ue.Msg, tc.want) {
			t.Errorf("%v: %v, want a usage error of thing list saying %q", tc.args, err, tc.want)
		}
	}
}

func TestRunSubcommandNamesTheActions(t *testing.T) {
	ran := ""
	subs := []Subcommand{
		{Name: "list", Summary: "list", Run: func(_ context.Context, args []string) error { ran = "list " + strings.Join(args, " "); return nil }},
		{Name: "show", Summary: "show", Run: func(context.Context, []string) error { ran = "show"; return nil }},
	}
	if err := RunSubcommand(context.Background(), "thing", "Things.", subs, []string{"list", "--all"}); err != nil || ran != "list --all" {
		t.Fatalf("thing list --all: %v, ran %q", err, ran)
	}
	for _, args := range [][]string{nil, {"drop"}} {
		err := RunSubcommand(context.Background(), "thing", "Things.", subs, args)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Cmd != "thing" || !strings.Contains(ue.Msg, "list, show") {
			t.Errorf("thing %v: %v, want a usage error naming list, show", args, err)
		}
	}
}
