package connectors

import (
	"fmt"
	"log/slog"
)

// Base is what every partner connector holds: the name of its instance, the
// hub's resources, a logger and the HTTP client to its partner, whose
// circuit breakers and metrics go by the instance's name. A connector embeds
// it, which gives it Name and Close:
//
//	type Connector struct {
//		connectors.Base
//		cfg Config
//	}
type Base struct {
	Res    Resources
	Logger *slog.Logger
	Client *Client
	name   string
}

// NewBase returns the base of a connector of kind built with res, calling
// its partner with the client settings h.
func NewBase(kind string, res Resources, h HTTPConfig, opts ...ClientOption) (Base, error) {
	if res.Logger == nil {
		res.Logger = slog.New(slog.DiscardHandler)
	}
	name := res.InstanceName(kind)
	client, err := NewClient(name, h, res.Logger, opts...)
	if err != nil {
		return Base{}, fmt.Errorf("%s: %w", kind, err)
	}
	return Base{Res: res, Logger: res.Logger, Client: client, name: name}, nil
}

// Name returns the instance's name: the kind's name unless the
// configuration names the instance otherwise.
func (b *Base) Name() string { return b.name }

// Close releases the HTTP client.
func (b *Base) Close() error { return b.Client.Close() }
