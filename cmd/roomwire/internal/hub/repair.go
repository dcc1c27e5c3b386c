package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/reservations"
)

// Repair builds connectors outside a running hub, on its database, for the
// operator's repairs: an ARI resync and a backfill.
type Repair struct {
	Pool        *pgxpool.Pool
	Logger      *slog.Logger
	MappingFile string    // a mapping file to store first, if any
	Out         io.Writer // one line per connector: what it did
}

// resources are the connectors' shared resources, with MappingFile stored.
func (r Repair) resources(ctx context.Context) (connectors.Resources, error) {
	res := connectors.NewResources(r.Pool, r.Logger)
	if r.MappingFile != "" {
		if err := res.Mappings.LoadFile(ctx, r.MappingFile); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Resync pushes property's full availability (units sellable less units
// sold) and rates for the nights first to last to each channel connector in
// channels (instance name -> configuration, kind included), mapped to its
// codes.
func (r Repair) Resync(ctx context.Context, channels map[string]map[string]any, property string, first, last canonical.Date) error {
	res, err := r.resources(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(channels))
	for n := range channels {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	store := reservations.New(r.Pool)
	for _, name := range names {
		inst, err := connectors.Build(name, channels[name], res)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		defer inst.Close()
		p := inst.ARI
		if p == nil {
			errs = append(errs, fmt.Errorf("%s: %s takes no ARI, or is configured with nowhere to push it", name, inst.Kind()))
			continue
		}
		start := time.Now()
		rules, err := store.ChannelRules(ctx, reservations.AllProperties, property, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		u, err := arifanout.Resync(ctx, store, res.Mappings, rules, p, property, first, last)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		fmt.Fprintf(r.Out, "%s: pushed %d availability, %d restriction and %d rate runs of %s (%s to %s) in %s\n", name, len(u.Availability), len(u.Restrictions), len(u.Rates),
			property, first, last, time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// Backfill reads every reservation staying between from and to from
// connector name (configured by cfg) and applies those Roomwire does not
// have, straight to the reservation store. The applier is idempotent, so a
// second run is harmless.
func (r Repair) Backfill(ctx context.Context, name string, cfg map[string]any, from, to canonical.Date) error {
	res, err := r.resources(ctx)
	if err != nil {
		return err
	}
	inst, err := connectors.Build(name, cfg, res)
	if err != nil {
		return fmt.Errorf("connector %s: %w", name, err)
	}
	defer inst.Close()
	b := inst.Backfill
	if b == nil {
		return fmt.Errorf("connector %s (%s) cannot backfill", name, inst.Kind())
	}
	sink := &inbound.DirectSink{Connector: name, Applier: inbound.NewApplier(reservations.New(r.Pool), res.Mappings, res.Links, r.Logger)}
	start := time.Now()
	n, err := b.Backfill(ctx, sink, from, to)
	fmt.Fprintf(r.Out, "backfilled %d reservations from %s in %s\n", n, name, time.Since(start).Round(time.Millisecond))
	return err
}
