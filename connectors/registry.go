package connectors

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/config/spec"
)

// Capability is something a connector can do. The hub wires a connector by
// its capabilities: inbound ones get a Sink, outbound ones a consumer group.
type Capability string

// The capabilities.
const (
	CapReservationsInbound  Capability = "reservations.inbound"
	CapReservationsOutbound Capability = "reservations.outbound"
	CapARIInbound           Capability = "ari.inbound"
	CapARIOutbound          Capability = "ari.outbound"
	CapPayments             Capability = "payments"
	// CapReservationReports: the connector reports to its channel what
	// happened to the channel's bookings (no-shows, declined cards); it
	// consumes reservation events like an outbound connector.
	CapReservationReports Capability = "reservations.reports"
)

// Inbound reports whether c brings messages into Roomwire.
func (c Capability) Inbound() bool { return c == CapReservationsInbound || c == CapARIInbound }

// Outbound reports whether c sends Roomwire's events to a partner.
func (c Capability) Outbound() bool {
	return c == CapReservationsOutbound || c == CapARIOutbound || c == CapPayments || c == CapReservationReports
}

func (c Capability) valid() bool { return c.Inbound() || c.Outbound() }

// Field describes one configuration key of a connector, for validation,
// defaults and `roomwire connectors --fields`. A connector declares its
// fields once, as the tags of its Config struct, and registers
// spec.Settings[Config]() (package config/spec).
type Field = spec.Field

// Spec is a connector's registration: its name, what it can do, its
// configuration, its default code mappings and how to build it.
type Spec struct {
	Name         string
	Summary      string
	Capabilities []Capability
	Fields       []Field
	// DefaultMappings apply unless the mapping store says otherwise; typically
	// the partner's fixed status codes.
	DefaultMappings []Mapping
	// Translator converts the partner's messages; used by `roomwire translate`.
	Translator Translator
	// New builds a connector from its configuration (see DecodeConfig) and
	// the hub's shared resources.
	New func(cfg map[string]any, res Resources) (Connector, error)
}

// Has reports whether the spec declares capability c.
func (s Spec) Has(c Capability) bool {
	for _, x := range s.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// Resources are what the hub shares with every connector it builds.
type Resources struct {
	// Name is the instance's name (see Build): the connector's Name, and
	// the key of its mappings, links, receipts, circuit breakers and
	// metrics. Use InstanceName, which falls back to the kind's name.
	Name     string
	kind     string // the registered connector Name is an instance of
	Logger   *slog.Logger
	Mappings *Mappings // code mappings in PostgreSQL
	Links    *Links    // partner ids against Roomwire ids
	Receipts *Receipts // partner message ids already handled
	// Bookings answers what the store holds of a channel's booking, for
	// the checks receivers make before answering (CheckApplicable); nil
	// skips them.
	Bookings BookingStates
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Spec{}
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Register adds a connector. Call it from the connector package's init; it
// panics on a duplicate or incomplete registration, which is a programming
// error that must fail at start.
func Register(s Spec) {
	if !namePattern.MatchString(s.Name) {
		panic(fmt.Sprintf("connectors: invalid connector name %q: want lower-case letters, digits and _", s.Name))
	}
	if s.New == nil {
		panic("connectors: connector " + s.Name + " has no constructor")
	}
	if len(s.Capabilities) == 0 {
		panic("connectors: connector " + s.Name + " declares no capabilities")
	}
	for _, c := range s.Capabilities {
		if !c.valid() {
			panic(fmt.Sprintf("connectors: connector %s declares unknown capability %q", s.Name, c))
		}
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if seen[f.Name] || f.Name == "" {
			panic(fmt.Sprintf("connectors: connector %s: config field %q is empty or appears twice", s.Name, f.Name))
		}
		seen[f.Name] = true
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("connectors: connector registered twice: " + s.Name)
	}
	registry[s.Name] = s
}

// Lookup returns the registered connector called name.
func Lookup(name string) (Spec, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s, ok := registry[name]
	return s, ok
}

// Specs returns every registered connector, by name.
func Specs() []Spec {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the names of every registered connector, sorted.
func Names() []string {
	var n []string
	for _, s := range Specs() {
		n = append(n, s.Name)
	}
	return n
}

// DecodeConfig fills dst, a pointer to a struct with json tags named as the
// fields, from raw: absent keys take their environment variable, then their
// default; unknown keys, missing required keys and values of the wrong type
// are refused, each named.
func DecodeConfig(fields []Field, raw map[string]any, dst any) error {
	known := map[string]Field{}
	for _, f := range fields {
		known[f.Name] = f
	}
	merged := map[string]any{}
	var problems []string
	for k, v := range raw {
		f, ok := known[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown key", k))
			continue
		}
		nv, err := normalizeValue(f, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		merged[k] = nv
	}
	for _, f := range fields {
		if _, ok := merged[f.Name]; ok {
			continue
		}
		val, have := "", false
		if f.Env != "" {
			val, have = os.LookupEnv(f.Env)
		}
		if !have && f.Default != "" {
			val, have = f.Default, true
		}
		if !have {
			if f.Required {
				hint := ""
				if f.Env != "" {
					hint = " (or set " + f.Env + ")"
				}
				problems = append(problems, fmt.Sprintf("%s: is required%s", f.Name, hint))
			}
			continue
		}
		v, err := parseFieldValue(f, val)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		merged[f.Name] = v
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("config: %v", DescribeJSONError(b, err))
	}
	return nil
}

// normalizeValue turns YAML's natural forms (and strings, as environment
// variables and flags give them) into what the json tags expect.
func normalizeValue(f Field, v any) (any, error) {
	switch x := v.(type) {
	case time.Duration:
		return x.String(), nil
	case string:
		return parseFieldValue(f, x)
	}
	return v, nil
}

func parseFieldValue(f Field, s string) (any, error) {
	switch f.Type {
	case "int":
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("must be a whole number, got %q", s)
		}
		return n, nil
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("must be true or false, got %q", s)
		}
		return b, nil
	case "duration":
		if _, err := time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("must be a duration such as 30s or 15m, got %q", s)
		}
		return s, nil
	case "[]string":
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return s, nil
}

// Duration is a time.Duration configured as a string such as "15m".
type Duration time.Duration

// UnmarshalJSON reads "15m" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("a duration must be a string such as \"15m\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s or 15m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "15m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Configured returns a Spec.New that decodes a connector's raw configuration
// into a C by C's spec, then builds the connector from it, so that every
// connector registers the same way.
func Configured[C any, T Connector](build func(C, Resources) (T, error)) func(map[string]any, Resources) (Connector, error) {
	fields := spec.Settings[C]()
	return func(raw map[string]any, res Resources) (Connector, error) {
		var cfg C
		if err := DecodeConfig(res.instanceFields(fields), raw, &cfg); err != nil {
			return nil, err
		}
		c, err := build(cfg, res)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
