package spec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/config/spec"
)

type inner struct {
	Wait time.Duration `yaml:"wait" default:"5s" doc:"a wait"`
}

type settings struct {
	Name     string   `yaml:"name" default:"x" env:"SPEC_TEST_NAME" doc:"a name"`
	Count    int      `yaml:"count" default:"3" doc:"a count"`
	Retries  int      `yaml:"retries" default:"5" zero:"none" doc:"retries"`
	List     []string `json:"list" default:"a,b" doc:"a list"`
	On       *bool    `yaml:"on" default:"true" doc:"a switch"`
	Key      string   `yaml:"key" secret:"true" required:"true" doc:"a key"`
	Nested   inner    `yaml:"nested" doc:"a section"`
	Skipped  string   `yaml:"-"`
	Untagged string
}

func TestSpecReadsEveryTag(t *testing.T) {
	var names []string
	for _, f := range spec.Of[settings]() {
		names = append(names, f.Name+":"+f.Type)
	}
	want := "name:string count:int retries:int list:[]string on:bool key:string nested:section nested.wait:duration"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("spec = %s, want %s", got, want)
	}
	key, _ := spec.Lookup[settings]("key")
	name, _ := spec.Lookup[settings]("name")
	if !key.Required || !key.Secret || name.Env != "SPEC_TEST_NAME" || name.Default != "x" || name.Description != "a name" {
		t.Fatalf("tags not read: %+v %+v", key, name)
	}
}

type withInline struct {
	inner `yaml:",inline"`
	Also  int `json:"also"`
}

func TestInlineKeysSitBesideTheirSiblings(t *testing.T) {
	var names []string
	for _, f := range spec.Of[withInline]() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "wait also" {
		t.Fatalf("spec = %s", got)
	}
}

func TestDefaultsInCodeAndFromAFile(t *testing.T) {
	// In code: zero and negative take the default, unless zero means something.
	var c settings
	c.Count = -1
	spec.SetDefaults(&c, nil)
	if c.Name != "x" || c.Count != 3 || c.Retries != 0 || strings.Join(c.List, ",") != "a,b" || !*c.On || c.Nested.Wait != 5*time.Second {
		t.Fatalf("defaults in code: %+v", c)
	}
	// From a file: a key left out takes its default; a number given as 0 is
	// kept; an empty text given is defaulted.
	var f settings
	given := map[string]bool{"count": true, "name": true}
	spec.SetDefaults(&f, func(k string) bool { return given[k] })
	if f.Count != 0 || f.Retries != 5 || f.Name != "x" {
		t.Fatalf("defaults from a file: %+v", f)
	}
}

func TestSetParsesTextByType(t *testing.T) {
	var c settings
	for name, text := range map[string]string{"count": "7", "list": " p, q ,", "on": "false", "nested.wait": "2m"} {
		if err := spec.Set(&c, name, text); err != nil {
			t.Fatal(err)
		}
	}
	if c.Count != 7 || strings.Join(c.List, ",") != "p,q" || *c.On || c.Nested.Wait != 2*time.Minute {
		t.Fatalf("set: %+v", c)
	}
	if err := spec.Set(&c, "count", "many"); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Fatalf("bad number: %v", err)
	}
	if err := spec.Set(&c, "nested.wait", "soon"); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("bad duration: %v", err)
	}
}

type checked struct {
	Mode  string        `json:"mode" enum:"push,pull"`
	URL   string        `json:"url" format:"url"`
	Items int           `json:"items" min:"1" max:"10"`
	Wait  time.Duration `json:"wait" min:"1s"`
	IDs   []string      `json:"ids" required:"true" env:"SPEC_TEST_IDS"`
}

func TestCheckNamesEveryValueTheSpecRefuses(t *testing.T) {
	c := checked{Mode: "poll", URL: "ftp://x", Items: 11, Wait: time.Millisecond, IDs: []string{}}
	var got []string
	for _, p := range spec.Check(&c) {
		got = append(got, p.String())
	}
	want := []string{`mode: must be push or pull, got "poll"`, "url: must be an http(s) URL", "items: must be between 1 and 10, got 11",
		"wait: must be at least 1s, got 1ms", "ids: is required (or set SPEC_TEST_IDS)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ok := checked{Mode: "push", URL: "https://example.com", Items: 10, Wait: time.Second, IDs: []string{"a"}}
	if p := spec.Check(&ok); len(p) != 0 {
		t.Fatalf("good values refused: %v", p)
	}
}
