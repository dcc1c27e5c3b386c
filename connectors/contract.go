package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/roomwire/roomwire/canonical"
)

// The connector contract: for each capability a connector declares, the
// interface it must implement, and the optional interfaces the hub looks
// for. Build checks a connector against it, and resolves what the hub plugs
// in (Plugs), so that the check and the plugging read the same table.

// StatusReporter is a connector that tells operators how it is doing
// beyond what the router knows (for example the reservations it has not
// acknowledged yet). The hub serves the handler at
// GET /v1/connectors/<name>/status, behind the admin key.
type StatusReporter interface {
	Connector
	StatusHandler() http.Handler
}

// Backfiller is a connector that reads from its partner every reservation
// staying between from and to (of the given properties, or all it is
// configured for) and delivers each to sink; it returns how many it
// delivered. `roomwire connectors backfill` drives it.
type Backfiller interface {
	Connector
	Backfill(ctx context.Context, sink Sink, from, to canonical.Date, properties ...string) (int, error)
}

// ARIOptional is an ARIPusher whose configuration may give it nowhere to
// push (a channel set up for bookings only). The hub adds it to the ARI
// fan-out only when ARIEnabled reports true.
type ARIOptional interface {
	ARIPusher
	ARIEnabled() bool
}

// Clause is one row of the contract: what a connector declaring Capability
// must implement.
type Clause struct {
	Capability Capability
	// Requires names the interfaces, one of which the connector implements.
	Requires string
	// Plugged says what the hub does with it.
	Plugged string
	// plug records in p what the connector offers for the capability, and
	// reports whether it implements what the clause requires.
	plug func(c Connector, p *Plugs) bool
}

// contract is the table. Payments comes before the reservation consumers:
// a connector consumes reservation events once, under the first consumer
// its capabilities name.
var contract = []Clause{
	{CapReservationsInbound, "WebhookReceiver or Puller",
		"mounts its webhook at /v1/connectors/<name>/ (prefix stripped) or runs its pull loop; consumer inbound.<name> applies what it delivers", plugInbound},
	{CapARIInbound, "WebhookReceiver or Puller", "as reservations.inbound", plugInbound},
	{CapPayments, "Outbound (and payments.Gateway, which the payment flow checks)",
		"adds it to the payment flow; consumer payments.<name> of reservation events", plugEvents("payments")},
	{CapReservationsOutbound, "Outbound", "consumer outbound.<name> of reservation events", plugEvents("outbound")},
	{CapReservationReports, "Outbound",
		"consumer outbound.<name> of reservation events (reports to a channel about its own bookings)", plugEvents("outbound")},
	{CapARIOutbound, "ARIPusher (ARIOptional when its configuration may give it nowhere to push)",
		"adds it to the ARI fan-out: consumer ari.<name> of availability events", plugARI},
}

// Contract returns the table; docs/connectors.md shows it, and a test
// keeps the two in step.
func Contract() []Clause { return append([]Clause(nil), contract...) }

func plugInbound(c Connector, p *Plugs) bool {
	p.Inbound = true
	return p.Receiver != nil || p.Puller != nil
}

func plugEvents(consumer string) func(Connector, *Plugs) bool {
	return func(c Connector, p *Plugs) bool {
		o, ok := c.(Outbound)
		if ok && p.Events == nil {
			p.Events, p.EventsConsumer = o, consumer+"."+c.Name()
		}
		return ok
	}
}

func plugARI(c Connector, p *Plugs) bool {
	a, ok := c.(ARIPusher)
	if !ok {
		return false
	}
	if o, optional := c.(ARIOptional); !optional || o.ARIEnabled() {
		p.ARI = a
	}
	return true
}

// Plugs are what a built connector offers the hub, resolved through the
// contract. A field is nil (or false) when the connector offers nothing there.
type Plugs struct {
	// Receiver is mounted under /v1/connectors/<name>/, prefix stripped.
	Receiver WebhookReceiver
	// Puller runs as long as the hub does.
	Puller Puller
	// Inbound: what the connector delivers is applied to the store by the
	// consumer of its inbound topic.
	Inbound bool
	// Events consumes reservation events, as the consumer EventsConsumer.
	Events         Outbound
	EventsConsumer string
	// ARI joins the ARI fan-out.
	ARI ARIPusher
	// Status is served at GET /v1/connectors/<name>/status.
	Status StatusReporter
	// Backfill serves `roomwire connectors backfill`.
	Backfill Backfiller
	// Closer is called when the hub stops.
	Closer Closer
}

// Instance is one configured connector: its instance name, the
// registration of its kind, the connector and what the hub plugs in.
type Instance struct {
	// Name is the instance's name: its key under connectors: in the
	// configuration. Its endpoints, consumers, mappings, circuit breakers
	// and metrics go by it.
	Name string
	// Spec is the registration of its kind.
	Spec      Spec
	Connector Connector
	Plugs
}

// Kind is the registered connector the instance is one of.
func (i *Instance) Kind() string { return i.Spec.Name }

// KindKey is the configuration key naming an instance's kind. It defaults
// to the instance's name, so a configuration with one instance of each kind
// names each by its kind.
const KindKey = "kind"

// instancePattern is what an instance name may be: it appears in URLs,
// Kafka topic and consumer group names, metrics labels and environment
// variable names.
var instancePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidInstanceName reports whether name may name a connector instance.
func ValidInstanceName(name string) bool { return instancePattern.MatchString(name) }

// KindOf returns the kind an instance's raw configuration names: its kind
// key, or the instance's name.
func KindOf(name string, raw map[string]any) (string, error) {
	k, ok := raw[KindKey]
	if !ok {
		return name, nil
	}
	s, ok := k.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%s: must name a connector (registered: %s)", KindKey, strings.Join(Names(), ", "))
	}
	return s, nil
}

// Build constructs the instance called name from its raw configuration
// (the connector's keys and, optionally, kind), checks the connector
// against the contract and resolves what the hub plugs in. Its errors do
// not repeat the instance's name: callers say which entry they built.
func Build(name string, raw map[string]any, res Resources) (*Instance, error) {
	if !ValidInstanceName(name) {
		return nil, fmt.Errorf("%q is not an instance name: lower-case letters, digits, _ and -, starting with a letter", SafeText(name, 40))
	}
	kind, err := KindOf(name, raw)
	if err != nil {
		return nil, err
	}
	s, ok := Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("no such connector %q (registered: %s)", SafeText(kind, 40), strings.Join(Names(), ", "))
	}
	cfg := make(map[string]any, len(raw))
	for k, v := range raw {
		if k != KindKey {
			cfg[k] = v
		}
	}
	c, err := s.New(cfg, res.ForInstance(name, s))
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("%s: its constructor returned no connector", kind)
	}
	inst, err := Resolve(name, s, c)
	if err != nil {
		if cl, ok := c.(Closer); ok {
			cl.Close() //nolint:errcheck
		}
		return nil, err
	}
	return inst, nil
}

// ForInstance returns r as the constructor of the instance called name, of
// the kind s, receives it: named, logging as the instance, and with the
// mapping store told the instance's kind (whose default mappings it has).
func (r Resources) ForInstance(name string, s Spec) Resources {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	r.Logger = r.Logger.With("connector", name)
	r.Name, r.kind = name, s.Name
	if r.Mappings != nil {
		r.Mappings.bind(name, s)
	}
	return r
}

// Resolve checks the connector c, built as the instance called name of the
// kind s, against the contract, and returns the instance with its plugs.
// Build calls it; the conformance suite calls it on the connector it starts.
func Resolve(name string, s Spec, c Connector) (*Instance, error) {
	if c.Name() != name {
		return nil, fmt.Errorf("%s: its Name returns %q, not the instance's name %q (use Resources.InstanceName or connectors.Base)", s.Name, c.Name(), name)
	}
	i := &Instance{Name: name, Spec: s, Connector: c}
	i.Receiver, _ = c.(WebhookReceiver)
	i.Puller, _ = c.(Puller)
	i.Status, _ = c.(StatusReporter)
	i.Backfill, _ = c.(Backfiller)
	i.Closer, _ = c.(Closer)
	for _, cl := range contract {
		if s.Has(cl.Capability) && !cl.plug(c, &i.Plugs) {
			return nil, fmt.Errorf("%s declares %s but does not implement %s", s.Name, cl.Capability, cl.Requires)
		}
	}
	return i, nil
}

// Close releases the connector's resources, if it holds any.
func (i *Instance) Close() error {
	if i.Closer == nil {
		return nil
	}
	return i.Closer.Close()
}

// InstanceName returns the name a connector of kind was built under: the
// instance's name, or kind for a connector built without Build (tests).
func (r Resources) InstanceName(kind string) string {
	if r.Name != "" {
		return r.Name
	}
	return kind
}

// instanceFields returns fields as an instance named apart from its kind
// reads them: each environment variable ROOMWIRE_<KIND>_X becomes
// ROOMWIRE_<NAME>_X, so that two instances of one kind never share a
// secret by accident.
func (r Resources) instanceFields(fields []Field) []Field {
	if r.Name == "" || r.Name == r.kind {
		return fields
	}
	out := append([]Field(nil), fields...)
	for i, f := range out {
		if f.Env != "" {
			out[i].Env = InstanceEnv(f.Env, r.kind, r.Name)
		}
	}
	return out
}

// InstanceEnv returns the environment variable an instance called name, of
// kind, reads instead of its kind's variable env.
func InstanceEnv(env, kind, name string) string {
	upper := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
	rest, ok := strings.CutPrefix(env, "ROOMWIRE_"+upper(kind)+"_")
	if !ok {
		rest = strings.TrimPrefix(env, "ROOMWIRE_")
	}
	return "ROOMWIRE_" + upper(name) + "_" + rest
}
