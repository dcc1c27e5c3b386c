package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/connectors"
)

var translateCommand = cli.Command{Name: "translate", Summary: "print the canonical form of a partner message (or the reverse)", Run: func(ctx context.Context, args []string) error {
	return runTranslate(ctx, args, os.Stdin, os.Stdout)
}}

// runTranslate is the translate command with its streams, for tests.
func runTranslate(_ context.Context, args []string, stdin io.Reader, stdout io.Writer) (err error) {
	fs := cli.NewFlags("translate", "[FILE|-] --connector NAME [--reverse] [--mappings FILE]", `
Translates one partner message to Roomwire's canonical JSON and prints it, as
the connector does with every message it receives. The partner's codes are
mapped with the connector's default mappings and those in --mappings; codes
with no mapping are printed as the partner sent them.

With --reverse, the input is a canonical reservation (or a channel booking or
event holding one) and the output is the partner's form of it.

The input is FILE, or standard input when FILE is - or absent. Bad input
exits with status 1 and one line saying what is wrong and where.
Connectors: `+strings.Join(connectors.Names(), ", "))
	name := fs.String("connector", "", "the connector whose format the input is in (required)")
	reverse := fs.Bool("reverse", false, "turn a canonical reservation into the partner's form")
	mappingFile := fs.String("mappings", "", "a mapping `file` (YAML or JSON) to map codes with")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *name == "":
		return cli.BadUsage(fs, "--connector is required (one of %s)", strings.Join(connectors.Names(), ", "))
	case fs.NArg() > 1:
		return cli.BadUsage(fs, "one input at a time: %q and %q", fs.Arg(0), fs.Arg(1))
	}
	spec, ok := connectors.Lookup(*name)
	if !ok {
		return fmt.Errorf("no connector %q (registered: %s)", *name, strings.Join(connectors.Names(), ", "))
	}
	if spec.Translator == nil {
		return fmt.Errorf("connector %s has no translator", *name)
	}
	source, in := "standard input", stdin
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return cli.OneLine(err)
		}
		defer f.Close()
		source, in = p, f
	}
	data, err := connectors.ReadLimited(in, connectors.MaxMessageBytes)
	if err != nil {
		return cli.OneLine(fmt.Errorf("%s: %w", source, err))
	}
	var file []connectors.Mapping
	if *mappingFile != "" {
		mf, err := connectors.ReadMappingFile(*mappingFile)
		if err != nil {
			return cli.OneLine(err)
		}
		file = mf[*name]
	}
	set := connectors.NewMappingSet(*name, spec.DefaultMappings, file)
	set.Lenient = true
	// A translator must never panic on input, but a command line tool must
	// not print a stack trace if one does.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: connector %s failed on this input: %v", source, *name, p)
		}
	}()
	var out any
	if *reverse {
		out, err = reverseTranslate(spec, set, data)
	} else {
		out, err = forwardTranslate(spec, set, data)
	}
	if err != nil {
		return cli.OneLine(fmt.Errorf("%s: %w", source, err))
	}
	if b, ok := out.([]byte); ok {
		_, err = stdout.Write(b)
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func forwardTranslate(spec connectors.Spec, set *connectors.MappingSet, data []byte) (any, error) {
	msg, err := spec.Translator.ToCanonical(data)
	if err != nil {
		return nil, err
	}
	switch {
	case msg.Booking != nil:
		if msg.Booking.ReceivedAt.IsZero() {
			msg.Booking.ReceivedAt = time.Now().UTC().Truncate(time.Second)
		}
		if err := set.MapBooking(msg.Booking); err != nil {
			return nil, err
		}
		if err := msg.Booking.Validate(); err != nil {
			return nil, err
		}
		return msg.Booking, nil
	case msg.ARI != nil:
		if err := set.MapARI(msg.ARI); err != nil {
			return nil, err
		}
		return msg.ARI, nil
	}
	return nil, errors.New("the connector found nothing to translate in this message")
}

func reverseTranslate(spec connectors.Spec, set *connectors.MappingSet, data []byte) (any, error) {
	// Accept a reservation, or a channel booking or event that holds one.
	var probe struct {
		Reservation json.RawMessage `json:"reservation"`
	}
	if err := connectors.DecodeJSON(data, &probe); err != nil {
		return nil, err
	}
	if len(probe.Reservation) > 0 && string(probe.Reservation) != "null" {
		data = probe.Reservation
	}
	var r canonical.Reservation
	if err := connectors.DecodeJSON(data, &r); err != nil {
		return nil, fmt.Errorf("canonical reservation: %w", err)
	}
	if r.Status == "" {
		r.Status = canonical.StatusConfirmed
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	pr, err := set.ReservationToPartner(&r)
	if err != nil {
		return nil, err
	}
	return spec.Translator.FromCanonical(pr)
}
