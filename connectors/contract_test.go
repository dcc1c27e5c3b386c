package connectors_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Test connectors, one per shape of the contract.
type (
	named    struct{ name string }
	outbound struct{ named }
	pusher   struct{ named }
	switched struct {
		pusher
		on bool
	}
	receiver struct{ named }
	reporter struct{ receiver }
)

func (n named) Name() string                                        { return n.name }
func (outbound) HandleEvent(context.Context, canonical.Event) error { return nil }
func (pusher) PushARI(context.Context, canonical.ARIUpdate) error   { return nil }
func (s switched) ARIEnabled() bool                                 { return s.on }
func (reporter) HandleEvent(context.Context, canonical.Event) error { return nil }
func (receiver) Webhook(connectors.Sink) http.Handler               { return http.NotFoundHandler() }

// registerOnce registers a test kind whose connector is what build makes
// for the instance; -count=N runs the tests again.
func registerOnce(kind string, caps []connectors.Capability, build func(connectors.Resources) connectors.Connector) {
	if _, done := connectors.Lookup(kind); done {
		return
	}
	connectors.Register(connectors.Spec{Name: kind, Capabilities: caps,
		New: func(_ map[string]any, res connectors.Resources) (connectors.Connector, error) { return build(res), nil }})
}

func TestContract(t *testing.T) {
	me := func(res connectors.Resources) named { return named{res.InstanceName("")} }
	ari := []connectors.Capability{connectors.CapARIOutbound}
	registerOnce("ctoutboundonly", ari, func(r connectors.Resources) connectors.Connector { return outbound{me(r)} })
	registerOnce("ctpusher", ari, func(r connectors.Resources) connectors.Connector { return pusher{me(r)} })
	registerOnce("ctswitched", ari, func(r connectors.Resources) connectors.Connector { return switched{pusher: pusher{me(r)}} })
	registerOnce("ctinbound", []connectors.Capability{connectors.CapReservationsInbound},
		func(r connectors.Resources) connectors.Connector { return me(r) })
	registerOnce("ctreceiver", []connectors.Capability{connectors.CapReservationsInbound, connectors.CapReservationReports},
		func(r connectors.Resources) connectors.Connector { return reporter{receiver{me(r)}} })
	registerOnce("ctliar", []connectors.Capability{connectors.CapReservationsOutbound},
		func(connectors.Resources) connectors.Connector { return outbound{named{"someone-else"}} })

	for _, tc := range []struct {
		name, instance string
		raw            map[string]any
		err            string // empty: builds
		check          func(t *testing.T, i *connectors.Instance)
	}{
		{name: "ari.outbound needs ARIPusher, not Outbound", instance: "ctoutboundonly", err: "declares ari.outbound but does not implement ARIPusher"},
		{name: "an ARIPusher joins the fan-out", instance: "ctpusher", check: func(t *testing.T, i *connectors.Instance) {
			if i.ARI == nil || i.Events != nil || i.Inbound {
				t.Errorf("plugs %+v: want ARI alone", i.Plugs)
			}
		}},
		{name: "ARIOptional with nowhere to push stays out", instance: "ctswitched", check: func(t *testing.T, i *connectors.Instance) {
			if i.ARI != nil {
				t.Error("a disabled ARIOptional was plugged into the fan-out")
			}
		}},
		{name: "inbound needs a receiver or a puller", instance: "ctinbound", err: "WebhookReceiver or Puller"},
		{name: "receiver with reports", instance: "ctreceiver", check: func(t *testing.T, i *connectors.Instance) {
			if i.Receiver == nil || !i.Inbound || i.Events == nil || i.EventsConsumer != "outbound.ctreceiver" || i.ARI != nil {
				t.Errorf("plugs %+v", i.Plugs)
			}
		}},
		{name: "a second instance of a kind", instance: "channel-b", raw: map[string]any{"kind": "ctreceiver"}, check: func(t *testing.T, i *connectors.Instance) {
			if i.Name != "channel-b" || i.Kind() != "ctreceiver" || i.Connector.Name() != "channel-b" || i.EventsConsumer != "outbound.channel-b" {
				t.Errorf("instance %s of %s, connector %s, consumer %s", i.Name, i.Kind(), i.Connector.Name(), i.EventsConsumer)
			}
		}},
		{name: "a connector must answer its instance name", instance: "ctliar", err: `its Name returns "someone-else", not the instance's name "ctliar"`},
		{name: "unknown kind", instance: "channel-c", raw: map[string]any{"kind": "nosuch"}, err: `no such connector "nosuch" (registered: `},
		{name: "no kind, and no connector of that name", instance: "channel-c", err: `no such connector "channel-c"`},
		{name: "kind is a name", instance: "channel-c", raw: map[string]any{"kind": 3}, err: "kind: must name a connector"},
		{name: "bad instance name", instance: "Channel A", err: `"Channel A" is not an instance name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, err := connectors.Build(tc.instance, tc.raw, connectors.Resources{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, i)
		})
	}
}

// An instance named apart from its kind reads its own environment
// variables, never its kind's: two channels of one kind share no secret by
// accident.
func TestInstanceEnvironment(t *testing.T) {
	if got := connectors.InstanceEnv("ROOMWIRE_OTA_INBOUND_PASSWORD", "ota", "channel-b"); got != "ROOMWIRE_CHANNEL_B_INBOUND_PASSWORD" {
		t.Errorf("InstanceEnv: %s", got)
	}
	t.Setenv("ROOMWIRE_CTENV_SECRET", "kind's")
	t.Setenv("ROOMWIRE_SECOND_SECRET", "second's")
	for _, tc := range []struct{ instance, want string }{{"ctenv", "kind's"}, {"second", "second's"}, {"third", ""}} {
		i, err := connectors.Build(tc.instance, map[string]any{"kind": "ctenv"}, connectors.Resources{})
		switch {
		case tc.want == "" && (err == nil || !strings.Contains(err.Error(), "secret: is required (or set ROOMWIRE_THIRD_SECRET)")):
			t.Errorf("%s: got %v, want secret required naming ROOMWIRE_THIRD_SECRET", tc.instance, err)
		case tc.want != "" && err != nil:
			t.Errorf("%s: %v", tc.instance, err)
		case tc.want != "" && i.Connector.(envConnector).secret != tc.want:
			t.Errorf("%s read the secret %q, want %q", tc.instance, i.Connector.(envConnector).secret, tc.want)
		}
	}
}

type envConnector struct {
	outbound
	secret string
}

type envConfig struct {
	Secret string `json:"secret" env:"ROOMWIRE_CTENV_SECRET" required:"true"`
}

func init() {
	connectors.Register(connectors.Spec{Name: "ctenv", Capabilities: []connectors.Capability{connectors.CapReservationsOutbound},
		Fields: spec.Settings[envConfig](),
		New: connectors.Configured(func(cfg envConfig, res connectors.Resources) (envConnector, error) {
			return envConnector{outbound{named{res.InstanceName("ctenv")}}, cfg.Secret}, nil
		})})
}

// The guide's table of the contract says what the code does: each clause is
// a row of docs/connectors.md (backticks aside).
func TestGuideShowsTheContract(t *testing.T) {
	b, err := os.ReadFile("../docs/connectors.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		rows[strings.ReplaceAll(line, "`", "")] = true
	}
	for _, c := range connectors.Contract() {
		row := fmt.Sprintf("| %s | %s | %s |", c.Capability, c.Requires, c.Plugged)
		if !rows[row] {
			t.Errorf("docs/connectors.md has no row\n%s", row)
		}
	}
}
